"""The server's own read-only look inside a repo, for the web app's pages.

The web app shows history, trees and previews without handing anyone credentials: the server opens
the repository itself with the bucket config's read-only keys where it has them, after the same
permission check as ``open`` (and the same egress rules). Opened repositories are kept for a short
while so that clicking through pages does not reopen storage each time; refs are read afresh on
every call, so a new commit shows at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

import icechunk
import sqlalchemy as sa

from floe.errors import ConflictError, FloeError, RepoUnavailableError, StorageError
from floe.models import Repo, RepoMode
from floe.server.auth import Action, Caller
from floe.server.catalog.base import Catalog, bucket_model, bucket_spec, org_and_repo, repo_model
from floe.server.db import tables as t
from floe.storage import check_endpoints, icechunk_storage, reading_credentials, server_may_connect
from floe.storage.probe import icechunk_config_for

CACHE_SECONDS = 60.0
CACHE_SIZE = 64

_cache: OrderedDict[tuple[Any, ...], tuple[float, icechunk.Repository]] = OrderedDict()
_lock = threading.Lock()


def _cached(key: tuple[Any, ...]) -> icechunk.Repository | None:
    with _lock:
        found = _cache.get(key)
        if found is None or time.monotonic() - found[0] > CACHE_SECONDS:
            _cache.pop(key, None)
            return None
        _cache.move_to_end(key)
        return found[1]


def _keep(key: tuple[Any, ...], repo: icechunk.Repository) -> None:
    with _lock:
        _cache[key] = (time.monotonic(), repo)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def open_repository(
    cat: Catalog, principal: Caller, org_name: str, name: str
) -> tuple[Repo, icechunk.Repository]:
    """The catalog entry of ``org_name/name`` and the Icechunk repository, opened by the server for
    reading. Needs read permission (role or grant); 423 when offline; 409 when this server may not
    reach the storage itself (``from_env`` credentials without the operator's consent)."""
    with cat.read() as conn:
        org, row = org_and_repo(conn, principal, org_name, name, Action.REPO_READ)
        bucket = conn.execute(sa.select(t.buckets).where(t.buckets.c.id == row.bucket_id)).one()
        entry = repo_model(row, org.name, bucket_model(bucket, org.default_bucket_id))
    if row.status_mode == RepoMode.offline.value:
        raise RepoUnavailableError(
            f"repo {org_name}/{name} is offline ({row.status_message or 'no reason given'}); try again later"
        )
    spec = bucket_spec(cat.box, bucket)
    why_not = server_may_connect(spec, cat.policy)
    if why_not is not None:
        raise ConflictError(f"this server does not read repo {org_name}/{name} itself: {why_not}")
    key = (row.id, row.prefix, bucket.id, bucket.updated)
    repo = _cached(key)
    if repo is None:
        check_endpoints(spec, cat.policy)
        credentials, _ = reading_credentials(spec, prefix=row.prefix, policy=cat.policy)
        storage = icechunk_storage(spec, row.prefix, credentials)
        try:
            repo = icechunk.Repository.open(storage, config=icechunk_config_for(bucket.capabilities, None))
        except FloeError:
            raise
        except (icechunk.IcechunkError, OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise StorageError(f"opening repo {org_name}/{name} in its storage failed: {first}") from None
        _keep(key, repo)
    return entry, repo
