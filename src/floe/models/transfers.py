"""Copying and moving repos between bucket configs: the wire models and the client's results."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from floe.models import BucketNickname, OpenRepoResponse, Prefix, Repo

# The status message of a copy target until the copy is verified (``/open`` refuses it meanwhile).
COPYING_MESSAGE = "being copied from {source}"
# The status message of a repo while it is moved, and of the temporary entry that holds its new location.
MOVING_MESSAGE = "being moved to {bucket}/{prefix}"
MOVE_TARGET_MESSAGE = "move target of {source}"
MOVE_TARGET_PREFIX = "_moving-"  # the temporary entry of a move is called _moving-REPO


def move_target_name(repo: str) -> str:
    """The name of the temporary catalog entry that holds a repo's new location during a move."""
    return (MOVE_TARGET_PREFIX + repo)[:128]


class CopyTargetRequest(BaseModel):
    """Register (or resume) the destination of a copy: ``POST /orgs/{org}/repos/{repo}/copy-target``."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="the repo to copy, ORG/REPO", min_length=3, max_length=200)
    bucket_nickname: BucketNickname | None = None
    prefix: Prefix | None = None


class CopyCompleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=3, max_length=200)


class MoveTargetRequest(BaseModel):
    """Start (or resume) a move: ``POST /orgs/{org}/repos/{repo}/move-target``."""

    model_config = ConfigDict(extra="forbid")

    bucket_nickname: BucketNickname
    prefix: Prefix | None = None


class TransferPlan(BaseModel):
    """Where to copy from and to, with credentials: read-only for the source, write for the target.

    Both are ``open`` answers, given although the target (and, during a move, the source) is offline.
    """

    source: OpenRepoResponse
    target: OpenRepoResponse
    target_name: str = Field(
        description="ORG/REPO of the target entry: the destination, or a move's temporary entry"
    )
    resumed: bool = Field(default=False, description="the target existed from an earlier, interrupted run")


class MoveResult(BaseModel):
    """What ``move-complete`` answers: the repo at its new location and the trash entry of the old one."""

    repo: Repo
    trash_id: str


class CopyProgress(BaseModel):
    """What a copy reports to its ``progress`` callback, after every object."""

    phase: str = Field(description="listing, copying, refs or verifying")
    objects_done: int = 0
    objects_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    skipped_objects: int = 0


class CopyResult(BaseModel):
    """The summary of a verified copy (or move)."""

    source: str
    destination: str
    objects: int = Field(description="objects at the source, all present and verified at the destination")
    bytes: int
    copied_objects: int
    copied_bytes: int
    skipped_objects: int = Field(description="already copied and verified by an earlier, interrupted run")
    skipped_bytes: int
    seconds: float
    mb_per_s: float = Field(description="bytes of the repo (MB = 10^6) per second of the whole operation")
    refs: dict[str, str] = Field(description="branch.NAME / tag.NAME -> snapshot id, equal at both ends")
    resumed: bool = False
    repo: Repo | None = None
    trash_id: str | None = Field(default=None, description="a move: the trash entry of the old location")
