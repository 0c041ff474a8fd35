"""``open`` answers, remembered for at most a second, so that a burst of opens of one repo by one
caller (a dask cluster's workers, a notebook re-running a cell) costs one catalog round instead of
one each.

The bound is the same as the principal cache's (:mod:`floe.server.principal_cache`), and counted the
same way: an entry is never used once the older of its two inputs -- the caller as looked up, the
catalog as read for the answer -- is ``ttl`` seconds old. A grant revoked, a repo taken offline or
deleted, a token revoked, in any server process, is honoured by every process within ``ttl``
seconds; in the process that made the change at once (every request that may write empties this
cache, see :func:`floe.server.principal_cache.forget_after`).

The audit trail misses nothing it would record: the open that fills an entry records its vend in
the database before it answers, as every open did; an answer served again from the cache only adds
to that event's count (``detail.count``), and those counts are written by :meth:`OpenCache.flush`
about once a second and when the server stops. A server killed outright loses at most that second
of repeat counts, never a first vend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from floe.server.aged_cache import AgedCache
from floe.server.auth import Caller
from floe.server.catalog.audit import VendNote

DEFAULT_TTL = 1.0
DEFAULT_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class CachedOpen:
    """One answer: the JSON body sent, what its vend was, and when its inputs were read
    (``time.monotonic()``: the older of the caller's lookup and the catalog read)."""

    body: bytes
    note: VendNote | None  # None: nothing was vended (an offline repo, a store without credentials)
    as_of: float


class OpenCache(AgedCache[Hashable, CachedOpen]):
    """A bounded map of (caller, repo, options) -> :class:`CachedOpen`, plus the repeat counts of
    vends answered from it that are still to be written to the audit trail."""

    what = "open cache"

    def __init__(self, ttl: float = DEFAULT_TTL, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        super().__init__(ttl, max_entries)
        # (caller id, its address, the vend) -> (the caller, how many repeats not yet written)
        self._repeats: dict[tuple[str, str | None, VendNote], tuple[Caller, int]] = {}
        self._repeats_lock = threading.Lock()
        # one flush at a time: a reader of the trail flushing waits for one under way to be written
        self._flush_lock = threading.Lock()

    def get(self, key: Hashable) -> CachedOpen | None:
        """The answer for ``key`` whose inputs are less than ``ttl`` seconds old, or None."""
        entry = self.get_entry(key)
        return entry[0] if entry is not None else None

    def keep(self, key: Hashable, answer: CachedOpen) -> None:
        self.put(key, answer, answer.as_of)

    def repeated(self, caller: Caller, note: VendNote) -> None:
        """Count one more vend of ``note`` to ``caller`` (an answer served from the cache)."""
        key = (caller.id, caller.address, note)
        with self._repeats_lock:
            _, count = self._repeats.get(key, (caller, 0))
            self._repeats[key] = (caller, count + 1)

    def flush(self, write: Callable[[Caller, VendNote, int], None]) -> int:
        """Hand every pending repeat count to ``write(caller, note, times)``; return how many vends.

        Counts that ``write`` fails on are put back, to be written by the next flush."""
        with self._flush_lock:
            return self._flush(write)

    def _flush(self, write: Callable[[Caller, VendNote, int], None]) -> int:
        with self._repeats_lock:
            pending, self._repeats = self._repeats, {}
        written = 0
        items = list(pending.items())
        for index, ((_, _, note), (caller, times)) in enumerate(items):
            try:
                write(caller, note, times)
            except BaseException:
                with self._repeats_lock:
                    for key, (who, count) in items[index:]:
                        _, later = self._repeats.get(key, (who, 0))
                        self._repeats[key] = (who, count + later)
                raise
            written += times
        return written
