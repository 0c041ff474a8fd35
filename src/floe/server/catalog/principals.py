"""Bearer token -> principal, for API clients and for people's sessions."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa

from floe.errors import AuthenticationError
from floe.models import Role
from floe.server.auth import Caller
from floe.server.catalog.base import Catalog, aware, now
from floe.server.db import tables as t
from floe.server.keys import SESSION_PREFIX, TOKEN_PREFIX, hash_token

_LAST_USED_RESOLUTION = timedelta(seconds=60)
_CLIENTS = sa.select(t.api_clients, t.orgs.c.name.label("org_name")).join(
    t.orgs, t.orgs.c.id == t.api_clients.c.org_id
)
_CLIENT_BY_HASH = _CLIENTS.where(t.api_clients.c.token_hash == sa.bindparam("token_hash"))
_SESSION_BY_HASH = (
    sa.select(
        t.sessions.c.id.label("session_id"),
        t.sessions.c.token_hash,
        t.sessions.c.kind,
        t.sessions.c.expires,
        t.sessions.c.revoked,
        t.sessions.c.last_used,
        t.users,
    )
    .join(t.users, t.users.c.id == t.sessions.c.user_id)
    .where(t.sessions.c.token_hash == sa.bindparam("token_hash"))
)
_MEMBERSHIPS = (
    sa.select(t.memberships.c.org_id, t.memberships.c.role, t.orgs.c.name)
    .join(t.orgs, t.orgs.c.id == t.memberships.c.org_id)
    .where(t.memberships.c.user_id == sa.bindparam("user_id"))
)

UNKNOWN_TOKEN = "invalid token: it is not known to this server; sign in again (`floe auth login`) or ask an org admin for a new one"


def client_principal_from_row(row: sa.Row) -> Caller:
    return Caller(
        id=row.id,
        kind="api_client",
        name=row.name,
        email=row.email,
        roles={row.org_id: Role(row.role)},
        org_names={row.org_id: row.org_name},
        is_site_admin=row.is_site_admin,
        expiration=aware(row.expiration),
    )


def user_principal(
    conn: sa.Connection, user: sa.Row, *, session_id: str | None = None, expiration: datetime | None = None
) -> Caller:
    """The principal for a user row, with their org roles."""
    memberships = conn.execute(_MEMBERSHIPS, {"user_id": user.id}).all()
    return Caller(
        id=user.id,
        kind="user",
        name=user.name,
        email=user.email,
        roles={m.org_id: Role(m.role) for m in memberships},
        org_names={m.org_id: m.name for m in memberships},
        is_site_admin=user.is_site_admin,
        expiration=aware(expiration),
        session_id=session_id,
    )


def _check_live(revoked: datetime | None, expiration: datetime | None, what: str) -> None:
    if revoked is not None:
        raise AuthenticationError(f"this {what} has been revoked; {_renew_hint(what)}")
    expiration = aware(expiration)
    if expiration is not None and expiration <= now():
        raise AuthenticationError(f"this {what} expired at {expiration.isoformat()}; {_renew_hint(what)}")


def _renew_hint(what: str) -> str:
    return "sign in again with `floe auth login`" if what == "session" else "ask an org admin for a new one"


def principal_for_token(
    cat: Catalog, token: str | None, *, session_kind: Literal["cli", "web"] = "cli", touch: bool = True
) -> Caller:
    """The principal a token stands for; 401 with the reason otherwise. Its use is recorded
    (``last_used``) unless ``touch`` is off: a lookup on someone else's behalf is no use.

    Tokens are looked up by their SHA-256 hash, and the stored hash is compared again in
    constant time, so response times say nothing about how much of a token was right.
    """
    if not token:
        raise AuthenticationError(
            "no token: sign in with `floe auth login`, pass token=..., or set FLOE_TOKEN"
        )
    if not token.startswith(TOKEN_PREFIX):
        raise AuthenticationError(f"invalid token: Floe tokens start with {TOKEN_PREFIX!r}")
    digest = hash_token(token)
    if token.startswith(SESSION_PREFIX):
        return _session_principal(cat, digest, session_kind, touch=touch)
    with cat.read() as conn:
        row = conn.execute(_CLIENT_BY_HASH, {"token_hash": digest}).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise AuthenticationError(UNKNOWN_TOKEN)
    _check_live(row.revoked, row.expiration, "token")
    if touch:
        _touch(cat, t.api_clients, row.id, row.last_used)
    return client_principal_from_row(row)


def _session_principal(cat: Catalog, digest: str, kind: str, *, touch: bool) -> Caller:
    with cat.read() as conn:
        row = conn.execute(_SESSION_BY_HASH, {"token_hash": digest}).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest) or row.kind != kind:
            raise AuthenticationError(UNKNOWN_TOKEN)
        _check_live(row.revoked, row.expires, "session")
        if row.disabled is not None:
            raise AuthenticationError("this account is disabled; ask a site admin")
        principal = user_principal(conn, row, session_id=row.session_id, expiration=row.expires)
    if touch:
        _touch(cat, t.sessions, row.session_id, row.last_used)
    return principal


def _touch(cat: Catalog, table: sa.Table, row_id: str, last_used: datetime | None) -> None:
    """Record use, at most once a minute per token (a write on every request would serialise SQLite)."""
    current = now()
    last_used = aware(last_used)
    if last_used is None or current - last_used > _LAST_USED_RESOLUTION:
        with cat.tx() as conn:
            conn.execute(sa.update(table).where(table.c.id == row_id).values(last_used=current))


def principal_by_id(cat: Catalog, principal_id: str) -> Caller | None:
    """The live principal (API client or user) with this id, for permission checks; else None."""
    with cat.read() as conn:
        row = conn.execute(
            _CLIENTS.where(t.api_clients.c.id == principal_id, t.api_clients.c.revoked.is_(None))
        ).first()
        if row is not None:
            expiration = aware(row.expiration)
            if expiration is not None and expiration <= now():
                return None
            return client_principal_from_row(row)
        user = conn.execute(
            sa.select(t.users).where(t.users.c.id == principal_id, t.users.c.disabled.is_(None))
        ).first()
        return user_principal(conn, user) if user is not None else None
