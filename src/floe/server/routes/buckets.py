"""Bucket configs."""

from __future__ import annotations

from fastapi import APIRouter, Response

from floe.models import Bucket, BucketCreate, BucketUpdate, Repo, TempCredentials
from floe.server import arraylake as compat
from floe.server.arraylake import ArraylakeDep
from floe.server.catalog import buckets
from floe.server.catalog.base import repo_as_seen_by
from floe.server.deps import CallerDep, CatalogDep

router = APIRouter(prefix="/orgs/{org}/buckets", tags=["buckets"])


@router.get("", response_model=list[Bucket])
def list_buckets(org: str, cat: CatalogDep, principal: CallerDep, arraylake: ArraylakeDep) -> list[Bucket]:
    """All bucket configs of the org, secrets redacted."""
    found = buckets.list_buckets(cat, principal, org)
    return compat.buckets_for_client(found) if arraylake else found


@router.post("", response_model=Bucket, status_code=201)
def create_bucket(org: str, body: BucketCreate, cat: CatalogDep, principal: CallerDep) -> Bucket:
    """Register storage under a nickname, once a probe found it usable (reachable, bucket present,
    keys accepted, writable unless anonymous); what the probe found is in ``capabilities``."""
    return buckets.create_bucket(cat, principal, org, body)


@router.get("/{bucket}", response_model=Bucket)
def get_bucket(
    org: str, bucket: str, cat: CatalogDep, principal: CallerDep, arraylake: ArraylakeDep
) -> Bucket:
    """One bucket config, by id (or nickname), secrets redacted."""
    found = buckets.get_bucket(cat, principal, org, bucket)
    return compat.bucket_for_client(found) if arraylake else found


@router.patch("/{bucket}", response_model=Bucket)
def modify_bucket(org: str, bucket: str, body: BucketUpdate, cat: CatalogDep, principal: CallerDep) -> Bucket:
    return buckets.modify_bucket(cat, principal, org, bucket, body)


@router.delete("/{bucket}", status_code=204)
def delete_bucket(org: str, bucket: str, cat: CatalogDep, principal: CallerDep) -> Response:
    """Delete a bucket config (never the bucket itself); 409 while repos use it."""
    buckets.delete_bucket(cat, principal, org, bucket)
    return Response(status_code=204)


@router.post("/{bucket}/default", response_model=Bucket)
def set_default(org: str, bucket: str, cat: CatalogDep, principal: CallerDep) -> Bucket:
    return buckets.set_default_bucket(cat, principal, org, bucket)


@router.post("/{bucket}/check", response_model=Bucket)
def check_bucket(org: str, bucket: str, cat: CatalogDep, principal: CallerDep) -> Bucket:
    """Probe the bucket config's storage again (access, conditional writes) and store the result.

    Failures are recorded in ``capabilities.error`` and returned, not raised.
    """
    return buckets.check_bucket(cat, principal, org, bucket)


@router.get("/{bucket}/repos", response_model=list[Repo])
def repos_for_bucket(
    org: str, bucket: str, cat: CatalogDep, principal: CallerDep, arraylake: ArraylakeDep
) -> list[Repo]:
    repos = [repo_as_seen_by(principal, r) for r in buckets.repos_for_bucket(cat, principal, org, bucket)]
    if arraylake:
        repos = [compat.with_compatible_bucket(r) for r in repos]
    return repos


@router.get("/{bucket}/credentials", response_model=TempCredentials | None)
def bucket_credentials(
    org: str, bucket: str, cat: CatalogDep, principal: CallerDep
) -> TempCredentials | None:
    """Credentials for reading the whole bucket (a credential route: members only)."""
    return buckets.bucket_credentials(cat, principal, org, bucket)
