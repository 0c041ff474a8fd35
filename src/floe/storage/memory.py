"""In-memory storage (``memory`` platform): lives in the client process only, for tests and demos."""

from __future__ import annotations

import threading

import icechunk

from floe.models import TempCredentials
from floe.storage.base import (
    MAX_LISTED,
    BucketSpec,
    Listing,
    ObjectStore,
    PlatformAdapter,
    Refresher,
    StoragePolicy,
)

_STORES: dict[tuple[str, str], icechunk.Storage] = {}
_LOCK = threading.Lock()


class MemoryAdapter(PlatformAdapter):
    """``memory://NAME`` bucket configs: every repo is an Icechunk in-memory store of this process.

    Repos opened again in the same process see the same store; another process (or a
    restart) sees an empty one. The server never touches memory storage.
    """

    platforms = ("memory",)
    auth_methods = ("none",)
    extra_config_keys: tuple[str, ...] = ()
    server_reachable = False
    no_credentials = {"method": "none"}

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        if spec.extra_config:
            raise ValueError("platform memory takes no extra_config")
        if (spec.auth or {}).get("method", "none") not in ("none", "anonymous"):
            raise ValueError("platform memory takes no credentials: drop auth_config")
        return spec.with_changes(auth={"method": "none"})

    # location() is None: each client process has its own memory, nothing to share or overlap

    def icechunk_storage(
        self,
        spec: BucketSpec,
        prefix: str,
        credentials: TempCredentials | None,
        refresh: Refresher | None = None,
    ) -> icechunk.Storage:
        with _LOCK:
            key = (spec.name, prefix)
            if key not in _STORES:
                _STORES[key] = icechunk.in_memory_storage()
            return _STORES[key]

    def object_store(self, spec: BucketSpec) -> ObjectStore:
        return ClientOnlyStore()


class ClientOnlyStore:
    """What the server sees of memory storage: nothing. Prefixes are always empty; deletes
    remove nothing (the data goes with the client process); probes are refused."""

    def describe(self) -> str:
        return "in-memory storage of the client process"

    def is_empty(self, prefix: str) -> bool:
        return True

    def delete_prefix(self, prefix: str) -> int:
        return 0

    def list_dir(self, prefix: str, *, recursive: bool = False, limit: int = MAX_LISTED) -> Listing:
        return Listing()

    def _refuse(self, *args: object) -> str:
        raise ValueError("memory storage lives in the client process only: the server cannot reach it")

    put = get = delete = put_if_absent = put_if_match = _refuse
