"""Commit leases on a repo's refs (Floe's own routes)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from floe.models import Lease, LeaseRequest
from floe.server.catalog import leases
from floe.server.deps import CallerDep, CatalogDep

router = APIRouter(prefix="/repos/{org}/{repo}/leases", tags=["leases"])


@router.get("", response_model=list[Lease])
def list_leases(org: str, repo: str, cat: CatalogDep, principal: CallerDep) -> list[Lease]:
    """Who holds which ref, and until when."""
    return leases.list_leases(cat, principal, org, repo)


@router.post("/{ref}", response_model=Lease, status_code=201)
def acquire(
    org: str, repo: str, ref: str, body: LeaseRequest, cat: CatalogDep, principal: CallerDep
) -> Lease:
    """Take the lease on a ref (``branch.NAME`` / ``tag.NAME``); 409 while someone else holds it."""
    return leases.acquire(cat, principal, org, repo, ref, body)


@router.put("/{ref}/{lease_id}", response_model=Lease)
def renew(
    org: str, repo: str, ref: str, lease_id: str, body: LeaseRequest, cat: CatalogDep, principal: CallerDep
) -> Lease:
    return leases.renew(cat, principal, org, repo, ref, lease_id, body)


@router.delete("/{ref}/{lease_id}", status_code=204)
def release(org: str, repo: str, ref: str, lease_id: str, cat: CatalogDep, principal: CallerDep) -> Response:
    leases.release(cat, principal, org, repo, ref, lease_id)
    return Response(status_code=204)


@router.delete("/{ref}", response_model=Lease)
def break_lease(org: str, repo: str, ref: str, cat: CatalogDep, principal: CallerDep) -> Lease:
    """Break a stale lease (repo admins)."""
    return leases.break_lease(cat, principal, org, repo, ref)
