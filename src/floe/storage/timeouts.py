"""How long the server waits for object stores, STS and token services: one setting for every call.

Every outbound storage, STS and token request the server makes uses these connect and read
timeouts (``floe serve`` sets them from ``FLOE_STORAGE_CONNECT_TIMEOUT`` and
``FLOE_STORAGE_READ_TIMEOUT``). A store that accepts connections and never answers then fails
the request with :func:`no_answer`'s message instead of holding a worker forever.
"""

from __future__ import annotations

from dataclasses import dataclass

from floe.errors import StorageError
from floe.storage.objects import with_kind

DEFAULT_CONNECT = 10.0
DEFAULT_READ = 30.0


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection, and for each answer (or each read of one) after it."""

    connect: float = DEFAULT_CONNECT
    read: float = DEFAULT_READ


_current = Timeouts()


def current() -> Timeouts:
    """The timeouts outbound storage calls use now."""
    return _current


def configure(connect: float = DEFAULT_CONNECT, read: float = DEFAULT_READ) -> Timeouts:
    """Set the timeouts of this process's outbound storage calls (``create_app`` does it)."""
    global _current
    if connect <= 0 or read <= 0:
        raise ValueError(f"storage timeouts must be positive, got connect={connect}, read={read}")
    _current = Timeouts(connect=connect, read=read)
    return _current


def no_answer(where: str, doing: str) -> StorageError:
    """The error for a store that took longer than the read timeout to answer (kind ``timeout``)."""
    return with_kind(
        StorageError(
            f"the storage endpoint did not answer within {_current.read:g} s while {doing} on {where}: "
            "check endpoint_url, and that the store is up and answering"
        ),
        "timeout",
    )
