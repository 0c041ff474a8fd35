"""Two-phase repo creation: entries still being created, and the reaper that finishes or removes them.

A repo's ``state`` is ``ready``, ``creating`` (the server is creating its Icechunk repo,
``create_mode=create``) or ``registered`` (its creator is creating it client-side, the default
``create_mode=register``). An entry that is not ready is never opened nor vended credentials,
except that the creator of a ``registered`` entry may open it (to create the Icechunk repo). An
entry becomes ready when the server sees the Icechunk repo at its prefix: at the end of a
server-side creation, when the client confirms (``POST /repos/{org}/{repo}/created``), when someone
else opens it, or when the reaper finds it. The reaper removes stale entries without an Icechunk
repo, and deletes the objects under the prefix only for ``creating`` entries (the server made them
there, in a prefix that was empty when the entry was inserted); of a ``registered`` one only an empty
folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import icechunk
import sqlalchemy as sa

from floe.errors import ConflictError, FloeError, NotFoundError, RepoUnavailableError, StorageError
from floe.server.auth import Action, Caller
from floe.server.catalog.base import Catalog, bucket_spec, now, org_and_repo, storage_call
from floe.server.db import tables as t
from floe.storage import (
    icechunk_storage,
    object_store,
    reading_credentials,
    server_may_connect,
    server_reachable,
)

READY = "ready"
CREATING = "creating"
REGISTERED = "registered"

_log = logging.getLogger("floe.creation")


def icechunk_repo_exists(cat: Catalog, bucket: Any, prefix: str) -> bool | None:
    """Whether an Icechunk repo exists at ``prefix`` of a bucket config; None when the server may not
    look (``from_env`` without the operator's consent) or cannot (memory lives in the client process:
    the server's own memory is another, empty, store)."""
    spec = bucket_spec(cat.box, bucket)
    if server_may_connect(spec, cat.policy) is not None or not server_reachable(spec):
        return None
    creds, _ = reading_credentials(spec, prefix=prefix, policy=cat.policy)
    storage = icechunk_storage(spec, prefix, creds)
    what = f"looking for an Icechunk repo at {spec.platform}://{spec.name}/{prefix}"
    try:
        return bool(storage_call(what, icechunk.Repository.exists, storage))
    except FloeError:
        raise
    except BaseException as exc:  # Icechunk panics (a BaseException) where it cannot even list
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        raise StorageError(f"{what} failed: {str(exc).splitlines()[0][:300]}") from None


def mark_ready(cat: Catalog, repo_id: str) -> bool:
    """Mark an entry ready; False when it is gone (removed meanwhile)."""
    with cat.tx() as conn:
        done = conn.execute(
            sa.update(t.repos).where(t.repos.c.id == repo_id).values(state=READY, updated=now())
        )
        return done.rowcount > 0


def remove_entry(cat: Catalog, repo_id: str, state: str) -> None:
    """Remove an entry that is not ready (never one that became ready meanwhile)."""
    with cat.tx() as conn:
        conn.execute(sa.delete(t.repos).where(t.repos.c.id == repo_id, t.repos.c.state == state))


def check_openable(cat: Catalog, principal: Caller, repo: Any, bucket: Any, full_name: str) -> str:
    """Raise 409 unless the entry may be opened (and credentials vended for it) by ``principal``;
    the entry's state after the check.

    A ``registered`` entry becomes ready here once its Icechunk repo exists; until then only its
    creator may open it, to create the Icechunk repo.
    """
    if repo.state == READY:
        return READY
    if repo.state == REGISTERED:
        if repo.created_by == principal.id:
            return REGISTERED  # its creator, who opens it to create the Icechunk repo
        exists = icechunk_repo_exists(cat, bucket, repo.prefix)
        if exists or exists is None:
            mark_ready(cat, repo.id)
            return READY
        raise ConflictError(
            f"repo {full_name} is registered but its creator has not created the Icechunk repo yet; "
            "try again once `floe repo create` (or Client.create_repo) has finished"
        )
    raise RepoUnavailableError(f"repo {full_name} is still being created; try again in a moment")


def confirm_created(cat: Catalog, principal: Caller, org_name: str, name: str) -> None:
    """The creator's confirmation that the Icechunk repo of a registered entry exists: mark it ready."""
    with cat.read() as conn:
        _org, row = org_and_repo(conn, principal, org_name, name, Action.REPO_WRITE)
        bucket = conn.execute(sa.select(t.buckets).where(t.buckets.c.id == row.bucket_id)).one()
    if row.state == READY:
        return
    if row.state == CREATING:
        raise ConflictError(
            f"repo {org_name}/{name} is being created by the server; it is ready when that ends"
        )
    if icechunk_repo_exists(cat, bucket, row.prefix) is False:
        raise NotFoundError(
            f"no Icechunk repo at the prefix of {org_name}/{name} yet; create it first (Client.create_repo)"
        )
    mark_ready(cat, row.id)


@dataclass
class Reaped:
    """What the reaper did with one stale entry."""

    name: str
    outcome: str  # "ready" | "removed"
    objects_deleted: int = 0


def reap_stale(cat: Catalog, older_than_seconds: float) -> list[Reaped]:
    """Finish or remove entries that have not been ready for ``older_than_seconds``.

    With an Icechunk repo at the prefix the entry becomes ready; without, it is removed, and for a
    server-side creation (``creating``) so are the objects the server wrote under its prefix (for a
    client-side one only an empty folder: what the client wrote is left alone).
    """
    cutoff = now() - timedelta(seconds=older_than_seconds)
    with cat.read() as conn:
        rows = conn.execute(
            sa.select(t.repos, t.orgs.c.name.label("org_name"))
            .join(t.orgs, t.orgs.c.id == t.repos.c.org_id)
            .where(t.repos.c.state != READY, t.repos.c.created < cutoff)
        ).all()
        buckets = {
            b.id: b
            for b in conn.execute(
                sa.select(t.buckets).where(t.buckets.c.id.in_({r.bucket_id for r in rows}))
            ).all()
        }
    done = []
    for row in rows:
        full_name = f"{row.org_name}/{row.name}"
        try:
            done.append(_reap_one(cat, row, buckets[row.bucket_id], full_name))
        except FloeError as exc:  # storage unreachable: leave the entry for the next round
            _log.warning("could not finish or remove %s (still being created): %s", full_name, exc.message)
    return done


def _reap_one(cat: Catalog, row: Any, bucket: Any, full_name: str) -> Reaped:
    exists = icechunk_repo_exists(cat, bucket, row.prefix)
    if exists or exists is None:
        mark_ready(cat, row.id)
        return Reaped(full_name, "ready")
    store = object_store(bucket_spec(cat.box, bucket), cat.policy)
    deleted = 0
    if row.state == CREATING:
        deleted = storage_call(f"removing what was created for {full_name}", store.delete_prefix, row.prefix)
    elif storage_call(f"checking the prefix of {full_name}", store.is_empty, row.prefix):
        store.delete_prefix(row.prefix)  # only an empty folder (local storage): nothing anyone wrote
    remove_entry(cat, row.id, row.state)
    return Reaped(full_name, "removed", deleted or 0)
