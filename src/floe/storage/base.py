"""What every storage platform provides: a bucket spec, an Icechunk storage, an object-store handle."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import icechunk

from floe.models import TempCredentials
from floe.storage import egress
from floe.storage.egress import EgressPolicy

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def config_bool(key: str, value: str | bool) -> bool:
    """An ``extra_config`` flag given as a bool or a string such as "true"/"no" (from the CLI)."""
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"extra_config.{key} must be true or false, got {value!r}")


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
        values = {
            "platform": self.platform,
            "name": self.name,
            "prefix": self.prefix,
            "extra_config": self.extra_config,
            "auth": self.auth,
        }
        values.update(changes)
        return BucketSpec(**values)


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


class PreconditionFailed(Exception):
    """A conditional write was refused because its condition did not hold (HTTP 412)."""


# What went wrong, for errors an ObjectStore raises (read by the capability probe).
ERROR_KINDS = (
    "unreachable",  # no answer from the endpoint
    "bucket_missing",  # the endpoint answered: no such bucket / container
    "keys_rejected",  # unknown key id, wrong secret, expired token
    "no_credentials",  # from_env: nothing in the server's environment
    "access_denied",  # valid keys without the permission asked for
    "clock_skew",  # the store refused the request's timestamp
    "tls",  # the TLS handshake failed
)

_E = TypeVar("_E", bound=BaseException)


def with_kind(exc: _E, kind: str) -> _E:
    """Tag an error an ObjectStore raises with one of :data:`ERROR_KINDS`; return it."""
    exc.kind = kind  # type: ignore[attr-defined]
    return exc


def error_kind(exc: BaseException) -> str | None:
    """The kind an ObjectStore tagged ``exc`` with, if any."""
    kind = getattr(exc, "kind", None)
    return kind if isinstance(kind, str) else None


# At most this many entries per ``list_dir`` call unless the caller asks for fewer.
MAX_LISTED = 10_000


@dataclass(frozen=True)
class ListedObject:
    """One object found by ``list_dir``: its full key inside the bucket and its size in bytes."""

    key: str
    size: int


@dataclass(frozen=True)
class Listing:
    """What ``ObjectStore.list_dir`` found under a prefix.

    ``prefixes``: the child "folders" (full paths inside the bucket, without the trailing '/'),
    sorted; empty for recursive listings. ``objects``: the objects, sorted by key. ``truncated``:
    there were more entries than the limit, and only the first ones are here.
    """

    prefixes: tuple[str, ...] = ()
    objects: tuple[ListedObject, ...] = ()
    truncated: bool = False


def collect_listing(entries: Iterable[tuple[str, int | None]], limit: int) -> Listing:
    """A :class:`Listing` of at most ``limit`` entries from ``(key, size)`` pairs (size ``None`` for
    a child prefix), consumed lazily: a store's pages are fetched only while they are needed."""
    if limit < 1:
        raise ValueError(f"the listing limit must be at least 1, got {limit}")
    prefixes: list[str] = []
    objects: list[ListedObject] = []
    truncated = False
    for key, size in entries:
        if len(prefixes) + len(objects) >= limit:
            truncated = True
            break
        if size is None:
            prefixes.append(key)
        else:
            objects.append(ListedObject(key, int(size)))
    return Listing(
        prefixes=tuple(sorted(set(prefixes))),
        objects=tuple(sorted(objects, key=lambda o: o.key)),
        truncated=truncated,
    )


def listed_prefix(prefix: str) -> str:
    """What a listing of ``prefix`` asks the store for: ``prefix/``, or '' for the bucket root."""
    return f"{prefix}/" if prefix else ""


class ObjectStore(Protocol):
    """The server's handle on a bucket: enough to probe it and to check, clear and inspect prefixes.

    Keys are full paths inside the bucket. Errors are raised as :mod:`floe.errors` classes
    whose messages say plainly what went wrong (endpoint unreachable, bucket missing, keys
    rejected, no permission, clock skew); tag them with :func:`with_kind` so the capability
    probe (:mod:`floe.storage.probe`) can tell these cases apart without reading messages.
    A store that cannot do a conditional write at all raises ``NotImplementedError``.
    """

    def describe(self) -> str:
        """A human description of the location, free of secrets (for error messages)."""

    def is_empty(self, prefix: str) -> bool:
        """True when nothing is stored under ``prefix``."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; return how many were deleted."""

    def put(self, key: str, data: bytes) -> str:
        """Write an object unconditionally; return its ETag (or version token)."""

    def get(self, key: str) -> bytes:
        """Read an object."""

    def delete(self, key: str) -> None:
        """Delete one object (no error if it is absent)."""

    def put_if_absent(self, key: str, data: bytes) -> str:
        """Create only if absent (``If-None-Match: *``); raise PreconditionFailed if it exists."""

    def put_if_match(self, key: str, data: bytes, etag: str) -> str:
        """Overwrite only if the current ETag is ``etag`` (``If-Match``); raise PreconditionFailed otherwise."""

    def list_dir(self, prefix: str, *, recursive: bool = False, limit: int = MAX_LISTED) -> Listing:
        """What lies directly under ``prefix`` ('' for the bucket root): its child prefixes and its
        objects with their sizes (a delimited listing). With ``recursive``, every object under it at
        any depth, and no prefixes. Pages are read one after another up to ``limit`` entries; the
        listing says ``truncated`` when there were more. Nothing under ``prefix``: an empty listing."""


class PlatformAdapter(Protocol):
    """One family of storage platforms (S3 and its kin, Azure, GCS, a local folder, memory)."""

    platforms: tuple[str, ...]
    auth_methods: tuple[str, ...]
    extra_config_keys: tuple[str, ...]

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        """Check a spec and return it in canonical form; raise ``ValueError`` naming field and fix."""

    def credentials(self, spec: BucketSpec, *, prefix: str | None, read_only: bool) -> TempCredentials | None:
        """Credentials to hand a permitted client (server side): narrowed to ``prefix`` and to
        reading where the platform can express it, short-lived for delegated methods."""

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

    def object_store(self, spec: BucketSpec) -> ObjectStore:
        """A server-side handle on the bucket, using the spec's own auth."""

    def endpoints(self, spec: BucketSpec) -> tuple[tuple[str, str], ...]:
        """``(field, URL)`` of every endpoint the config names that the server would contact."""

    def location(self, spec: BucketSpec) -> Location | None:
        """Where the spec's objects live (``None``: nowhere the server or other orgs can reach)."""
