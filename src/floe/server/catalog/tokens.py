"""API clients and their tokens: create, list, revoke; token -> principal."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from floe.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from floe.models import ApiClient, ApiClientAuthenticated, ApiClientCreate, ApiClientWithToken, Role
from floe.server.auth import Action, Caller
from floe.server.catalog.audit import record
from floe.server.catalog.base import Catalog, aware, now, org_row, serialize
from floe.server.catalog.principals import principal_for_token
from floe.server.db import tables as t
from floe.server.keys import hash_token, new_token

NEVER = datetime(9999, 12, 31, tzinfo=now().tzinfo)


def default_email(name: str, org_name: str) -> str:
    return f"{name.lower()}@{org_name.lower().replace('_', '-')}.floe.example.org"


def insert_api_client(
    conn: sa.Connection,
    org: sa.Row,
    *,
    name: str,
    role: Role,
    email: str | None = None,
    expires_in_days: float | None = None,
    is_site_admin: bool = False,
    created_by: str | None = None,
) -> ApiClientWithToken:
    """Create an API client and its token; the token is returned here and never again."""
    token = new_token()
    client_id = str(uuid.uuid4())
    created = now()
    expiration = created + timedelta(days=expires_in_days) if expires_in_days else None
    conn.execute(
        sa.insert(t.api_clients).values(
            id=client_id,
            org_id=org.id,
            name=name,
            email=email or default_email(name, org.name),
            role=role.value,
            is_site_admin=is_site_admin,
            token_hash=hash_token(token),
            created=created,
            expiration=expiration,
            created_by=created_by,
        )
    )
    row = conn.execute(sa.select(t.api_clients).where(t.api_clients.c.id == client_id)).one()
    return ApiClientWithToken(**_model(row, org.name).model_dump(), token=token)


def _model(row: sa.Row, org_name: str) -> ApiClient:
    return ApiClient(
        id=row.id,
        org=org_name,
        name=row.name,
        email=row.email,
        role=Role(row.role),
        created=aware(row.created),
        expiration=aware(row.expiration),
        last_used=aware(row.last_used),
        revoked=row.revoked is not None,
    )


def create_api_client(
    cat: Catalog, principal: Caller, org_name: str, body: ApiClientCreate
) -> ApiClientWithToken:
    if body.email is not None and "@" not in body.email:
        raise ValidationError(f"email {body.email!r} is not an email address")
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_ADMIN)
        serialize(conn, f"floe:api-client-names:{org.id}")  # one active client per name
        clash = conn.execute(
            sa.select(t.api_clients.c.id).where(
                t.api_clients.c.org_id == org.id,
                t.api_clients.c.name == body.name,
                t.api_clients.c.revoked.is_(None),
            )
        ).first()
        if clash:
            raise ConflictError(
                f"an active API client named {body.name!r} exists in org {org_name!r}; pick another name"
            )
        created = insert_api_client(
            conn,
            org,
            name=body.name,
            role=Role(body.role.value),
            email=body.email,
            expires_in_days=body.expires_in_days,
            created_by=principal.id,
        )
        record(
            conn,
            principal,
            "api_client.create",
            org=org,
            resource=f"{org.name}/api-clients/{body.name}",
            detail={"id": str(created.id), "role": body.role.value, "expires": created.expiration},
        )
        return created


def list_api_clients(
    cat: Catalog, principal: Caller, org_name: str, *, include_revoked: bool
) -> list[ApiClient]:
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_ADMIN)
        query = (
            sa.select(t.api_clients).where(t.api_clients.c.org_id == org.id).order_by(t.api_clients.c.created)
        )
        if not include_revoked:
            query = query.where(t.api_clients.c.revoked.is_(None))
        return [_model(r, org.name) for r in conn.execute(query)]


def revoke_api_client(cat: Catalog, principal: Caller, org_name: str, client: str) -> ApiClient:
    """Revoke by id or by name; revoking your own token is refused."""
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_ADMIN)
        cond = t.api_clients.c.name == client
        with contextlib.suppress(ValueError):
            cond = sa.or_(cond, t.api_clients.c.id == str(uuid.UUID(client)))
        row = conn.execute(
            sa.select(t.api_clients).where(
                t.api_clients.c.org_id == org.id, cond, t.api_clients.c.revoked.is_(None)
            )
        ).first()
        if row is None:
            raise NotFoundError(
                f"no active API client {client!r} in org {org_name!r}; `floe token list` shows them"
            )
        if row.id == principal.id:
            raise ConflictError("refusing to revoke the token you are using; use another admin token")
        conn.execute(sa.update(t.api_clients).where(t.api_clients.c.id == row.id).values(revoked=now()))
        record(
            conn,
            principal,
            "api_client.revoke",
            org=org,
            resource=f"{org.name}/api-clients/{row.name}",
            detail={"id": row.id},
        )
        conn.execute(sa.delete(t.repo_grants).where(t.repo_grants.c.principal_id == row.id))
        return _model(
            conn.execute(sa.select(t.api_clients).where(t.api_clients.c.id == row.id)).one(), org.name
        )


def authenticate_token(cat: Catalog, principal: Caller, org_name: str, token: str) -> ApiClientAuthenticated:
    """Which API client (or member's session) of ``org_name`` a token belongs to (the arraylake
    ``authenticate`` route). Every token that is not a live one of this org gets the same 404 (unknown,
    revoked, expired, another org's), and looking a token up never counts as its use (``last_used``)."""
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_READ)
    missing = NotFoundError(f"no API client or member of org {org_name!r} has that token")
    try:
        subject = principal_for_token(cat, token, touch=False)
    except AuthenticationError:
        raise missing from None
    if org.id not in subject.roles:
        raise missing
    with cat.read() as conn:
        if subject.kind == "user":  # a person's session: their user id, and the session's times
            row = conn.execute(sa.select(t.sessions).where(t.sessions.c.id == subject.session_id)).one()
            expiration = aware(row.expires)
        else:
            row = conn.execute(sa.select(t.api_clients).where(t.api_clients.c.id == subject.id)).one()
            expiration = aware(row.expiration) or NEVER
    return ApiClientAuthenticated(
        _id=subject.id,
        email=subject.email,
        created=aware(row.created),
        expiration=expiration,
        last_used=aware(row.last_used),
    )
