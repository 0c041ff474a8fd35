"""What every storage platform provides: a bucket spec, an Icechunk storage, an object-store handle.

:class:`PlatformAdapter` is the one interface for a family of platforms; everything a caller
outside the adapters needs to know about a platform is an attribute or method here, so that
nothing above the storage package branches on platform names.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import icechunk

from floe.models import TempCredentials
from floe.storage import egress
from floe.storage.egress import EgressPolicy
from floe.storage.objects import (
    MAX_LISTED,
    ListedObject,
    Listing,
    ObjectMissing,
    ObjectStore,
    PreconditionFailed,
    StoreErrorKind,
    collect_listing,
    error_kind,
    listed_prefix,
    with_kind,
)

__all__ = [
    "MAX_LISTED",
    "BucketSpec",
    "ListedObject",
    "Listing",
    "Location",
    "ObjectMissing",
    "ObjectStore",
    "PlatformAdapter",
    "PreconditionFailed",
    "Refresher",
    "StoragePolicy",
    "StoreErrorKind",
    "collect_listing",
    "error_kind",
    "join_prefix",
    "listed_prefix",
    "resolve_cached",
    "with_kind",
]


def join_prefix(*parts: str | None) -> str:
    """Join object-store prefix parts with '/', skipping empty ones."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


@dataclass(frozen=True)
class BucketSpec:
    """A bucket config as the storage layer sees it.

    ``auth`` holds the decrypted auth config on the server; it is ``None`` on clients,
    which receive credentials separately.
    """

    platform: str
    name: str
    prefix: str = ""
    extra_config: Mapping[str, str | bool] = field(default_factory=dict)
    auth: Mapping[str, Any] | None = None

    @property
    def auth_method(self) -> str:
        return str((self.auth or {}).get("method", "anonymous"))

    def with_changes(self, **changes: Any) -> BucketSpec:
        return replace(self, **changes)


@dataclass(frozen=True)
class StoragePolicy:
    """Server-side limits on what bucket configs may point at and where the server may connect.

    ``file_roots`` are the folders ``file`` bucket configs may point inside (on a server, an org's
    own folders). ``egress`` is the outbound-request policy; ``None`` (in clients) checks nothing.
    ``server_credentials``: whether the server may use credentials from its own environment for
    ``from_env`` bucket configs (an operator's choice; clients always use their own).
    """

    file_roots: tuple[Path, ...] = ()
    egress: EgressPolicy | None = None
    server_credentials: bool = True

    def with_file_roots(self, roots: tuple[Path, ...]) -> StoragePolicy:
        return replace(self, file_roots=roots)


@dataclass(frozen=True)
class Location:
    """Where a bucket config (or repo) keeps its objects, comparable across orgs and platforms.

    ``store`` names the namespace (an S3 endpoint, a GCS endpoint, an Azure blob service, the
    server's filesystem) and ``path`` the bucket and prefix inside it, '/'-separated.
    """

    store: str
    path: str
    aliases: frozenset[str] = frozenset()  # the addresses the store's host resolves to

    @classmethod
    def at(cls, kind: str, endpoint: str, path: str) -> Location:
        """The location ``path`` on the store at ``endpoint``. Endpoints that name the same store
        differently (``localhost`` and ``127.0.0.1``, AWS's regional hosts) compare equal."""
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        if host == "amazonaws.com" or host.endswith(".amazonaws.com"):
            return cls(store=f"{kind}:amazonaws.com", path=path)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            port = 0
        where = parts.path.rstrip("/")
        aliases = frozenset(f"{kind}:{address}:{port}{where}" for address in resolve_cached(host, port))
        return cls(store=f"{kind}:{host}:{port}{where}", path=path, aliases=aliases)

    def same_store(self, other: Location) -> bool:
        return self.store == other.store or bool(self.aliases & other.aliases)

    def overlaps(self, other: Location) -> bool:
        """Same store, and one path is the other or contains it."""
        if not self.same_store(other):
            return False
        a, b = self.path.strip("/"), other.path.strip("/")
        return a == b or not a or not b or a.startswith(b + "/") or b.startswith(a + "/")

    def contains(self, other: Location) -> bool:
        """Same store, and ``other`` is this location or inside it."""
        a, b = self.path.strip("/"), other.path.strip("/")
        return self.same_store(other) and (a == b or not a or b.startswith(a + "/"))


_RESOLVED: dict[tuple[str, int], tuple[float, tuple[str, ...]]] = {}


