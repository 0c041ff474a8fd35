"""The trash: deleted repos (and the old locations of moved ones) kept until they are purged."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from floe.models import RepoName

TrashReason = Literal["deleted", "moved"]


class TrashedRepo(BaseModel):
    """One entry of an org's trash: where the objects are, and until when they are kept."""

    id: str
    org: str
    name: str
    reason: TrashReason
    bucket_nickname: str
    prefix: str
    description: str | None = None
    metadata: dict[str, Any] | None = None
    created: datetime
    trashed: datetime
    trashed_by: str | None = None
    purge_after: datetime


class RepoRestore(BaseModel):
    """Give a trashed repo back, under its own name or ``name``."""

    name: RepoName | None = None


class PurgeResult(BaseModel):
    """What a purge removed."""

    id: str
    name: str
    objects_deleted: int
    keep_data: bool
