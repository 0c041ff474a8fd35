"""Copying and moving repos between bucket configs (Floe's own routes; the client copies the bytes)."""

from __future__ import annotations

from fastapi import APIRouter

from floe.models import RepoStatus
from floe.models.transfers import (
    CopyCompleteRequest,
    CopyTargetRequest,
    MoveResult,
    MoveTargetRequest,
    TransferPlan,
)
from floe.server.auth import Caller
from floe.server.catalog import transfers
from floe.server.catalog.base import open_as_seen_by, repo_as_seen_by
from floe.server.deps import CallerDep, CatalogDep

router = APIRouter(prefix="/orgs/{org}/repos/{repo}", tags=["transfers"])


def _shown(principal: Caller, plan: TransferPlan) -> TransferPlan:
    src_org = plan.source.repo.org if plan.source.repo else ""
    dst_org = plan.target_name.split("/")[0]
    return plan.model_copy(
        update={
            "source": open_as_seen_by(principal, src_org, plan.source),
            "target": open_as_seen_by(principal, dst_org, plan.target),
        }
    )


@router.post("/copy-target", response_model=TransferPlan)
def copy_target(
    org: str, repo: str, body: CopyTargetRequest, cat: CatalogDep, principal: CallerDep
) -> TransferPlan:
    """Register ``org/repo`` offline ("being copied from SRC") as the destination of a copy, or resume
    an interrupted copy by the same principal; answers read credentials for the source and write
    credentials for the destination. ``409`` when the name is taken by anything else."""
    return _shown(principal, transfers.copy_target(cat, principal, org, repo, body))


@router.post("/copy-complete", response_model=RepoStatus)
def copy_complete(
    org: str, repo: str, body: CopyCompleteRequest, cat: CatalogDep, principal: CallerDep
) -> RepoStatus:
    """Set a verified copy online (whoever started the copy, or a repo admin)."""
    return transfers.copy_complete(cat, principal, org, repo, body.source)


@router.post("/move-target", response_model=TransferPlan)
def move_target(
    org: str, repo: str, body: MoveTargetRequest, cat: CatalogDep, principal: CallerDep
) -> TransferPlan:
    """Take the repo offline ("being moved to ...") and reserve its new location (repo admins)."""
    return _shown(principal, transfers.move_target(cat, principal, org, repo, body))


@router.post("/move-complete", response_model=MoveResult)
def move_complete(org: str, repo: str, cat: CatalogDep, principal: CallerDep) -> MoveResult:
    """Point the repo at its verified new location and put the old one in the trash, in one step."""
    result = transfers.move_complete(cat, principal, org, repo)
    return result.model_copy(update={"repo": repo_as_seen_by(principal, result.repo)})


@router.post("/move-abort", response_model=RepoStatus)
def move_abort(org: str, repo: str, cat: CatalogDep, principal: CallerDep) -> RepoStatus:
    """Give a repo being moved its earlier status back; a re-run of the move resumes."""
    return transfers.move_abort(cat, principal, org, repo)
