"""Bucket configs."""

from __future__ import annotations

from fastapi import APIRouter, Response

from floe.errors import NotFoundError
from floe.models import BucketCreate, BucketModify, BucketResponse, Repo, TempCredentials
from floe.server.catalog import buckets
from floe.server.catalog.base import arraylake_compatible, repo_as_seen_by
from floe.server.deps import ArraylakeDep, CatalogDep, PrincipalDep

router = APIRouter(prefix="/orgs/{org}/buckets", tags=["buckets"])


@router.get("", response_model=list[BucketResponse])
def list_buckets(
    org: str, cat: CatalogDep, principal: PrincipalDep, arraylake: ArraylakeDep
) -> list[BucketResponse]:
    """All bucket configs of the org, secrets redacted."""
    found = buckets.list_buckets(cat, principal, org)
    if arraylake:
        found = [shown for b in found if (shown := arraylake_compatible(b)) is not None]
    return found


@router.post("", response_model=BucketResponse, status_code=201)
def create_bucket(org: str, body: BucketCreate, cat: CatalogDep, principal: PrincipalDep) -> BucketResponse:
    """Register storage under a nickname, once a probe found it usable (reachable, bucket present,
    keys accepted, writable unless anonymous); what the probe found is in ``capabilities``."""
    return buckets.create_bucket(cat, principal, org, body)


@router.get("/{bucket}", response_model=BucketResponse)
def get_bucket(
    org: str, bucket: str, cat: CatalogDep, principal: PrincipalDep, arraylake: ArraylakeDep
) -> BucketResponse:
    """One bucket config, by id (or nickname), secrets redacted."""
    found = buckets.get_bucket(cat, principal, org, bucket)
    if not arraylake:
        return found
    shown = arraylake_compatible(found)
    if shown is None:
        raise NotFoundError(
            f"bucket config {found.nickname!r} (platform {found.platform!r}) is not "
            "usable by the arraylake client; use floe.Client"
        )
    return shown


@router.patch("/{bucket}", response_model=BucketResponse)
def modify_bucket(
    org: str, bucket: str, body: BucketModify, cat: CatalogDep, principal: PrincipalDep
) -> BucketResponse:
    return buckets.modify_bucket(cat, principal, org, bucket, body)


@router.delete("/{bucket}", status_code=204)
def delete_bucket(org: str, bucket: str, cat: CatalogDep, principal: PrincipalDep) -> Response:
    """Delete a bucket config (never the bucket itself); 409 while repos use it."""
    buckets.delete_bucket(cat, principal, org, bucket)
    return Response(status_code=204)


@router.post("/{bucket}/default", response_model=BucketResponse)
def set_default(org: str, bucket: str, cat: CatalogDep, principal: PrincipalDep) -> BucketResponse:
    return buckets.set_default_bucket(cat, principal, org, bucket)


@router.post("/{bucket}/check", response_model=BucketResponse)
def check_bucket(org: str, bucket: str, cat: CatalogDep, principal: PrincipalDep) -> BucketResponse:
    """Probe the bucket config's storage again (access, conditional writes) and store the result.

    Failures are recorded in ``capabilities.error`` and returned, not raised.
    """
    return buckets.check_bucket(cat, principal, org, bucket)


@router.get("/{bucket}/repos", response_model=list[Repo])
def repos_for_bucket(
    org: str, bucket: str, cat: CatalogDep, principal: PrincipalDep, arraylake: ArraylakeDep
) -> list[Repo]:
    repos = [repo_as_seen_by(principal, r) for r in buckets.repos_for_bucket(cat, principal, org, bucket)]
    if arraylake:
        repos = [r.model_copy(update={"bucket": arraylake_compatible(r.bucket)}) for r in repos]
    return repos


@router.get("/{bucket}/credentials", response_model=TempCredentials | None)
def bucket_credentials(
    org: str, bucket: str, cat: CatalogDep, principal: PrincipalDep
) -> TempCredentials | None:
    """Credentials for reading the whole bucket (a credential route: members only)."""
    return buckets.bucket_credentials(cat, principal, org, bucket)
