"""Org membership (people and their roles) and per-repo grants."""

from __future__ import annotations

import contextlib
import uuid

import sqlalchemy as sa

from floe.errors import ConflictError, NotFoundError, PermissionDeniedError
from floe.models import Grant, GrantLevel, Member, Role
from floe.server.auth import Action, Caller, decide
from floe.server.catalog.audit import record
from floe.server.catalog.base import Catalog, aware, now, org_and_repo, org_row, serialize
from floe.server.catalog.users import user_row
from floe.server.db import tables as t

_MEMBERS = sa.select(
    t.memberships.c.user_id,
    t.memberships.c.role,
    t.memberships.c.added,
    t.users.c.email,
    t.users.c.name,
).join(t.users, t.users.c.id == t.memberships.c.user_id)


def _member_model(row: sa.Row) -> Member:
    return Member(user_id=row.user_id, email=row.email, name=row.name, role=row.role, added=aware(row.added))


def list_members(cat: Catalog, principal: Caller, org_name: str) -> list[Member]:
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_READ)
        rows = conn.execute(_MEMBERS.where(t.memberships.c.org_id == org.id).order_by(t.users.c.email))
        return [_member_model(r) for r in rows]


def _owners(conn: sa.Connection, org_id: str) -> int:
    return conn.execute(
        sa.select(sa.func.count())
        .select_from(t.memberships)
        .where(t.memberships.c.org_id == org_id, t.memberships.c.role == Role.owner.value)
    ).scalar_one()


def _check_may_change(principal: Caller, org: sa.Row, old: str | None, new: str | None) -> None:
    """Admins manage roles below owner; making, changing or removing an owner needs an owner."""
    if Role.owner.value in (old, new) and not decide(principal, Action.ORG_OWNER, org.id):
        raise PermissionDeniedError(
            f"only an owner of org {org.name!r} may make, change or remove owners; ask an owner"
        )


def set_member(cat: Catalog, principal: Caller, org_name: str, email: str, role: str) -> Member:
    """Add a person to an org with ``role``, or change their role."""
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_ADMIN)
        serialize(conn, f"floe:org-owners:{org.id}")  # before counting owners (see _owners)
        user = user_row(conn, email)
        key = (t.memberships.c.org_id == org.id) & (t.memberships.c.user_id == user.id)
        current = conn.execute(sa.select(t.memberships.c.role).where(key)).scalar()
        _check_may_change(principal, org, current, role)
        if current == Role.owner.value and role != current and _owners(conn, org.id) == 1:
            raise ConflictError(
                f"{user.email} is the last owner of org {org.name!r}; make someone else owner first"
            )
        if current is None:
            conn.execute(
                sa.insert(t.memberships).values(
                    org_id=org.id, user_id=user.id, role=role, added=now(), added_by=principal.id
                )
            )
        else:
            conn.execute(sa.update(t.memberships).where(key).values(role=role))
        record(
            conn,
            principal,
            "member.add" if current is None else "member.change",
            org=org,
            resource=f"{org.name}/members/{user.email}",
            detail={"role": role, "previous": current},
        )
        return _member_model(conn.execute(_MEMBERS.where(key)).one())


def remove_member(cat: Catalog, principal: Caller, org_name: str, email: str) -> None:
    """Take a person out of an org; their grants on its repos go too."""
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_ADMIN)
        serialize(conn, f"floe:org-owners:{org.id}")  # before counting owners (see _owners)
        user = user_row(conn, email)
        key = (t.memberships.c.org_id == org.id) & (t.memberships.c.user_id == user.id)
        current = conn.execute(sa.select(t.memberships.c.role).where(key)).scalar()
        if current is None:
            raise NotFoundError(f"{user.email} is not a member of org {org.name!r}")
        _check_may_change(principal, org, current, None)
        if current == Role.owner.value and _owners(conn, org.id) == 1:
            raise ConflictError(
                f"{user.email} is the last owner of org {org.name!r}; make someone else owner first"
            )
        conn.execute(sa.delete(t.memberships).where(key))
        repo_ids = sa.select(t.repos.c.id).where(t.repos.c.org_id == org.id).scalar_subquery()
        conn.execute(
            sa.delete(t.repo_grants).where(
                t.repo_grants.c.principal_id == user.id, t.repo_grants.c.repo_id.in_(repo_ids)
            )
        )
        record(
            conn,
            principal,
            "member.remove",
            org=org,
            resource=f"{org.name}/members/{user.email}",
            detail={"previous": current},
        )


# --- grants ---------------------------------------------------------------------------------


