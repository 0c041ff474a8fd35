"""Virtual chunk containers of a repo (URL prefixes served by the org's bucket configs), and the org's
virtual chunk access policies: once an org has any, containers must lie under one of them."""

from __future__ import annotations

import sqlalchemy as sa

from floe.errors import PermissionDeniedError, ValidationError
from floe.models import VirtualAccessPolicy, VirtualAccessPolicyBody, VirtualContainerAccess
from floe.server.auth import Action, Caller
from floe.server.catalog.audit import record
from floe.server.catalog.base import (
    Catalog,
    bucket_model,
    bucket_row_by_id,
    bucket_row_by_nickname,
    bucket_spec,
    now,
    org_and_repo,
    org_row,
)
from floe.server.db import tables as t
from floe.storage import ReaderKeysMissing, credentials_for
from floe.storage.virtual import bucket_url, check_url_prefix


def get_containers(cat: Catalog, principal: Caller, org_name: str, repo_name: str) -> dict[str, str | None]:
    """``{url_prefix: bucket nickname}`` for a repo."""
    with cat.read() as conn:
        _org, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_READ)
        rows = conn.execute(
            sa.select(t.virtual_containers.c.url_prefix, t.buckets.c.nickname)
            .join(t.buckets, t.buckets.c.id == t.virtual_containers.c.bucket_id)
            .where(t.virtual_containers.c.repo_id == repo.id)
            .order_by(t.virtual_containers.c.url_prefix)
        )
        return {r.url_prefix: r.nickname for r in rows}


def patch_containers(
    cat: Catalog,
    principal: Caller,
    org_name: str,
    repo_name: str,
    *,
    add: dict[str, str] | None,
    remove: list[str] | None,
) -> dict[str, str | None]:
    """Authorise (``add``: url_prefix -> bucket nickname) or withdraw (``remove``) containers; writers only."""
    with cat.tx() as conn:
        org, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_WRITE)
        for url_prefix in remove or []:
            conn.execute(
                sa.delete(t.virtual_containers).where(
                    t.virtual_containers.c.repo_id == repo.id, t.virtual_containers.c.url_prefix == url_prefix
                )
            )
        for url_prefix, nickname in (add or {}).items():
            bucket = bucket_row_by_nickname(conn, org, nickname)
            try:
                normalized = check_url_prefix(bucket_spec(cat.box, bucket, decrypt=False), url_prefix)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
            _check_policies(cat, conn, org, normalized)
            key = (t.virtual_containers.c.repo_id == repo.id) & (
                t.virtual_containers.c.url_prefix == normalized
            )
            conn.execute(sa.delete(t.virtual_containers).where(key))
            conn.execute(
                sa.insert(t.virtual_containers).values(
                    repo_id=repo.id,
                    url_prefix=normalized,
                    bucket_id=bucket.id,
                    created=now(),
                    created_by=principal.id,
                )
            )
        record(
            conn,
            principal,
            "repo.virtual_containers",
            org=org,
            resource=f"{org.name}/{repo.name}",
            detail={"added": sorted(add or {}), "removed": sorted(remove or [])},
        )
    return get_containers(cat, principal, org_name, repo_name)


_CONTAINERS_QUERY = (
    sa.select(t.virtual_containers.c.url_prefix, t.buckets)
    .join(t.buckets, t.buckets.c.id == t.virtual_containers.c.bucket_id)
    .where(t.virtual_containers.c.repo_id == sa.bindparam("repo_id"))
)


def container_credentials(
    cat: Catalog, conn: sa.Connection, repo_id: str, org_name: str
) -> dict[str, VirtualContainerAccess]:
    """Read-only credentials for every container of a repo, in the shape the open answer carries."""
    rows = conn.execute(_CONTAINERS_QUERY, {"repo_id": repo_id}).all()
    out: dict[str, VirtualContainerAccess] = {}
    for row in rows:
        spec = bucket_spec(cat.box, row)
        try:
            creds = credentials_for(spec, prefix=None, read_only=True, policy=cat.policy)
        except ReaderKeysMissing:
            creds = None  # only keys that write: readers of virtual chunks get none (the fix is a read pair)
        out[row.url_prefix] = VirtualContainerAccess(
            credentials=creds,
            org=org_name,
            bucket_nickname=row.nickname,
            platform=row.platform,
            auth_method=spec.auth_method,
            bucket=bucket_model(row, None),
        )
    return out


