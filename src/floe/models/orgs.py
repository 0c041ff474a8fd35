"""Orgs: ``OrgCreate``, ``Org``, ``OrgUpdate``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from floe.models.common import OrgName

MAX_TRASH_RETENTION_DAYS = 3650


class OrgCreate(BaseModel):
    name: OrgName
    description: str | None = None


class Org(BaseModel):
    id: UUID
    name: str
    description: str | None = None
    created: datetime
    default_bucket_nickname: str | None = None
    # days a deleted repo's objects are kept in the trash before they are purged
    trash_retention_days: float | None = None


class OrgUpdate(BaseModel):
    """Change an org's description or its trash retention (org admins)."""

    description: str | None = Field(default=None, max_length=2000)
    trash_retention_days: int | None = Field(default=None, ge=0, le=MAX_TRASH_RETENTION_DAYS)
