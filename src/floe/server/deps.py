"""Request dependencies shared by every route: the catalog, the calling principal, the caller kind."""

from __future__ import annotations

import time
from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request

from floe.server.auth import Caller
from floe.server.catalog import Catalog
from floe.server.catalog.principals import principal_for_token
from floe.server.principal_cache import PrincipalCache
from floe.server.single_flight import SingleFlight


async def get_catalog(request: Request) -> Catalog:
    # async (no I/O): FastAPI would otherwise hop to the thread pool for it
    return request.app.state.catalog


async def get_principal(request: Request) -> Caller:
    # A token seen in the last second is answered from the principal cache, on the event loop;
    # otherwise the lookup reads the database and records the token's use (``last_used``, a write
    # that may wait for a lock) on a worker thread, so the event loop never waits for the database.
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    address = request.client.host if request.client else None
    # When the caller was read from the database (request.state.principal_as_of, time.monotonic()):
    # what is cached from this request's answers ages from then at the latest (see open_cache).
    cache: PrincipalCache = request.app.state.principal_cache
    key = cache.key(token) if token else ""
    entry = cache.get_entry(key) if token else None
    if entry is None:
        catalog = request.app.state.catalog

        async def looking_up() -> tuple[Caller, float]:
            began = time.monotonic()
            found = await anyio.to_thread.run_sync(
                cache.lookup, key, partial(principal_for_token, catalog, token or None)
            )
            return found, began

        # a burst of requests with a token not yet (or no longer) cached makes one lookup
        flights: SingleFlight[str, tuple[Caller, float]] = request.app.state.principal_flights
        entry, _ = await flights.run(key, looking_up)
    principal, request.state.principal_as_of = entry
    return principal.with_address(address)


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
CallerDep = Annotated[Caller, Depends(get_principal)]
