"""The trash: a deleted repo leaves the catalog's listings but keeps its objects until purged.

Deleting a repo (through any client) moves its entry here in one transaction: it cannot be
opened or listed, its location stays reserved (no other repo may be created over it), and its
grants and virtual chunk containers are kept so that a restore gives back the same repo. The
objects are deleted only by a purge: a person's (:func:`purge`) or the expiry job's
(:func:`purge_expired`) once the org's retention period has passed. A moved repo's old
location is trashed the same way (reason ``moved``), so a move can be undone too.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from floe.errors import ConflictError, FloeError, NotFoundError
from floe.models import Repo, RepoMode
from floe.models.recovery import PurgeResult, TrashedRepo
from floe.server.auth import Action, Caller, decide
from floe.server.catalog.audit import record
from floe.server.catalog.base import (
    Catalog,
    authorize,
    aware,
    bucket_model,
    bucket_spec,
    now,
    org_row,
    repo_model,
    storage_call,
    write_metadata,
)
from floe.server.db import tables as t
from floe.storage import ServerCredentialsOff, object_store

log = logging.getLogger("floe.trash")


def _retention(org: Any, default_days: float) -> timedelta:
    """How long the org's trash keeps objects: its own setting, else the server's default."""
    return timedelta(days=org.trash_retention_days if org.trash_retention_days is not None else default_days)


def put_in_trash(
    cat: Catalog, conn: sa.Connection, principal: Caller | None, org: Any, repo: Any, *, reason: str
) -> str:
    """Record ``repo``'s current location and description in the trash; returns the entry id.

    The repos row is left as it is: deleting calls :func:`trash_repo`, which removes it too; a move
    points it at its new location afterwards, in the same transaction.
    """
    grants = [
        {"principal_id": g.principal_id, "principal_kind": g.principal_kind, "level": g.level}
        for g in conn.execute(sa.select(t.repo_grants).where(t.repo_grants.c.repo_id == repo.id))
    ]
    containers = [
        {"url_prefix": c.url_prefix, "bucket_id": c.bucket_id}
        for c in conn.execute(
            sa.select(t.virtual_containers).where(t.virtual_containers.c.repo_id == repo.id)
        )
    ]
    org_full = conn.execute(sa.select(t.orgs).where(t.orgs.c.id == org.id)).one()
    stamp = now()
    entry_id = secrets.token_hex(12)
    conn.execute(
        sa.insert(t.trashed_repos).values(
            id=entry_id,
            org_id=org.id,
            repo_id=repo.id,
            name=repo.name,
            bucket_id=repo.bucket_id,
            prefix=repo.prefix,
            reason=reason,
            description=repo.description,
            metadata=repo.metadata,
            grants=grants,
            containers=containers,
            created=repo.created,
            created_by=repo.created_by,
            trashed=stamp,
            trashed_by=principal.id if principal else None,
            trashed_by_name=principal.label if principal else None,
            purge_after=stamp + _retention(org_full, cat.trash_retention_days),
        )
    )
    return entry_id


def trash_repo(cat: Catalog, conn: sa.Connection, principal: Caller, org: Any, repo: Any) -> str:
    """Move a repo to the trash (inside the caller's transaction): out of the catalog, objects kept."""
    entry_id = put_in_trash(cat, conn, principal, org, repo, reason="deleted")
    conn.execute(sa.delete(t.repos).where(t.repos.c.id == repo.id))
    return entry_id


# --- listing ----------------------------------------------------------------------------------


def _entry_model(row: Any, org_name: str, nickname: str) -> TrashedRepo:
    return TrashedRepo(
        id=row.id,
        org=org_name,
        name=row.name,
        reason=row.reason,
        bucket_nickname=nickname,
        prefix=row.prefix,
        description=row.description,
        metadata=row.metadata,
        created=aware(row.created),
        trashed=aware(row.trashed),
        trashed_by=row.trashed_by_name,
        purge_after=aware(row.purge_after),
    )


def _entries_query(org_id: str) -> sa.Select:
    return (
        sa.select(t.trashed_repos, t.buckets.c.nickname.label("bucket_nickname"))
        .join(t.buckets, t.buckets.c.id == t.trashed_repos.c.bucket_id)
        .where(t.trashed_repos.c.org_id == org_id)
        .order_by(t.trashed_repos.c.trashed.desc(), t.trashed_repos.c.id)
    )


def list_trash(cat: Catalog, principal: Caller, org_name: str) -> list[TrashedRepo]:
    """The org's trash, newest first (members and above: whoever may create repos)."""
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.REPO_WRITE)
        rows = conn.execute(_entries_query(org.id)).all()
        return [_entry_model(r, org.name, r.bucket_nickname) for r in rows]