def _grantee(conn: sa.Connection, org: sa.Row, ident: str) -> tuple[str, str, str]:
    """(id, kind, label) of a member (by email or id) or a live API client (by name or id) of ``org``."""
    if "@" in ident:
        user = user_row(conn, ident)
        member = conn.execute(
            sa.select(t.memberships.c.role).where(
                t.memberships.c.org_id == org.id, t.memberships.c.user_id == user.id
            )
        ).first()
        if member is None:
            raise NotFoundError(
                f"{user.email} is not a member of org {org.name!r}; add them first "
                f"(`floe member set {org.name} {user.email} viewer`)"
            )
        return user.id, "user", user.email
    cond = t.api_clients.c.name == ident
    with contextlib.suppress(ValueError):
        ident_id = str(uuid.UUID(ident))
        cond = sa.or_(cond, t.api_clients.c.id == ident_id)
        user = conn.execute(
            sa.select(t.users.c.id, t.users.c.email)
            .join(t.memberships, t.memberships.c.user_id == t.users.c.id)
            .where(t.users.c.id == ident_id, t.memberships.c.org_id == org.id)
        ).first()
        if user is not None:
            return user.id, "user", user.email
    client = conn.execute(
        sa.select(t.api_clients).where(
            t.api_clients.c.org_id == org.id, cond, t.api_clients.c.revoked.is_(None)
        )
    ).first()
    if client is None:
        raise NotFoundError(
            f"no member email or active API client {ident!r} in org {org.name!r}; "
            f"`floe member list {org.name}` and `floe token list {org.name}` show them"
        )
    return client.id, "api_client", client.name


def _grant_model(conn: sa.Connection, row: sa.Row) -> Grant:
    if row.principal_kind == "user":
        label = conn.execute(sa.select(t.users.c.email).where(t.users.c.id == row.principal_id)).scalar()
    else:
        label = conn.execute(
            sa.select(t.api_clients.c.name).where(t.api_clients.c.id == row.principal_id)
        ).scalar()
    return Grant(
        principal_id=row.principal_id,
        principal_kind=row.principal_kind,
        principal=label or row.principal_id,
        level=row.level,
        created=aware(row.created),
        created_by=row.created_by,
    )


def list_grants(cat: Catalog, principal: Caller, org_name: str, repo_name: str) -> list[Grant]:
    with cat.read() as conn:
        _org, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_ADMIN)
        rows = conn.execute(
            sa.select(t.repo_grants)
            .where(t.repo_grants.c.repo_id == repo.id)
            .order_by(t.repo_grants.c.created)
        )
        return [_grant_model(conn, r) for r in rows]


def set_grant(
    cat: Catalog, principal: Caller, org_name: str, repo_name: str, ident: str, level: str
) -> Grant:
    """Give a member or API client ``level`` (read, write, admin) on one repo, on top of their org role."""
    level = GrantLevel(level).value
    with cat.tx() as conn:
        org, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_ADMIN)
        grantee_id, kind, label = _grantee(conn, org, ident)
        key = (t.repo_grants.c.repo_id == repo.id) & (t.repo_grants.c.principal_id == grantee_id)
        previous = conn.execute(sa.select(t.repo_grants.c.level).where(key)).scalar()
        conn.execute(sa.delete(t.repo_grants).where(key))
        conn.execute(
            sa.insert(t.repo_grants).values(
                repo_id=repo.id,
                principal_id=grantee_id,
                principal_kind=kind,
                level=level,
                created=now(),
                created_by=principal.label,
            )
        )
        record(
            conn,
            principal,
            "grant.set",
            org=org,
            resource=f"{org.name}/{repo.name}",
            detail={"grantee": label, "grantee_kind": kind, "level": level, "previous": previous},
        )
        return _grant_model(conn, conn.execute(sa.select(t.repo_grants).where(key)).one())


def remove_grant(cat: Catalog, principal: Caller, org_name: str, repo_name: str, ident: str) -> None:
    with cat.tx() as conn:
        org, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_ADMIN)
        grantee_id, kind, label = _grantee(conn, org, ident)
        key = (t.repo_grants.c.repo_id == repo.id) & (t.repo_grants.c.principal_id == grantee_id)
        previous = conn.execute(sa.select(t.repo_grants.c.level).where(key)).scalar()
        if previous is None:
            raise NotFoundError(f"{label} has no grant on {org.name}/{repo.name}")
        conn.execute(sa.delete(t.repo_grants).where(key))
        record(
            conn,
            principal,
            "grant.remove",
            org=org,
            resource=f"{org.name}/{repo.name}",
            detail={"grantee": label, "grantee_kind": kind, "previous": previous},
        )
