"""Orgs, API clients (tokens) and permission checks."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from floe.models import (
    ApiClient,
    ApiClientAuthenticated,
    ApiClientCreate,
    ApiClientWithToken,
    Org,
    OrgCreate,
    PermissionCheck,
    SharedLocation,
    SharedLocationCreate,
)
from floe.models.orgs import OrgUpdate
from floe.server import arraylake as compat
from floe.server.catalog import locations, orgs, permissions, tokens
from floe.server.deps import CallerDep, CatalogDep

router = APIRouter()


@router.get("/orgs", response_model=list[Org], tags=["orgs"])
def list_orgs(cat: CatalogDep, principal: CallerDep) -> list[Org]:
    return orgs.list_orgs(cat, principal)


@router.post("/orgs", response_model=Org, status_code=201, tags=["orgs"])
def create_org(body: OrgCreate, cat: CatalogDep, principal: CallerDep) -> Org:
    return orgs.create_org(cat, principal, body)


@router.get("/orgs/{org}", response_model=Org, tags=["orgs"])
def get_org(org: str, cat: CatalogDep, principal: CallerDep) -> Org:
    return orgs.get_org(cat, principal, org)


@router.patch("/orgs/{org}", response_model=Org, tags=["orgs"])
def modify_org(org: str, body: OrgUpdate, cat: CatalogDep, principal: CallerDep) -> Org:
    """Change the org's description or how many days its trash keeps deleted repos (org admins)."""
    return orgs.modify_org(cat, principal, org, body)


@router.delete("/orgs/{org}", status_code=204, tags=["orgs"])
def delete_org(org: str, cat: CatalogDep, principal: CallerDep) -> Response:
    orgs.delete_org(cat, principal, org)
    return Response(status_code=204)


@router.get("/orgs/{org}/locations", response_model=list[SharedLocation], tags=["orgs"])
def list_shared_locations(org: str, cat: CatalogDep, principal: CallerDep) -> list[SharedLocation]:
    """Storage locations a site admin has shared with the org (org admins and site admins)."""
    return locations.list_shared(cat, principal, org)


@router.post("/orgs/{org}/locations", response_model=SharedLocation, status_code=201, tags=["orgs"])
def share_location(
    org: str, body: SharedLocationCreate, cat: CatalogDep, principal: CallerDep
) -> SharedLocation:
    """Let the org use a location outside its own folders, or one other orgs use too (site admins)."""
    return locations.share_location(cat, principal, org, body)


@router.delete("/orgs/{org}/locations/{location_id}", status_code=204, tags=["orgs"])
def unshare_location(org: str, location_id: str, cat: CatalogDep, principal: CallerDep) -> Response:
    """Stop sharing a location (site admins); 409 while the org's bucket configs lie in it."""
    locations.unshare_location(cat, principal, org, location_id)
    return Response(status_code=204)


@router.get("/orgs/{org}/api-clients/authenticate", response_model=ApiClientAuthenticated, tags=["tokens"])
def authenticate(
    org: str, cat: CatalogDep, principal: CallerDep, token: str = Query(...)
) -> ApiClientAuthenticated:
    """Which API client of the org a token belongs to."""
    return tokens.authenticate_token(cat, principal, org, token)


@router.get("/orgs/{org}/api-clients", response_model=list[ApiClient], tags=["tokens"])
def list_api_clients(
    org: str, cat: CatalogDep, principal: CallerDep, include_revoked: bool = False
) -> list[ApiClient]:
    return tokens.list_api_clients(cat, principal, org, include_revoked=include_revoked)


@router.post("/orgs/{org}/api-clients", response_model=ApiClientWithToken, status_code=201, tags=["tokens"])
def create_api_client(
    org: str, body: ApiClientCreate, cat: CatalogDep, principal: CallerDep
) -> ApiClientWithToken:
    """Create an API client; its token is in this response only."""
    return tokens.create_api_client(cat, principal, org, body)


@router.delete("/orgs/{org}/api-clients/{client}", response_model=ApiClient, tags=["tokens"])
def revoke_api_client(org: str, client: str, cat: CatalogDep, principal: CallerDep) -> ApiClient:
    """Revoke an API client's token (by id or name)."""
    return tokens.revoke_api_client(cat, principal, org, client)


@router.get("/orgs/{org}/permissions/check", response_model=PermissionCheck, tags=["permissions"])
def permission_check(
    org: str, principal_id: str, resource: str, action: str, cat: CatalogDep, principal: CallerDep
) -> PermissionCheck:
    allowed = permissions.check_permission(
        cat,
        principal,
        org,
        principal_id=principal_id,
        resource=resource,
        action=lambda on_repo: compat.action_named(action, on_repo=on_repo),
    )
    return PermissionCheck(has_permission=allowed)
