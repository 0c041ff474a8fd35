"""Repos, their status, virtual chunk containers and commit leases."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from floe.models.buckets import Bucket
from floe.models.common import BucketNickname, Prefix, RepoMetadata, RepoName


class RepoKind(StrEnum):
    icechunk = "icechunk"


class RepoMode(StrEnum):
    """Operation status of a repo: clients write only while it is ``online``."""

    online = "online"
    maintenance = "maintenance"
    offline = "offline"


class RepoStatusUpdate(BaseModel):
    mode: RepoMode
    message: str | None = None


class RepoStatus(RepoStatusUpdate):
    initiated_by: dict[str, Any] = Field(default_factory=dict)
    is_user_modifiable: bool = True
    estimated_end_time: datetime | None = None


class RepoCreate(BaseModel):
    """Register (or create) a repo: ``RepoCreateBody`` in the arraylake client."""

    name: RepoName
    description: str | None = None
    bucket_nickname: BucketNickname | None = None
    kind: RepoKind = RepoKind.icechunk
    metadata: RepoMetadata | None = None
    prefix: Prefix | None = None
    create_mode: Literal["create", "register", "import"] = "register"
    spec_version: int | None = None


class RepoImport(BaseModel):
    """Register an Icechunk repo that already exists at ``prefix`` of a bucket config."""

    name: RepoName
    description: str | None = None
    bucket_nickname: BucketNickname | None = None
    kind: RepoKind = RepoKind.icechunk
    metadata: RepoMetadata | None = None
    prefix: Prefix


class RepoUpdate(BaseModel):
    """Change a repo's description or metadata (``RepoModifyRequest`` in arraylake)."""

    description: str | None = None
    add_metadata: RepoMetadata | None = None
    remove_metadata: list[str] | None = None
    update_metadata: RepoMetadata | None = None
    optimization_config: dict[str, Any] | None = None


class Repo(BaseModel):
    """A repo in the catalog."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    org: str
    name: str
    created: datetime
    updated: datetime
    description: str | None = None
    metadata: RepoMetadata | None = None
    created_by: UUID | None = None
    visibility: str = "PRIVATE"
    bucket: Bucket | None = None
    status: RepoStatus
    kind: RepoKind = RepoKind.icechunk
    prefix: str
    permissions: list[dict[str, Any]] = Field(default_factory=list)
    state: Literal["ready", "creating", "registered"] = Field(
        default="ready",
        description="ready; creating (the server is creating its Icechunk repo); registered (its creator "
        "is creating it): only ready repos open, except a registered one for its creator",
    )
    commit_protection: Literal["store", "leases"] = Field(
        default="store",
        description="what keeps concurrent commits safe: the store's conditional writes, or Floe's commit leases",
    )

    @field_serializer("created", "updated")
    def _iso(self, dt: datetime) -> str:
        return dt.replace(tzinfo=UTC).isoformat()

    @property
    def full_name(self) -> str:
        return f"{self.org}/{self.name}"


class VirtualContainersUpdate(BaseModel):
    """Add (URL prefix -> bucket config nickname) or remove virtual chunk containers of a repo."""

    add: dict[str, str] | None = None
    remove: list[str] | None = None


class VirtualAccessPolicyBody(BaseModel):
    """An org's virtual chunk access policy, as set or deleted: a bucket config and a subprefix in it."""

    use_case: Literal["explicit"] = "explicit"
    bucket_id: UUID
    subprefix: str = Field(default="", max_length=1024)
    public: bool = False


class VirtualAccessPolicy(VirtualAccessPolicyBody):
    """A virtual chunk access policy: repos of the org may register virtual chunk containers under
    ``url_prefix``. Once an org has one, containers outside every policy are refused."""

    url_prefix: str
    created: datetime
    created_by: str


class LeaseRequest(BaseModel):
    """Ask for (or renew) the lease on a ref."""

    holder: str = Field(min_length=1, max_length=200, description="who holds it: host, process, purpose")
    ttl_seconds: float = Field(default=30, ge=1, le=600)


class Lease(BaseModel):
    """A commit lease: while held, only its holder moves the ref."""

    ref: str
    lease_id: str
    holder: str
    principal_id: str
    principal_name: str
    acquired: datetime
    expires: datetime
    renewed: datetime
