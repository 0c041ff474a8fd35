"""A bounded map whose entries expire ``ttl`` seconds after the data they hold was read (not after
they were stored): the base of the principal cache and the open cache."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class AgedCache(Generic[K, V]):
    """Up to ``max_entries`` of key -> (value, as_of), each good while ``time.monotonic() - as_of <
    ttl``; the least recently stored go first. A ``ttl`` of 0 keeps nothing. Thread-safe."""

    what = "cache"  # for messages

    def __init__(self, ttl: float, max_entries: int) -> None:
        if ttl < 0:
            raise ValueError(f"the {self.what}'s ttl must be 0 or more seconds, got {ttl}")
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[K, tuple[V, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get_entry(self, key: K) -> tuple[V, float] | None:
        """The value for ``key`` and its ``as_of``, if that is less than ``ttl`` seconds ago."""
        if self.ttl == 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if time.monotonic() - entry[1] >= self.ttl:
                del self._entries[key]
                return None
            return entry

    def put(self, key: K, value: V, as_of: float) -> None:
        """Remember ``value``, read at ``as_of`` (``time.monotonic()``); already too old: not kept."""
        if self.ttl == 0 or time.monotonic() - as_of >= self.ttl:
            return
        with self._lock:
            self._entries[key] = (value, as_of)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