def _entry(conn: sa.Connection, org: Any, entry_id: str) -> Any:
    row = conn.execute(
        _entries_query(org.id).where(t.trashed_repos.c.id == entry_id).with_for_update(of=t.trashed_repos)
    ).first()
    if row is None:
        raise NotFoundError(
            f"nothing with id {entry_id!r} in the trash of org {org.name!r}; `floe repo trash {org.name}` lists it"
        )
    return row


def _may_restore(principal: Caller, org: Any, entry: Any) -> None:
    """Repo admins of the org, and whoever deleted (or created) the repo while still a member."""
    if decide(principal, Action.REPO_ADMIN, org.id):
        return
    own = principal.id in (entry.trashed_by, entry.created_by)
    authorize(principal, Action.REPO_WRITE if own else Action.REPO_ADMIN, org)


# --- restore ----------------------------------------------------------------------------------


def restore(
    cat: Catalog, principal: Caller, org_name: str, entry_id: str, *, name: str | None = None
) -> Repo:
    """Give a trashed repo back (same id, history, grants, metadata), under its name or ``name``."""
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.REPO_WRITE)
        entry = _entry(conn, org, entry_id)
        _may_restore(principal, org, entry)
        new_name = name or entry.name
        taken = conn.execute(
            sa.select(t.repos.c.id).where(t.repos.c.org_id == org.id, t.repos.c.name == new_name)
        ).first()
        if taken:
            raise ConflictError(
                f"repo {org.name}/{new_name} exists: restore under another name "
                f"(`floe repo restore {org.name}/{entry.name} --as NEW_NAME`)"
            )
        id_taken = conn.execute(sa.select(t.repos.c.id).where(t.repos.c.id == entry.repo_id)).first()
        repo_id = secrets.token_hex(12) if id_taken else entry.repo_id
        conn.execute(sa.delete(t.trashed_repos).where(t.trashed_repos.c.id == entry.id))
        stamp = now()
        conn.execute(
            sa.insert(t.repos).values(
                id=repo_id,
                org_id=org.id,
                name=new_name,
                bucket_id=entry.bucket_id,
                prefix=entry.prefix,
                kind="icechunk",
                description=entry.description,
                metadata=entry.metadata,
                status_mode=RepoMode.online.value,
                status_initiated_by={},
                created=entry.created,
                updated=stamp,
                created_by=entry.created_by,
            )
        )
        write_metadata(conn, org.id, repo_id, entry.metadata)
        for grant in entry.grants or []:
            conn.execute(sa.insert(t.repo_grants).values(repo_id=repo_id, created=stamp, **grant))
        buckets = set(conn.execute(sa.select(t.buckets.c.id).where(t.buckets.c.org_id == org.id)).scalars())
        dropped = []
        for container in entry.containers or []:
            if container["bucket_id"] in buckets:
                conn.execute(
                    sa.insert(t.virtual_containers).values(
                        repo_id=repo_id, created=stamp, created_by=principal.id, **container
                    )
                )
            else:
                dropped.append(container["url_prefix"])
        record(
            conn,
            principal,
            "repo.restore",
            org=org,
            resource=f"{org.name}/{new_name}",
            detail={"trash_id": entry.id, "from_name": entry.name, "containers_dropped": dropped},
        )
        row = conn.execute(sa.select(t.repos).where(t.repos.c.id == repo_id)).one()
        bucket = conn.execute(sa.select(t.buckets).where(t.buckets.c.id == entry.bucket_id)).one()
        return repo_model(row, org.name, bucket_model(bucket, org.default_bucket_id))


