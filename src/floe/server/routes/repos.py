"""Repos, and the one-request ``open``."""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response

from floe.models import (
    OpenRepoResponse,
    Paginated,
    Repo,
    RepoCreate,
    RepoImport,
    RepoStatus,
    RepoStatusUpdate,
    RepoUpdate,
    TempCredentials,
    VirtualAccessPolicy,
    VirtualAccessPolicyBody,
    VirtualContainersUpdate,
)
from floe.models.common import MAX_PAGE_NUMBER
from floe.server import arraylake as compat
from floe.server.arraylake import ArraylakeDep
from floe.server.auth import Caller
from floe.server.catalog import Catalog, audit, creation, repos, virtual
from floe.server.catalog.base import open_as_seen_by, repo_as_seen_by
from floe.server.deps import CallerDep, CatalogDep
from floe.server.open_cache import CachedOpen, OpenCache
from floe.server.single_flight import SingleFlight

router = APIRouter(tags=["repos"])
# the hot path on a router of its own, which the app includes before every other: a request to it is
# matched at the first route instead of after a scan of the whole table (a sixth of its cost)
open_router = APIRouter(tags=["repos"])


def _shown(cat: Catalog, principal: Caller, repo: Repo, arraylake: bool) -> Repo:
    """The repo as the caller may see it; the arraylake client's answer carries its bucket's keys."""
    if arraylake:
        return repo_as_seen_by(principal, compat.repo_for_client(cat, principal, repo), keep_auth=True)
    return repo_as_seen_by(principal, repo)


@router.get("/orgs/{org}/repos/paginated", response_model=Paginated[Repo])
def list_repos(
    org: str,
    cat: CatalogDep,
    principal: CallerDep,
    arraylake: ArraylakeDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER)] = 1,
    size: Annotated[int, Query(ge=1, le=repos.MAX_PAGE_SIZE)] = 50,
    filter_metadata: Annotated[str | None, Query(max_length=repos.MAX_FILTER_LENGTH)] = None,
) -> Paginated[Repo]:
    """One page of the org's repos; ``filter_metadata`` is a JSON object of required metadata."""
    result = repos.list_repos(
        cat,
        principal,
        org,
        page=page,
        size=size,
        filter_metadata=repos.parse_metadata_filter(filter_metadata),
    )
    result.items = [repo_as_seen_by(principal, r) for r in result.items]
    if arraylake:
        result.items = [compat.with_compatible_bucket(r) for r in result.items]
    return result


@router.post("/orgs/{org}/repos", response_model=Repo, status_code=201)
def create_repo(
    org: str, body: RepoCreate, cat: CatalogDep, principal: CallerDep, arraylake: ArraylakeDep
) -> Repo:
    """Register a repo at an empty prefix (``create_mode=create`` also writes the Icechunk repo)."""
    if arraylake:
        compat.check_create_target(cat, principal, org, body.bucket_nickname)
    return _shown(cat, principal, repos.create_repo(cat, principal, org, body), arraylake)


@router.post("/orgs/{org}/repos/import", response_model=Repo, status_code=201)
def import_repo(
    org: str, body: RepoImport, cat: CatalogDep, principal: CallerDep, arraylake: ArraylakeDep
) -> Repo:
    """Register an Icechunk repo that already exists at a prefix."""
    return _shown(cat, principal, repos.import_repo(cat, principal, org, body), arraylake)


@router.get("/repos/{org}/{repo}", response_model=Repo)
def get_repo(org: str, repo: str, cat: CatalogDep, principal: CallerDep, arraylake: ArraylakeDep) -> Repo:
    return _shown(cat, principal, repos.get_repo(cat, principal, org, repo), arraylake)


@open_router.get("/repos/{org}/{repo}/open", response_model=OpenRepoResponse)
async def open_repo(
    request: Request, org: str, repo: str, principal: CallerDep, read_only: bool = False
) -> Response:
    """Everything a client needs to open the repo: bucket, prefix, credentials, author, status.

    The hot path. The same caller opening the same repo again within a second gets the same answer
    from the open cache (:mod:`floe.server.open_cache`: revocations still count within a second, the
    repeat is still counted in the audit trail). Otherwise the lookup, the vend (an STS, GCS or Azure
    call for some bucket configs) and its audit row run on a worker thread, so a slow credential
    service never holds up the event loop; the answer skips FastAPI's re-validation of the response model.
    The catalog and the client kind are read here rather than as dependencies: each dependency FastAPI
    solves is a measurable share of a cached open.
    """
    arraylake = compat.from_arraylake_client(request)
    cache: OpenCache = request.app.state.open_cache
    key = (principal.id, principal.session_id, principal.address, org, repo, read_only, arraylake)
    answer = cache.get(key)
    if answer is None:
        cat: Catalog = request.app.state.catalog

        def opening() -> tuple[bytes, audit.VendNote | None]:
            opened, note = repos.open_repo(
                cat, principal, org, repo, read_only=read_only, describe_offline=arraylake
            )
            opened = open_as_seen_by(principal, org, opened, keep_auth=arraylake)
            if arraylake:
                opened = compat.open_for_client(opened, f"{org}/{repo}")
            return opened.model_dump_json(by_alias=True).encode(), note

        async def computing() -> CachedOpen:
            as_of = min(getattr(request.state, "principal_as_of", time.monotonic()), time.monotonic())
            body, note = await anyio.to_thread.run_sync(opening)
            computed = CachedOpen(body=body, note=note, as_of=as_of)
            cache.keep(key, computed)
            return computed

        # requests for the same answer at the same moment share one computation (and its error)
        flights: SingleFlight[Hashable, CachedOpen] = request.app.state.open_flights
        answer, first = await flights.run(key, computing)
        if first:  # its vend was recorded in the catalog
            return Response(answer.body, media_type="application/json")
    if answer.note is not None:  # the same answer again: one more vend to count
        audit.meter_open(answer.note)
        cache.repeated(principal, answer.note)
    return Response(answer.body, media_type="application/json")


