"""The datasets a service serves: a group of a repo at a ref, opened with xarray, kept open a while.

Each service (deployment) keeps its own cache keyed by (repo id, ref, group): an entry lives
``store_cache_ttl`` seconds (so a new commit on a branch is served within that time) and at most
``store_cache_size`` entries are kept, the least recently used going first. A snapshot id never
changes what it names, so it is kept at least ``SNAPSHOT_TTL`` seconds. When an entry expires and
the ref still points at the same snapshot, the open dataset is kept rather than reopened.

Every opened dataset has an id naming its content (repo, snapshot, group): the xpublish apps see
only that id, so whatever they cache under it stays right for as long as they keep it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import icechunk
import zarr

from floe import inspection
from floe.errors import NotFoundError, StorageError
from floe.server.auth import Caller
from floe.server.catalog import Catalog
from floe.server.catalog.contents import open_repository
from floe.server.catalog.services import Deployment

if TYPE_CHECKING:
    import xarray as xr

SNAPSHOT_TTL = 3600.0  # seconds a dataset opened by snapshot id is kept, at least
DEFAULT_TTL = 60
DEFAULT_SIZE = 10
_LOCKS = 64  # striped locks: one dataset is opened once at a time, not once per waiting request
DATASET_ID_ATTR = "_xpublish_id"  # xpublish's name for the dataset id attribute


@dataclass(frozen=True)
class Opened:
    """A dataset ready to serve."""

    id: str  # names the content: repo, snapshot and group
    dataset: xr.Dataset
    repo: str
    ref: str
    snapshot_id: str
    group: str  # "/" for the root, "/a/b" for a subgroup


Key = tuple[str, str, str]  # (repo id, ref, group)


class DatasetCache:
    """The open datasets of every service of this process, per service."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, OrderedDict[Key, tuple[float, Opened]]] = {}
        self._opening = [threading.Lock() for _ in range(_LOCKS)]

    def get(self, deployment_id: str, key: Key) -> Opened | None:
        with self._lock:
            entries = self._entries.get(deployment_id)
            found = entries.get(key) if entries is not None else None
            if found is None:
                return None
            if found[0] < time.monotonic():
                return None  # kept until the next put: same_content may still reuse it
            entries.move_to_end(key)  # type: ignore[union-attr]
            return found[1]

    def same_content(self, deployment_id: str, dataset_id: str) -> Opened | None:
        """A dataset this service has open (perhaps under another ref, perhaps expired) with this
        content: the same snapshot and group, so it can be served again as it is."""
        with self._lock:
            for _, opened in (self._entries.get(deployment_id) or {}).values():
                if opened.id == dataset_id:
                    return opened
        return None

    def put(self, deployment_id: str, key: Key, opened: Opened, *, ttl: float, size: int) -> None:
        if ttl <= 0:
            return
        now = time.monotonic()
        with self._lock:
            for other in list(self._entries):  # drop what expired, for every service (gone ones too)
                entries = self._entries[other]
                for stale in [k for k, (expires, _) in entries.items() if expires < now]:
                    del entries[stale]
                if not entries and other != deployment_id:
                    del self._entries[other]
            entries = self._entries.setdefault(deployment_id, OrderedDict())
            entries[key] = (now + ttl, opened)
            entries.move_to_end(key)
            while len(entries) > max(1, size):
                entries.popitem(last=False)

    def opening_lock(self, deployment_id: str, key: Key) -> threading.Lock:
        return self._opening[hash((deployment_id, *key)) % _LOCKS]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CACHE = DatasetCache()


def content_id(repo_id: str, snapshot_id: str, group: str) -> str:
    """The dataset id xpublish sees: one path segment, the same for the same content."""
    digest = hashlib.sha256(f"{repo_id}\0{snapshot_id}\0{group}".encode()).hexdigest()[:16]
    return f"{snapshot_id}-{digest}"


def _first_line(exc: BaseException) -> str:
    return inspection.describe_error(exc)


def _open(
    repository: icechunk.Repository,
    repo: str,
    target: inspection.Ref,
    group: str,
    dataset_id: str,
    chunks: dict[str, Any] | None,
) -> xr.Dataset:
    try:
        session = repository.readonly_session(snapshot_id=target.snapshot_id)
    except icechunk.IcechunkError as exc:
        raise StorageError(f"opening {repo}@{target.name} failed: {_first_line(exc)}") from None
    where = f"{repo}@{target.name}"
    try:
        node = zarr.open(session.store, path=group.lstrip("/"), mode="r")
    except FileNotFoundError:  # zarr's NodeNotFoundError is one
        raise NotFoundError(f"no group {group!r} in {where}") from None
    if not isinstance(node, zarr.Group):
        raise NotFoundError(f"{group!r} in {where} is an array, not a dataset: give the group that holds it")
    if not any(True for _ in node.array_keys()):
        raise NotFoundError(
            f"group {group!r} in {where} holds no arrays, so it is not a dataset "
            f"(the service's _meta/discovery/{repo}/{target.name} lists the datasets)"
        )
    import xarray as xr  # loaded by the first dataset a service opens, not when the server starts

    try:
        dataset = xr.open_zarr(
            session.store, group=group.lstrip("/") or None, consolidated=False, chunks=chunks
        )
    except icechunk.IcechunkError as exc:
        raise StorageError(f"reading {group!r} in {where} failed: {_first_line(exc)}") from None
    except Exception as exc:  # xarray says why a group is no dataset in many ways
        raise NotFoundError(
            f"group {group!r} in {where} is not a dataset xarray can open: {_first_line(exc)}"
        ) from None
    dataset.attrs[DATASET_ID_ATTR] = dataset_id
    return dataset


def dataset_for(
    cat: Catalog,
    deployment: Deployment,
    principal: Caller,
    repo: str,
    ref: str,
    group: str,
    *,
    chunks: dict[str, Any] | None,
    cache: DatasetCache = CACHE,
) -> Opened:
    """The dataset at ``group`` of ``repo`` at ``ref``, as this service serves it (blocking).

    The repo is opened for ``principal`` (the permission check, offline repos refused) on every call;
    the dataset comes from the service's cache when it is there."""
    entry, repository = open_repository(cat, principal, deployment.org, repo)
    group = inspection.normalize_path(group)
    key: Key = (entry.id, ref, group)
    found = cache.get(deployment.id, key)
    if found is not None:
        return found
    with cache.opening_lock(deployment.id, key):
        found = cache.get(deployment.id, key)
        if found is not None:
            return found
        try:
            target = inspection.resolve(repository, ref)
        except icechunk.IcechunkError as exc:
            raise StorageError(f"reading the refs of {repo} failed: {_first_line(exc)}") from None
        dataset_id = content_id(entry.id, target.snapshot_id, group)
        opened = cache.same_content(deployment.id, dataset_id)
        if opened is None:
            dataset = _open(repository, repo, target, group, dataset_id, chunks)
            opened = Opened(dataset_id, dataset, repo, ref, target.snapshot_id, group)
        config = deployment.config
        ttl = float(DEFAULT_TTL if config.store_cache_ttl is None else config.store_cache_ttl)
        if target.kind == "snapshot":
            ttl = max(ttl, SNAPSHOT_TTL)
        size = DEFAULT_SIZE if config.store_cache_size is None else config.store_cache_size
        cache.put(deployment.id, key, opened, ttl=ttl, size=size)
        return opened
