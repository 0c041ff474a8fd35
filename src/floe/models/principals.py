"""Roles, API clients, the caller (``Principal``) and permission checks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from floe.models.common import check_name


class Role(StrEnum):
    """A principal's role in an org, weakest last. API clients cannot be owners."""

    owner = "owner"
    admin = "admin"
    member = "member"
    viewer = "viewer"


class ApiClientRole(StrEnum):
    """The roles an API client may have (owners are people)."""

    admin = "admin"
    member = "member"
    viewer = "viewer"


class GrantLevel(StrEnum):
    """What a per-repo grant allows, on top of the principal's org role."""

    read = "read"
    write = "write"
    admin = "admin"


class ApiClientCreate(BaseModel):
    name: Annotated[str, AfterValidator(lambda v: check_name(v, entity="API client", max_length=64))]
    role: ApiClientRole = ApiClientRole.member
    email: str | None = None
    expires_in_days: float | None = Field(default=None, gt=0, le=3650)


class ApiClient(BaseModel):
    id: UUID
    org: str
    name: str
    email: str
    role: Role
    created: datetime
    expiration: datetime | None = None
    last_used: datetime | None = None
    revoked: bool = False


class ApiClientWithToken(ApiClient):
    token: str = Field(description="shown once: store it now")


class ApiClientAuthenticated(BaseModel):
    """``ApiClientResponse`` of the arraylake client: which API client a token belongs to."""

    model_config = ConfigDict(populate_by_name=True)

    id: UUID = Field(alias="_id")
    email: str
    created: datetime
    expiration: datetime
    last_used: datetime | None = None


class Principal(BaseModel):
    """The caller (``/user``): ``ApiTokenInfo`` of the arraylake client for API clients,
    ``UserInfo`` (with ``first_name``) for people, plus Floe's orgs and roles."""

    id: UUID
    kind: Literal["user", "api_client"] = "api_client"
    client_id: str | None = None
    email: str
    expiration: int
    first_name: str | None = Field(default=None, description="people only: marks a UserInfo answer")
    family_name: str | None = None
    org: str | None = Field(default=None, description="an API client's org")
    role: Role | None = Field(default=None, description="an API client's role")
    orgs: dict[str, Role] = Field(default_factory=dict, description="org name -> role")
    name: str | None = None
    is_site_admin: bool = False
    session_id: str | None = Field(default=None, description="people only: the session this token belongs to")


class OrgAction(StrEnum):
    CAN_MANAGE_USERS = "CAN_MANAGE_USERS"
    CAN_WRITE_REPOS = "CAN_WRITE_REPOS"
    CAN_READ_REPOS = "CAN_READ_REPOS"
    CAN_READ_REPOS_WITH_FLUX = "CAN_READ_REPOS_WITH_FLUX"


class RepoAction(StrEnum):
    CAN_READ_WITH_FLUX = "CAN_READ_WITH_FLUX"
    CAN_READ = "CAN_READ"
    CAN_WRITE = "CAN_WRITE"
    CAN_MANAGE_USERS = "CAN_MANAGE_USERS"
    CAN_SYNC = "CAN_SYNC"


class PermissionCheck(BaseModel):
    has_permission: bool
