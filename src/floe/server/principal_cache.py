"""Callers by token, remembered for at most a second, so that a burst of requests with one token
costs one database lookup (and no thread-pool hop) instead of one each.

The bound is the point: a token revoked, a session ended, an account disabled or a role changed
in any server process is honoured by every process within ``ttl`` seconds, because no entry is
used once it is older than that. The age counts from before the database was read, so an entry
can never describe the catalog as it was more than ``ttl`` seconds ago. In the process that made
a change, the change counts at once: every request that may write (any method but GET, HEAD and
OPTIONS) empties the cache when it is answered (:func:`forget_after`). Refusals are not
remembered. Keys are SHA-256 digests of the tokens, never the tokens.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from floe.server.aged_cache import AgedCache
from floe.server.auth import Caller

DEFAULT_TTL = 1.0
DEFAULT_MAX_ENTRIES = 10_000


class PrincipalCache(AgedCache[str, Caller]):
    """A bounded map of token digest -> (Caller, when the lookup began), each entry good for ``ttl`` s."""

    what = "principal cache"

    def __init__(self, ttl: float = DEFAULT_TTL, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        super().__init__(ttl, max_entries)

    @staticmethod
    def key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, key: str) -> Caller | None:
        """The caller looked up less than ``ttl`` seconds ago, or None."""
        entry = self.get_entry(key)
        return entry[0] if entry is not None else None

    def lookup(self, key: str, load: Callable[[], Caller]) -> Caller:
        """``load()`` the caller (it raises for a refused token) and remember it, aged from now."""
        began = time.monotonic()
        caller = load()
        self.put(key, caller, began)
        return caller


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class Forgetful(Protocol):
    def clear(self) -> None: ...


def forget_after(method: str, caches: Iterable[Forgetful]) -> None:
    """Empty the caches of what the catalog said (the principal cache, the open cache) once a request
    that may have changed it (a revoked token, an ended session, a new role, a grant, a repo offline)
    is answered, so this process honours it at once: any method but GET, HEAD and OPTIONS."""
    if method not in _READS:
        for cache in caches:
            cache.clear()
