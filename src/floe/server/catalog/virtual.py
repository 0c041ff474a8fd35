"""Virtual chunk containers of a repo: URL prefixes served by the org's bucket configs."""

from __future__ import annotations

import sqlalchemy as sa

from floe.errors import ValidationError
from floe.models import VirtualContainerAccess
from floe.server.auth import Action, Caller
from floe.server.catalog.audit import record
from floe.server.catalog.base import (
    Catalog,
    bucket_model,
    bucket_row_by_nickname,
    bucket_spec,
    now,
    org_and_repo,
)
from floe.server.db import tables as t
from floe.storage import ReaderKeysMissing, credentials_for
from floe.storage.virtual import check_url_prefix


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
