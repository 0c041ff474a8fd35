"""The trash: deleted repos, kept until purged; restore and purge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from floe.models import Repo
from floe.models.recovery import PurgeResult, RepoRestore, TrashedRepo
from floe.server.catalog import trash
from floe.server.catalog.base import repo_as_seen_by
from floe.server.deps import CallerDep, CatalogDep

router = APIRouter(tags=["trash"])


@router.get("/orgs/{org}/trash", response_model=list[TrashedRepo])
def list_trash(org: str, cat: CatalogDep, principal: CallerDep) -> list[TrashedRepo]:
    """The org's deleted repos (and old locations of moved ones), newest first, with their purge dates."""
    return trash.list_trash(cat, principal, org)


@router.post("/orgs/{org}/trash/{entry_id}/restore", response_model=Repo)
def restore(
    org: str, entry_id: str, cat: CatalogDep, principal: CallerDep, body: RepoRestore | None = None
) -> Repo:
    """Give a trashed repo back with its history, grants and metadata (under ``name`` if given)."""
    repo = trash.restore(cat, principal, org, entry_id, name=body.name if body else None)
    return repo_as_seen_by(principal, repo)


@router.delete("/orgs/{org}/trash/{entry_id}", response_model=PurgeResult)
def purge(
    org: str,
    entry_id: str,
    cat: CatalogDep,
    principal: CallerDep,
    keep_data: Annotated[bool, Query(description="forget the entry but leave the objects")] = False,
) -> PurgeResult:
    """Delete a trashed repo's objects for good (org repo admins); this cannot be undone."""
    return trash.purge(cat, principal, org, entry_id, keep_data=keep_data)