def resolve_cached(host: str, port: int, ttl: float = 60.0) -> tuple[str, ...]:
    """The addresses ``host`` resolves to (none if it does not), remembered for ``ttl`` seconds."""
    now = time.monotonic()
    hit = _RESOLVED.get((host, port))
    if hit is not None and hit[0] > now:
        return hit[1]
    found = tuple(sorted({str(a) for a in egress.resolve(host, port)}))
    if len(_RESOLVED) > 1024:
        _RESOLVED.clear()
    _RESOLVED[(host, port)] = (now + ttl, found)
    return found


Refresher = Callable[[], TempCredentials]


class PlatformAdapter:
    """One family of storage platforms (S3 and its kin, Azure, GCS, a local folder, memory).

    Subclasses implement the methods that raise ``NotImplementedError`` here; the attributes
    and the other methods have defaults that fit an object store in the cloud.
    """

    platforms: tuple[str, ...] = ()
    auth_methods: tuple[str, ...] = ()
    extra_config_keys: tuple[str, ...] = ()
    store_keys: tuple[str, ...] = ()  # the extra_config keys that name the store (not how to reach it)
    server_reachable: bool = True  # False: the storage lives in each client process
    names_nest: bool = False  # True: bucket names are paths, so one can lie inside another
    no_credentials: Mapping[str, str] = {"method": "anonymous"}  # the auth of a spec naming a place only
    virtual_scheme: str | None = None  # URL scheme of virtual chunk containers; None: none possible

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        """Check a spec and return it in canonical form; raise ``ValueError`` naming field and fix."""
        raise NotImplementedError

    def credentials(self, spec: BucketSpec, *, prefix: str | None, read_only: bool) -> TempCredentials | None:
        """Credentials to hand a permitted client (server side): narrowed to ``prefix`` and to
        reading where the platform can express it, short-lived for delegated methods."""
        return None

    def icechunk_storage(
        self,
        spec: BucketSpec,
        prefix: str,
        credentials: TempCredentials | None,
        refresh: Refresher | None = None,
    ) -> icechunk.Storage:
        """The Icechunk storage for ``prefix`` (a full path inside the bucket).

        ``refresh`` (when the credentials expire) is called by Icechunk for new ones.
        """
        raise NotImplementedError

    def object_store(self, spec: BucketSpec) -> ObjectStore:
        """A server-side handle on the bucket, using the spec's own auth."""
        raise NotImplementedError

    def read_only_store(self, spec: BucketSpec) -> ObjectStore | None:
        """A handle using the spec's read-only key pair, where it has one (for the probe)."""
        return None

    def endpoints(self, spec: BucketSpec) -> tuple[tuple[str, str], ...]:
        """``(field, URL)`` of every endpoint the config names that the server would contact."""
        return ()

    def location(self, spec: BucketSpec) -> Location | None:
        """Where the spec's objects live (``None``: nowhere the server or other orgs can reach)."""
        return None

    def location_root(self, spec: BucketSpec) -> Path | None:
        """The folder of the server's filesystem a location grants (``file``); ``None`` elsewhere."""
        return None

    def location_only(self, platform: str, name: str, prefix: str, extra: Mapping[str, Any]) -> BucketSpec:
        """A spec that names a place and holds no credentials (a shared location), to normalize."""
        return BucketSpec(platform, name, prefix, dict(extra), dict(self.no_credentials))

    def store_settings(self, spec: BucketSpec) -> dict[str, Any]:
        """The spec's extra_config settings that name its store (:attr:`store_keys`)."""
        return {k: v for k, v in spec.extra_config.items() if k in self.store_keys}

    # --- virtual chunk containers ---

    def virtual_url(self, spec: BucketSpec) -> str:
        """The URL prefix of everything a bucket config covers, e.g. ``s3://bucket/prefix/``."""
        if self.virtual_scheme is None:
            raise ValueError(f"platform {spec.platform!r} cannot hold virtual chunks")
        return f"{self.virtual_scheme}://{join_prefix(spec.name, spec.prefix)}/"

    def virtual_store(self, spec: BucketSpec) -> Any:
        """The ``icechunk.ObjectStoreConfig`` that reaches this bucket config's store."""
        raise ValueError(f"platform {spec.platform!r} cannot hold virtual chunks")

    def virtual_credentials(self, auth_method: str, creds: TempCredentials | None) -> object | None:
        """Catalog-vended credentials in the form ``icechunk.containers_credentials`` takes."""
        return None