# --- the org's virtual chunk access policies ------------------------------------------------

_POLICIES_QUERY = (
    sa.select(t.virtual_access_policies, t.buckets)
    .join(t.buckets, t.buckets.c.id == t.virtual_access_policies.c.bucket_id)
    .where(t.buckets.c.org_id == sa.bindparam("org_id"))
    .order_by(t.buckets.c.nickname, t.virtual_access_policies.c.subprefix)
)


def _policy(cat: Catalog, row: sa.Row) -> VirtualAccessPolicy:
    base = bucket_url(bucket_spec(cat.box, row, decrypt=False))
    return VirtualAccessPolicy(
        bucket_id=row.bucket_id,
        subprefix=row.subprefix,
        public=row.public,
        url_prefix=base + (f"{row.subprefix}/" if row.subprefix else ""),
        created=row.created,
        created_by=row.created_by or "",
    )


def _check_policies(cat: Catalog, conn: sa.Connection, org: sa.Row, url_prefix: str) -> None:
    """Refuse a container outside every policy of an org that has policies."""
    policies = [_policy(cat, row) for row in conn.execute(_POLICIES_QUERY, {"org_id": org.id})]
    if policies and not any(url_prefix.startswith(p.url_prefix) for p in policies):
        allowed = ", ".join(sorted(p.url_prefix for p in policies))
        raise PermissionDeniedError(
            f"virtual chunk container {url_prefix!r} is outside org {org.name!r}'s virtual chunk access "
            f"policies ({allowed}); an org admin can allow it with set_virtual_chunk_access_policy"
        )


def list_policies(cat: Catalog, principal: Caller, org_name: str) -> list[VirtualAccessPolicy]:
    """The org's virtual chunk access policies (anyone in the org may look)."""
    with cat.read() as conn:
        org = org_row(conn, principal, org_name)
        return [_policy(cat, row) for row in conn.execute(_POLICIES_QUERY, {"org_id": org.id})]


def _key(body: VirtualAccessPolicyBody, bucket_id: str) -> sa.ColumnElement[bool]:
    c = t.virtual_access_policies.c
    return (c.bucket_id == bucket_id) & (c.subprefix == body.subprefix.strip("/")) & (c.public == body.public)


def set_policy(
    cat: Catalog, principal: Caller, org_name: str, body: VirtualAccessPolicyBody
) -> VirtualAccessPolicy:
    """Add a policy (org admins; setting an existing one again changes nothing)."""
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_ADMIN)
        bucket = bucket_row_by_id(conn, org, str(body.bucket_id))
        subprefix = body.subprefix.strip("/")
        if not conn.execute(sa.select(t.virtual_access_policies).where(_key(body, bucket.id))).first():
            conn.execute(
                sa.insert(t.virtual_access_policies).values(
                    bucket_id=bucket.id,
                    subprefix=subprefix,
                    public=body.public,
                    created=now(),
                    created_by=principal.id,
                )
            )
            record(
                conn,
                principal,
                "org.virtual_access_policy.set",
                org=org,
                resource=bucket.nickname,
                detail={"subprefix": subprefix, "public": body.public},
            )
        row = conn.execute(
            sa.select(t.virtual_access_policies, t.buckets)
            .join(t.buckets, t.buckets.c.id == t.virtual_access_policies.c.bucket_id)
            .where(_key(body, bucket.id))
        ).one()
        return _policy(cat, row)


def delete_policy(cat: Catalog, principal: Caller, org_name: str, body: VirtualAccessPolicyBody) -> None:
    """Remove a policy (org admins; removing one that is not there changes nothing)."""
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_ADMIN)
        bucket = bucket_row_by_id(conn, org, str(body.bucket_id))
        gone = conn.execute(sa.delete(t.virtual_access_policies).where(_key(body, bucket.id))).rowcount
        if gone:
            record(
                conn,
                principal,
                "org.virtual_access_policy.delete",
                org=org,
                resource=bucket.nickname,
                detail={"subprefix": body.subprefix.strip("/"), "public": body.public},
            )
