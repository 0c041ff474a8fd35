"""Concurrent requests that need the same answer share one computation of it.

When a cached answer expires under load, every request for it would otherwise miss at once and go
to the database together (32 clients opening one repo: 32 catalog rounds queued on the thread pool,
and a latency spike each second). With :class:`SingleFlight` the first computes; the others, on the
same event loop, wait for its result (or its error) instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """At most one computation per key at a time, per event loop (one per server process)."""

    def __init__(self) -> None:
        self._running: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, compute: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """The value for ``key`` and whether this call computed it (False: it joined another's).

        An error of the computation is raised to every caller that waited for it. If the caller
        that computes is cancelled (its client went away), the others compute again themselves.
        """
        while (running := self._running.get(key)) is not None:
            try:
                return await asyncio.shield(running), False
            except asyncio.CancelledError:
                if not running.cancelled():  # this caller itself was cancelled
                    raise
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._running[key] = future
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(value)
            return value, True
        finally:
            del self._running[key]


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark an error as seen: nobody may have waited for it (asyncio would log it)."""
    if not future.cancelled():
        future.exception()
