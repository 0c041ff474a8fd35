"""Vended credentials and the one-request ``open`` answer."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

from pydantic import BaseModel, Field

from floe.models.buckets import Bucket
from floe.models.repos import Repo, RepoStatus


class S3Credentials(BaseModel):
    """S3 (and R2, Tigris, S3-compatible) credentials, possibly short-lived."""

    aws_access_key_id: str
    aws_secret_access_key: str
    aws_session_token: str | None = None
    expiration: datetime | None = None


class GSCredentials(BaseModel):
    """A GCS bearer token."""

    access_token: str
    principal: str
    expiration: datetime | None = None


class AzureCredentials(BaseModel):
    """An Azure SAS token for one storage account."""

    sas_token: str
    storage_account: str
    expiration: datetime | None = None


TempCredentials: TypeAlias = S3Credentials | GSCredentials | AzureCredentials


class VirtualContainerAccess(BaseModel):
    """Read access to one virtual chunk container of a repo: the bucket config it is in, and
    read-only credentials vended for it (None: anonymous, or the config has no read-only keys)."""

    credentials: TempCredentials | None = None
    org: str
    bucket_nickname: str
    platform: str
    auth_method: str
    bucket: Bucket


class Author(BaseModel):
    name: str | None = None
    email: str


class OpenRepoResponse(BaseModel):
    """Everything a client needs to open a repo, in one response."""

    repo_bucket: Bucket
    repo_prefix: str
    repo_credentials: TempCredentials | None = None
    virtual_chunk_credentials: dict[str, VirtualContainerAccess] = Field(
        default_factory=dict, description="URL prefix of a virtual chunk container -> read access to it"
    )
    author: Author
    principal_id: str
    status: RepoStatus
    repo: Repo | None = None
    can_write: bool = Field(default=True, description="whether the caller may write to this repo")
