"""The server's handle on a bucket (:class:`ObjectStore`), its listings and the errors every store raises."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from floe.errors import NotFoundError


class PreconditionFailed(Exception):
    """A conditional write was refused because its condition did not hold (HTTP 412)."""


class ObjectMissing(NotFoundError):
    """No object at the key asked for: what every store's ``get`` raises, whatever the platform."""

    def __init__(self, key: str, where: str) -> None:
        super().__init__(f"no object found while reading {key!r} in {where}")
        self.key = key


# What went wrong, for errors an ObjectStore raises (read by the capability probe):
StoreErrorKind = Literal[
    "unreachable",  # no answer from the endpoint
    "bucket_missing",  # the endpoint answered: no such bucket / container
    "keys_rejected",  # unknown key id, wrong secret, expired token
    "no_credentials",  # from_env: nothing in the server's environment
    "access_denied",  # valid keys without the permission asked for
    "clock_skew",  # the store refused the request's timestamp
    "tls",  # the TLS handshake failed
    "timeout",  # connected, but no answer within the read timeout
]

_E = TypeVar("_E", bound=BaseException)


def with_kind(exc: _E, kind: StoreErrorKind) -> _E:
    """Tag an error an ObjectStore raises with what went wrong; return it."""
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
    A missing key is :class:`ObjectMissing` on every platform. A store that cannot do a
    conditional write at all raises ``NotImplementedError``.
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
        """Read an object; :class:`ObjectMissing` when there is none at ``key``."""

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