@router.post("/repos/{org}/{repo}/created", response_model=Repo)
def confirm_created(org: str, repo: str, cat: CatalogDep, principal: CallerDep) -> Repo:
    """Confirm that the Icechunk repo of a registered repo (``create_mode=register``) now exists:
    the entry becomes ready (it would anyway at the next open, or when the server's reaper finds it)."""
    creation.confirm_created(cat, principal, org, repo)
    return repo_as_seen_by(principal, repos.get_repo(cat, principal, org, repo))


@router.get("/repos/{org}/{repo}/bucket-credentials", response_model=TempCredentials | None)
def repo_credentials(
    org: str, repo: str, cat: CatalogDep, principal: CallerDep, read_only: bool = False
) -> TempCredentials | None:
    """Credentials for the repo's bucket (a credential route); read-only ones for readers and with
    ``read_only``."""
    return repos.repo_credentials(cat, principal, org, repo, read_only=read_only)


@router.patch("/orgs/{org}/{repo}", response_model=Repo)
def modify_repo(org: str, repo: str, body: RepoUpdate, cat: CatalogDep, principal: CallerDep) -> Repo:
    return repo_as_seen_by(principal, repos.modify_repo(cat, principal, org, repo, body))


@router.put("/orgs/{org}/{repo}/status", response_model=RepoStatus)
def set_status(
    org: str, repo: str, body: RepoStatusUpdate, cat: CatalogDep, principal: CallerDep
) -> RepoStatus:
    """Set ``online`` / ``maintenance`` / ``offline``; clients write only while online."""
    return repos.set_status(cat, principal, org, repo, body)


@router.delete("/orgs/{org}/{repo}", status_code=204)
def delete_repo(
    org: str, repo: str, cat: CatalogDep, principal: CallerDep, keep_data: bool = False
) -> Response:
    """Move the repo to the org's trash, its objects kept until purged (``keep_data=true``: only
    unregister it, no trash entry); the trash entry's id is in the ``x-floe-trash-id`` header."""
    trash_id = repos.delete_repo(cat, principal, org, repo, keep_data=keep_data)
    return Response(status_code=204, headers={"x-floe-trash-id": trash_id} if trash_id else None)


@router.get("/repos/icechunk/{org}/{repo}/virtual-chunk-containers", response_model=dict[str, str | None])
def get_virtual_chunk_containers(
    org: str, repo: str, cat: CatalogDep, principal: CallerDep
) -> dict[str, str | None]:
    """The repo's virtual chunk containers: URL prefix -> bucket config nickname."""
    return virtual.get_containers(cat, principal, org, repo)


@router.patch("/repos/icechunk/{org}/{repo}/virtual-chunk-containers", response_model=dict[str, str | None])
@router.post("/repos/icechunk/{org}/{repo}/virtual-chunk-containers", response_model=dict[str, str | None])
def patch_virtual_chunk_containers(
    org: str, repo: str, body: VirtualContainersUpdate, cat: CatalogDep, principal: CallerDep
) -> dict[str, str | None]:
    """Authorise containers (``add``: URL prefix -> bucket nickname) or withdraw them (``remove``)."""
    return virtual.patch_containers(cat, principal, org, repo, add=body.add, remove=body.remove)


POLICIES = "/orgs/{org}/settings/virtual-chunk-access-policies"


@router.get(POLICIES, response_model=Paginated[VirtualAccessPolicy])
def list_virtual_chunk_access_policies(
    org: str, cat: CatalogDep, principal: CallerDep, size: int = Query(100, ge=1, le=1000)
) -> Paginated[VirtualAccessPolicy]:
    """The org's virtual chunk access policies (all of them, on one page)."""
    found = virtual.list_policies(cat, principal, org)
    return Paginated(items=found, total=len(found), page=1, size=max(size, len(found)), pages=1)


@router.put(POLICIES, response_model=VirtualAccessPolicy)
def set_virtual_chunk_access_policy(
    org: str, body: VirtualAccessPolicyBody, cat: CatalogDep, principal: CallerDep
) -> VirtualAccessPolicy:
    """Let the org's repos reference chunks under a bucket config's subprefix (org admins)."""
    return virtual.set_policy(cat, principal, org, body)


@router.delete(POLICIES, status_code=204)
def delete_virtual_chunk_access_policy(
    org: str, body: VirtualAccessPolicyBody, cat: CatalogDep, principal: CallerDep
) -> Response:
    """Remove a virtual chunk access policy (org admins; idempotent)."""
    virtual.delete_policy(cat, principal, org, body)
    return Response(status_code=204)
