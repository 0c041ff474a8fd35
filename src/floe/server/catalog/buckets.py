"""Bucket configs: register storage once, by nickname; secrets sealed at rest."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from floe.errors import ConflictError, ValidationError
from floe.models import (
    SECRET_FIELDS,
    BucketCreate,
    BucketModify,
    BucketResponse,
    Repo,
    TempCredentials,
    redact_auth,
)
from floe.server.auth import Action, Principal
from floe.server.catalog.base import (
    Catalog,
    bucket_model,
    bucket_row_by_id,
    bucket_row_by_nickname,
    bucket_spec,
    now,
    org_row,
    repo_model,
)
from floe.server.db import tables as t
from floe.storage import BucketSpec, credentials_for, normalize


def _validated(cat: Catalog, spec: BucketSpec) -> BucketSpec:
    try:
        return normalize(spec, cat.policy)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _auth_columns(cat: Catalog, auth: dict[str, Any]) -> dict[str, Any]:
    """Split an auth config into what may be shown (public) and what is sealed (whole config)."""
    has_secret = any(auth.get(f) for f in SECRET_FIELDS)
    public = redact_auth(auth)
    key = auth.get("service_account_key")
    if isinstance(key, dict) and key.get("client_email"):
        public["client_email"] = key["client_email"]  # who the tokens are minted for: not a secret
    return {
        "auth_method": auth["method"],
        "auth_public": public,
        "auth_secret": cat.box.seal(auth) if has_secret else None,
    }


def _repos_using(conn: sa.Connection, bucket_id: str) -> list[str]:
    return list(
        conn.execute(
            sa.select(t.repos.c.name).where(t.repos.c.bucket_id == bucket_id).order_by(t.repos.c.name)
        )
        .scalars()
        .all()
    )


def _in_use_message(org_name: str, nickname: str, repos: list[str], doing: str) -> str:
    shown = ", ".join(f"{org_name}/{r}" for r in repos[:20]) + (
        f" and {len(repos) - 20} more" if len(repos) > 20 else ""
    )
    return f"cannot {doing} bucket config {nickname!r}: it is used by {len(repos)} repo(s): {shown}; delete those first"


def create_bucket(cat: Catalog, principal: Principal, org_name: str, body: BucketCreate) -> BucketResponse:
    spec = _validated(
        cat,
        BucketSpec(
            platform=body.platform,
            name=body.name,
            prefix=body.prefix,
            extra_config=body.extra_config,
            auth=body.auth_config.model_dump() if body.auth_config else None,
        ),
    )
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        return insert_bucket(conn, cat, org, body.nickname, spec, created_by=principal.email)


def insert_bucket(
    conn: sa.Connection, cat: Catalog, org: sa.Row, nickname: str, spec: BucketSpec, *, created_by: str | None
) -> BucketResponse:
    """Insert a validated bucket config; it becomes the org default when the org has none."""
    clash = conn.execute(
        sa.select(t.buckets.c.id).where(t.buckets.c.org_id == org.id, t.buckets.c.nickname == nickname)
    ).first()
    if clash:
        raise ConflictError(
            f"bucket config {nickname!r} already exists in org {org.name!r}; pick another nickname"
        )
    bucket_id = str(uuid.uuid4())
    stamp = now()
    conn.execute(
        sa.insert(t.buckets).values(
            id=bucket_id,
            org_id=org.id,
            nickname=nickname,
            platform=spec.platform,
            name=spec.name,
            prefix=spec.prefix,
            extra_config=dict(spec.extra_config),
            created=stamp,
            updated=stamp,
            created_by=created_by,
            **_auth_columns(cat, dict(spec.auth or {"method": "anonymous"})),
        )
    )
    default_id = org.default_bucket_id
    if default_id is None:
        conn.execute(sa.update(t.orgs).where(t.orgs.c.id == org.id).values(default_bucket_id=bucket_id))
        default_id = bucket_id
    row = conn.execute(sa.select(t.buckets).where(t.buckets.c.id == bucket_id)).one()
    return bucket_model(row, default_id)


def list_buckets(cat: Catalog, principal: Principal, org_name: str) -> list[BucketResponse]:
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_READ)
        rows = conn.execute(
            sa.select(t.buckets).where(t.buckets.c.org_id == org.id).order_by(t.buckets.c.nickname)
        )
        return [bucket_model(r, org.default_bucket_id) for r in rows]


def get_bucket(
    cat: Catalog, principal: Principal, org_name: str, bucket: str, *, by: str = "id"
) -> BucketResponse:
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_READ)
        row = _find(conn, org, bucket, by)
        return bucket_model(row, org.default_bucket_id)


def _find(conn: sa.Connection, org: sa.Row, bucket: str, by: str) -> sa.Row:
    if by == "nickname":
        return bucket_row_by_nickname(conn, org, bucket)
    try:
        uuid.UUID(str(bucket))
    except ValueError:
        # Friendlier for people and the CLI: accept a nickname where an id is expected.
        return bucket_row_by_nickname(conn, org, bucket)
    return bucket_row_by_id(conn, org, bucket)


def modify_bucket(
    cat: Catalog, principal: Principal, org_name: str, bucket: str, body: BucketModify
) -> BucketResponse:
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        row = _find(conn, org, bucket, "id")
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        # new credentials replace the old without decrypting them (the key may have been lost)
        current = bucket_spec(cat.box, row, decrypt="auth_config" not in changes)
        location_changes = {
            k for k in ("platform", "name", "prefix") if k in changes and changes[k] != getattr(row, k)
        }
        if location_changes:
            repos = _repos_using(conn, row.id)
            if repos:
                raise ConflictError(
                    _in_use_message(org.name, row.nickname, repos, f"change {', '.join(location_changes)} of")
                )
        spec = _validated(
            cat,
            current.with_changes(
                platform=changes.get("platform", current.platform),
                name=changes.get("name", current.name),
                prefix=changes.get("prefix", current.prefix),
                extra_config=changes.get("extra_config", current.extra_config),
                auth=changes.get("auth_config", current.auth),
            ),
        )
        nickname = changes.get("nickname", row.nickname)
        if (
            nickname != row.nickname
            and conn.execute(
                sa.select(t.buckets.c.id).where(
                    t.buckets.c.org_id == org.id, t.buckets.c.nickname == nickname
                )
            ).first()
        ):
            raise ConflictError(
                f"bucket config {nickname!r} already exists in org {org.name!r}; pick another nickname"
            )
        conn.execute(
            sa.update(t.buckets)
            .where(t.buckets.c.id == row.id)
            .values(
                nickname=nickname,
                platform=spec.platform,
                name=spec.name,
                prefix=spec.prefix,
                extra_config=dict(spec.extra_config),
                updated=now(),
                **_auth_columns(cat, dict(spec.auth or {"method": "anonymous"})),
            )
        )
        return bucket_model(
            conn.execute(sa.select(t.buckets).where(t.buckets.c.id == row.id)).one(), org.default_bucket_id
        )


def delete_bucket(cat: Catalog, principal: Principal, org_name: str, bucket: str) -> None:
    """Delete a bucket config; refused (409, naming the repos) while any repo uses it."""
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        row = _find(conn, org, bucket, "id")
        repos = _repos_using(conn, row.id)
        if repos:
            raise ConflictError(_in_use_message(org.name, row.nickname, repos, "delete"))
        if org.default_bucket_id == row.id:
            conn.execute(sa.update(t.orgs).where(t.orgs.c.id == org.id).values(default_bucket_id=None))
        conn.execute(sa.delete(t.buckets).where(t.buckets.c.id == row.id))


def set_default_bucket(cat: Catalog, principal: Principal, org_name: str, bucket: str) -> BucketResponse:
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        row = _find(conn, org, bucket, "id")
        conn.execute(sa.update(t.orgs).where(t.orgs.c.id == org.id).values(default_bucket_id=row.id))
        return bucket_model(row, row.id)


def repos_for_bucket(cat: Catalog, principal: Principal, org_name: str, bucket: str) -> list[Repo]:
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.REPO_READ)
        row = _find(conn, org, bucket, "id")
        bucket_resp = bucket_model(row, org.default_bucket_id)
        repos = conn.execute(sa.select(t.repos).where(t.repos.c.bucket_id == row.id).order_by(t.repos.c.name))
        return [repo_model(r, org.name, bucket_resp) for r in repos]


def bucket_credentials(
    cat: Catalog, principal: Principal, org_name: str, bucket: str
) -> TempCredentials | None:
    """Read credentials for a whole bucket (virtual chunks); members only."""
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_USE)
        row = _find(conn, org, bucket, "id")
    return credentials_for(bucket_spec(cat.box, row), read_only=True)
