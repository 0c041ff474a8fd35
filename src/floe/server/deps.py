"""Request dependencies shared by every route: the catalog, the calling principal, the caller kind."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from floe.server.auth import Principal
from floe.server.catalog import Catalog
from floe.server.catalog.principals import principal_for_token


async def get_catalog(request: Request) -> Catalog:
    # async (no I/O): FastAPI would otherwise hop to the thread pool for it
    return request.app.state.catalog


async def get_principal(request: Request) -> Principal:
    # Runs on the event loop: one indexed lookup (well under a millisecond) costs less than the
    # thread-pool hop FastAPI would make for a sync dependency, on every request.
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        token = ""
    principal = principal_for_token(request.app.state.catalog, token.strip() or None)
    return principal.with_address(request.client.host if request.client else None)


async def is_arraylake_client(request: Request) -> bool:
    """True for the official arraylake client, which gets the subset of the API it can parse."""
    return request.headers.get("client-name", "").startswith("arraylake")


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
ArraylakeDep = Annotated[bool, Depends(is_arraylake_client)]
