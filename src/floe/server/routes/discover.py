"""Finding the Icechunk repositories stored under a bucket config."""

from __future__ import annotations

from fastapi import APIRouter

from floe.models.discovery import DiscoveryResult
from floe.server.catalog.discover import discover_repos
from floe.server.deps import CallerDep, CatalogDep

router = APIRouter(prefix="/orgs/{org}/buckets", tags=["buckets"])


@router.get("/{bucket}/discover", response_model=DiscoveryResult)
def discover(
    org: str, bucket: str, cat: CatalogDep, principal: CallerDep, prefix: str | None = None
) -> DiscoveryResult:
    """Every Icechunk repo stored under the bucket config's prefix (and ``prefix`` below it), registered
    or not: with its catalog name when a repo of this org is registered there, and its snapshot count
    and size where they are cheap to find. The server lists the storage with the bucket config's
    credentials (members and up: ``bucket:use``); the search is bounded in depth, listings and repos,
    and says ``truncated`` (with ``notes``) when a bound was hit."""
    return discover_repos(cat, principal, org, bucket, prefix)
