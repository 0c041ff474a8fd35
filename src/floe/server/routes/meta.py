"""Health, the calling principal, client diagnostics."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter, Request, Response

from floe import __version__
from floe.models import Health, Principal
from floe.server.catalog.tokens import NEVER
from floe.server.deps import PrincipalDep

router = APIRouter()


@router.get("/health", response_model=Health, tags=["meta"])
async def health(request: Request) -> Health:
    """Answers 200 once the server is ready (database migrated)."""
    return Health(version=__version__, database=request.app.state.database_kind)


@router.get("/user", response_model=Principal, tags=["meta"])
def whoami(principal: PrincipalDep) -> Principal:
    """The calling principal (``ApiTokenInfo`` in the arraylake client)."""
    expiration = principal.expiration or NEVER
    return Principal(
        id=principal.id,
        client_id=principal.id,
        email=principal.email,
        expiration=int(expiration.astimezone(UTC).timestamp()),
        org=principal.org_name,
        role=principal.role,
        name=principal.name,
        is_site_admin=principal.is_site_admin,
    )


@router.post("/user/diagnostics", status_code=204, tags=["meta"])
def diagnostics(principal: PrincipalDep) -> Response:
    """Accepted and dropped: the arraylake client posts run-time diagnostics here."""
    return Response(status_code=204)
