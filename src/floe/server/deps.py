"""Request dependencies shared by every route: the catalog, the calling principal, the caller kind."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request

from floe.server.auth import Caller
from floe.server.catalog import Catalog
from floe.server.catalog.principals import principal_for_token


async def get_catalog(request: Request) -> Catalog:
    # async (no I/O): FastAPI would otherwise hop to the thread pool for it
    return request.app.state.catalog


async def get_principal(request: Request) -> Caller:
    # The lookup reads the database and records the token's use (``last_used``, a write that may
    # wait for a lock): on a worker thread, so the event loop never waits for the database.
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        token = ""
    principal = await anyio.to_thread.run_sync(
        principal_for_token, request.app.state.catalog, token.strip() or None
    )
    return principal.with_address(request.client.host if request.client else None)


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
CallerDep = Annotated[Caller, Depends(get_principal)]