# --- purge ------------------------------------------------------------------------------------


def _delete_objects(cat: Catalog, bucket: Any, prefix: str, what: str) -> int:
    spec = bucket_spec(cat.box, bucket)
    try:
        store = object_store(spec, cat.policy)
    except ServerCredentialsOff as exc:
        raise ServerCredentialsOff(
            f"cannot delete the objects of {what}: {exc.message}; remove them yourself, then purge with "
            "keep_data (`floe repo purge ... --keep-data`) to forget the entry"
        ) from None
    where = f"{spec.platform}://{spec.name}/{prefix}"
    return storage_call(f"deleting the objects of {what} at {where}", store.delete_prefix, prefix)


def purge(
    cat: Catalog, principal: Caller | None, org_name: str, entry_id: str, *, keep_data: bool = False
) -> PurgeResult:
    """Delete a trashed repo's objects (unless ``keep_data``), then its entry: this cannot be undone.

    Org repo admins only (``principal`` None: the expiry job). If deleting fails the entry stays,
    so a purge can be retried and no objects are orphaned.
    """
    with cat.read() as conn:
        if principal is None:
            org = conn.execute(sa.select(t.orgs).where(t.orgs.c.name == org_name)).one()
        else:
            org = org_row(conn, principal, org_name, Action.REPO_ADMIN)
        entry = _entry(conn, org, entry_id)
        bucket = conn.execute(sa.select(t.buckets).where(t.buckets.c.id == entry.bucket_id)).one()
    deleted = 0
    if not keep_data:
        deleted = _delete_objects(cat, bucket, entry.prefix, f"{org.name}/{entry.name} (in the trash)")
    with cat.tx() as conn:
        gone = conn.execute(sa.delete(t.trashed_repos).where(t.trashed_repos.c.id == entry.id)).rowcount
        if gone:
            record(
                conn,
                principal,
                "repo.purge",
                org=org,
                resource=f"{org.name}/{entry.name}",
                detail={
                    "trash_id": entry.id,
                    "objects_deleted": deleted,
                    "keep_data": keep_data,
                    "expired": principal is None,
                },
            )
    return PurgeResult(id=entry.id, name=entry.name, objects_deleted=deleted, keep_data=keep_data)


def purge_expired(cat: Catalog, *, limit: int = 100) -> list[PurgeResult]:
    """Purge every trash entry whose retention has passed (the server runs this periodically)."""
    with cat.read() as conn:
        due = conn.execute(
            sa.select(t.trashed_repos.c.id, t.orgs.c.name.label("org_name"))
            .join(t.orgs, t.orgs.c.id == t.trashed_repos.c.org_id)
            .where(t.trashed_repos.c.purge_after <= now())
            .order_by(t.trashed_repos.c.purge_after)
            .limit(limit)
        ).all()
    done = []
    for row in due:
        try:
            done.append(purge(cat, None, row.org_name, row.id))
        except NotFoundError:
            continue  # another process purged it meanwhile
        except FloeError as exc:
            log.warning("could not purge trash entry %s of org %s: %s", row.id, row.org_name, exc.message)
    return done


def trash_usage(conn: sa.Connection, *, bucket_id: str | None = None, org_id: str | None = None) -> list[str]:
    """Names of trashed repos in a bucket config or an org (which keep it from being deleted)."""
    query = sa.select(t.trashed_repos.c.name).order_by(t.trashed_repos.c.name)
    if bucket_id is not None:
        query = query.where(t.trashed_repos.c.bucket_id == bucket_id)
    if org_id is not None:
        query = query.where(t.trashed_repos.c.org_id == org_id)
    return list(conn.execute(query).scalars())
