"""Orgs: create, list, get, delete."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from floe.errors import ConflictError, PermissionDeniedError
from floe.models import Org, OrgCreate
from floe.models.orgs import OrgUpdate
from floe.server.auth import Action, Caller, decide
from floe.server.catalog.audit import record
from floe.server.catalog.base import Catalog, aware, now, org_row
from floe.server.catalog.trash import trash_usage
from floe.server.db import tables as t


def _model(cat: Catalog, conn: sa.Connection, row: sa.Row) -> Org:
    default = None
    if row.default_bucket_id:
        default = conn.execute(
            sa.select(t.buckets.c.nickname).where(t.buckets.c.id == row.default_bucket_id)
        ).scalar()
    return Org(
        id=row.id,
        name=row.name,
        description=row.description,
        created=aware(row.created),
        default_bucket_nickname=default,
        trash_retention_days=row.trash_retention_days
        if row.trash_retention_days is not None
        else cat.trash_retention_days,
    )


def insert_org(conn: sa.Connection, name: str, description: str | None = None) -> sa.Row:
    """Insert an org row (no permission check: callers decide)."""
    org_id = str(uuid.uuid4())
    conn.execute(sa.insert(t.orgs).values(id=org_id, name=name, description=description, created=now()))
    return conn.execute(sa.select(t.orgs).where(t.orgs.c.id == org_id)).one()


def ensure_org(conn: sa.Connection, name: str) -> sa.Row:
    """The org called ``name``, created if missing."""
    row = conn.execute(sa.select(t.orgs).where(t.orgs.c.name == name)).first()
    return row if row is not None else insert_org(conn, name)


def create_org(cat: Catalog, principal: Caller, body: OrgCreate) -> Org:
    if not decide(principal, Action.SITE_ADMIN, None):
        raise PermissionDeniedError("only a site admin may create orgs; ask whoever runs the Floe server")
    with cat.tx() as conn:
        if conn.execute(sa.select(t.orgs.c.id).where(t.orgs.c.name == body.name)).first():
            raise ConflictError(f"org {body.name!r} already exists; pick another name")
        org = insert_org(conn, body.name, body.description)
        if principal.kind == "user":  # whoever creates an org owns it
            conn.execute(
                sa.insert(t.memberships).values(
                    org_id=org.id, user_id=principal.id, role="owner", added=now(), added_by=principal.id
                )
            )
        record(
            conn,
            principal,
            "org.create",
            org=org,
            resource=org.name,
            detail={"description": body.description},
        )
        return _model(cat, conn, org)


def list_orgs(cat: Catalog, principal: Caller) -> list[Org]:
    with cat.read() as conn:
        rows = conn.execute(sa.select(t.orgs).order_by(t.orgs.c.name)).all()
        return [_model(cat, conn, r) for r in rows if decide(principal, Action.ORG_READ, r.id)]


def get_org(cat: Catalog, principal: Caller, name: str) -> Org:
    with cat.read() as conn:
        return _model(cat, conn, org_row(conn, principal, name))


def modify_org(cat: Catalog, principal: Caller, name: str, body: OrgUpdate) -> Org:
    """Change an org's description or trash retention (org admins)."""
    changes = body.model_dump(exclude_unset=True)
    with cat.tx() as conn:
        org = org_row(conn, principal, name, Action.ORG_ADMIN)
        if changes:
            conn.execute(sa.update(t.orgs).where(t.orgs.c.id == org.id).values(**changes))
            record(conn, principal, "org.modify", org=org, resource=org.name, detail=changes)
        return _model(cat, conn, conn.execute(sa.select(t.orgs).where(t.orgs.c.id == org.id)).one())


def delete_org(cat: Catalog, principal: Caller, name: str) -> None:
    """Delete an org with its bucket configs and API clients; refused while it has repos."""
    with cat.tx() as conn:
        org = org_row(conn, principal, name, Action.SITE_ADMIN)
        repos = (
            conn.execute(sa.select(t.repos.c.name).where(t.repos.c.org_id == org.id).limit(11))
            .scalars()
            .all()
        )
        if repos:
            shown = ", ".join(f"{name}/{r}" for r in repos[:10]) + (" ..." if len(repos) > 10 else "")
            raise ConflictError(f"org {name!r} still has repos ({shown}); delete them first")
        trashed = trash_usage(conn, org_id=org.id)
        if trashed:
            shown = ", ".join(f"{name}/{r}" for r in trashed[:10]) + (" ..." if len(trashed) > 10 else "")
            raise ConflictError(
                f"org {name!r} has repos in its trash ({shown}), whose objects are kept until purged: purge "
                f"them first (`floe repo purge {name}/REPO`)"
            )
        if principal.kind == "api_client" and org.id in principal.roles:
            raise ConflictError(f"refusing to delete org {name!r}: your own token belongs to it")
        record(conn, principal, "org.delete", org=org, resource=org.name)
        conn.execute(sa.delete(t.memberships).where(t.memberships.c.org_id == org.id))
        conn.execute(sa.delete(t.api_clients).where(t.api_clients.c.org_id == org.id))
        conn.execute(sa.delete(t.buckets).where(t.buckets.c.org_id == org.id))
        conn.execute(sa.delete(t.orgs).where(t.orgs.c.id == org.id))
