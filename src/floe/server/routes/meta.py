"""Health and the calling principal."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter, Request

from floe import __version__
from floe.models import Health, Principal
from floe.server.arraylake import ArraylakeDep, principal_for_client
from floe.server.catalog.tokens import NEVER
from floe.server.deps import CallerDep

router = APIRouter()


@router.get("/health", response_model=Health, tags=["meta"])
async def health(request: Request) -> Health:
    """Answers 200 once the server is ready (database migrated)."""
    return Health(version=__version__, database=request.app.state.database_kind)


@router.get("/user", response_model=Principal, tags=["meta"])
def whoami(principal: CallerDep, arraylake: ArraylakeDep) -> Principal:
    """The calling principal: ``ApiTokenInfo`` of the arraylake client for API clients,
    ``UserInfo`` (it has ``first_name``) for people, plus orgs and roles (the arraylake client gets
    ``UserInfo`` for both, see ``floe.server.arraylake.principal_for_client``)."""
    expiration = int((principal.expiration or NEVER).astimezone(UTC).timestamp())
    orgs = {principal.org_names[org_id]: role for org_id, role in principal.roles.items()}
    if principal.kind == "user":
        first, _, family = principal.name.partition(" ")
        found = Principal(
            id=principal.id,
            kind="user",
            email=principal.email,
            expiration=expiration,
            first_name=first,
            family_name=family or None,
            orgs=orgs,
            name=principal.name,
            is_site_admin=principal.is_site_admin,
            session_id=principal.session_id,
        )
        return principal_for_client(found) if arraylake else found
    ((org, role),) = orgs.items()
    found = Principal(
        id=principal.id,
        kind="api_client",
        client_id=principal.id,
        email=principal.email,
        expiration=expiration,
        org=org,
        role=role,
        orgs=orgs,
        name=principal.name,
        is_site_admin=principal.is_site_admin,
    )
    return principal_for_client(found) if arraylake else found
