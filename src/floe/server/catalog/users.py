"""People: user accounts (site admins manage them) and their own profile and password."""

from __future__ import annotations

import contextlib
import uuid

import sqlalchemy as sa

from floe.errors import ConflictError, NotFoundError, PermissionDeniedError
from floe.models import SelfUpdate, User, UserCreate, UserUpdate, normalize_email
from floe.server.auth import Action, Caller, decide
from floe.server.catalog.audit import record
from floe.server.catalog.base import Catalog, aware, now
from floe.server.db import tables as t
from floe.server.passwords import hash_password


def _require_site_admin(principal: Caller) -> None:
    if not decide(principal, Action.SITE_ADMIN, None):
        raise PermissionDeniedError(
            "only a site admin may manage user accounts; ask whoever runs the Floe server"
        )


def user_model(conn: sa.Connection, row: sa.Row) -> User:
    orgs = conn.execute(
        sa.select(t.orgs.c.name, t.memberships.c.role)
        .join(t.orgs, t.orgs.c.id == t.memberships.c.org_id)
        .where(t.memberships.c.user_id == row.id)
        .order_by(t.orgs.c.name)
    ).all()
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        is_site_admin=row.is_site_admin,
        disabled=row.disabled is not None,
        has_password=row.password_hash is not None,
        upstream=row.oidc_issuer,
        created=aware(row.created),
        last_sign_in=aware(row.last_sign_in),
        orgs={o.name: o.role for o in orgs},
    )


def user_row(conn: sa.Connection, ident: str) -> sa.Row:
    """A user by email (any case) or id; 404 naming the fix otherwise."""
    cond = t.users.c.email == ident.strip().lower()
    with contextlib.suppress(ValueError):
        cond = sa.or_(cond, t.users.c.id == str(uuid.UUID(ident)))
    row = conn.execute(sa.select(t.users).where(cond)).first()
    if row is None:
        raise NotFoundError(f"no user {ident!r}; `floe user list` shows them (site admins)")
    return row


def insert_user(
    conn: sa.Connection,
    *,
    email: str,
    name: str,
    password: str | None = None,
    is_site_admin: bool = False,
    oidc_issuer: str | None = None,
    oidc_subject: str | None = None,
) -> sa.Row:
    """Insert a user (no permission check: callers decide); 409 when the email is taken."""
    email = normalize_email(email)
    if conn.execute(sa.select(t.users.c.id).where(t.users.c.email == email)).first():
        raise ConflictError(f"a user with email {email!r} exists already")
    user_id = str(uuid.uuid4())
    conn.execute(
        sa.insert(t.users).values(
            id=user_id,
            email=email,
            name=name,
            password_hash=hash_password(password) if password else None,
            is_site_admin=is_site_admin,
            oidc_issuer=oidc_issuer,
            oidc_subject=oidc_subject,
            created=now(),
        )
    )
    return conn.execute(sa.select(t.users).where(t.users.c.id == user_id)).one()


def create_user(cat: Catalog, principal: Caller, body: UserCreate) -> User:
    _require_site_admin(principal)
    with cat.tx() as conn:
        row = insert_user(
            conn, email=body.email, name=body.name, password=body.password, is_site_admin=body.is_site_admin
        )
        record(
            conn,
            principal,
            "user.create",
            resource=f"users/{row.email}",
            detail={
                "id": row.id,
                "is_site_admin": body.is_site_admin,
                "sign_in": "email and password" if body.password else "upstream only",
            },
        )
        return user_model(conn, row)


def list_users(cat: Catalog, principal: Caller) -> list[User]:
    _require_site_admin(principal)
    with cat.read() as conn:
        rows = conn.execute(sa.select(t.users).order_by(t.users.c.email)).all()
        return [user_model(conn, r) for r in rows]


def get_user(cat: Catalog, principal: Caller, ident: str) -> User:
    if not decide(principal, Action.SITE_ADMIN, None):
        if principal.kind != "user" or ident.strip().lower() not in (principal.email, principal.id):
            _require_site_admin(principal)  # raises: people may look only at themselves
        ident = principal.id
    with cat.read() as conn:
        return user_model(conn, user_row(conn, ident))


def update_user(cat: Catalog, principal: Caller, ident: str, body: UserUpdate) -> User:
    _require_site_admin(principal)
    with cat.tx() as conn:
        row = user_row(conn, ident)
        values: dict[str, object] = {}
        if body.name is not None:
            values["name"] = body.name
        if body.password is not None:
            values["password_hash"] = hash_password(body.password)
        if body.is_site_admin is not None:
            if row.id == principal.id and not body.is_site_admin:
                raise ConflictError("refusing to remove your own site-admin flag; ask another site admin")
            values["is_site_admin"] = body.is_site_admin
        if body.disabled is not None:
            if row.id == principal.id and body.disabled:
                raise ConflictError("refusing to disable your own account")
            values["disabled"] = now() if body.disabled else None
        if values:
            conn.execute(sa.update(t.users).where(t.users.c.id == row.id).values(**values))
        if body.disabled or body.password is not None:
            end_sessions(conn, row.id)
        record(
            conn,
            principal,
            "user.update",
            resource=f"users/{row.email}",
            detail={
                "id": row.id,
                "changed": sorted(k for k, v in body.model_dump().items() if v is not None),
            },
        )
        return user_model(conn, conn.execute(sa.select(t.users).where(t.users.c.id == row.id)).one())


def end_sessions(conn: sa.Connection, user_id: str, *, keep: str | None = None) -> None:
    """Revoke a user's live sessions but ``keep`` (after a password change, or when the account is disabled)."""
    query = sa.update(t.sessions).where(t.sessions.c.user_id == user_id, t.sessions.c.revoked.is_(None))
    if keep is not None:
        query = query.where(t.sessions.c.id != keep)
    conn.execute(query.values(revoked=now()))


def require_person(principal: Caller) -> None:
    if principal.kind != "user":
        raise PermissionDeniedError(
            "this route is for people signed in with `floe auth login`; API clients have no profile"
        )


def update_self(cat: Catalog, principal: Caller, body: SelfUpdate) -> User:
    require_person(principal)
    with cat.tx() as conn:
        if body.name is not None:
            conn.execute(sa.update(t.users).where(t.users.c.id == principal.id).values(name=body.name))
            record(
                conn,
                principal,
                "user.update",
                resource=f"users/{principal.email}",
                detail={"changed": ["name"]},
            )
        return user_model(conn, user_row(conn, principal.id))
