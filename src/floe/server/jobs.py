"""Periodic maintenance jobs of the server, each run off the event loop, and lifespans to hold them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def periodic(
    job: Callable[[], object], interval: float, *, what: str, log: logging.Logger, final: bool = False
) -> Lifespan:
    """A lifespan that runs ``job`` on a worker thread at start and then every ``interval`` seconds
    (and once more as the server stops, with ``final``); a failure is logged (``what`` failed) and
    the next round retries."""

    async def run_forever() -> None:
        while True:
            try:
                await anyio.to_thread.run_sync(job)
            except Exception:  # the job must outlive a database hiccup
                log.exception("%s failed", what)
            await asyncio.sleep(interval)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(run_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if final:
                try:
                    await anyio.to_thread.run_sync(job)
                except Exception:
                    log.exception("%s failed", what)

    return lifespan


def combined(*lifespans: Lifespan) -> Lifespan:
    """One lifespan that enters each of ``lifespans`` in order (and leaves them in reverse)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for each in lifespans:
                await stack.enter_async_context(each(app))
            yield

    return lifespan
