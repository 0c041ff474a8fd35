"""Bucket configs (where repos are stored, and the keys to reach that storage) and shared locations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeAlias
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from floe.models.common import BucketNickname, Platform, Prefix

# --- auth config -------------------------------------------------------------------------


class AnonymousAuth(BaseModel):
    """No credentials: public data, read-only."""

    method: Literal["anonymous"] = "anonymous"


class HmacAuth(BaseModel):
    """An access key id and secret (S3, S3-compatible stores, R2, Tigris).

    Readers (viewers, read grants, read-only opens) receive the optional read-only pair, never
    the keys that can write, unless an org admin sets ``readers_get_write_keys``.
    """

    method: Literal["hmac"] = "hmac"
    access_key_id: str = Field(min_length=1)
    secret_access_key: str = Field(min_length=1)
    read_access_key_id: str | None = Field(default=None, min_length=1)
    read_secret_access_key: str | None = Field(default=None, min_length=1)
    readers_get_write_keys: bool = Field(
        default=False, description="hand the write keys to readers when there is no read-only pair"
    )


class FromEnvAuth(BaseModel):
    """Credentials from the environment of whichever process opens the repo (IAM roles, env vars)."""

    method: Literal["from_env"] = "from_env"


class NoAuth(BaseModel):
    """Storage that needs no credentials (local folder, memory)."""

    method: Literal["none"] = "none"


class AwsStsAuth(BaseModel):
    """Delegated S3 access: the server keeps long-lived keys and vends short-lived STS credentials.

    The server calls ``AssumeRole`` on ``role_arn`` with a session policy that narrows the
    credentials to the repo's prefix, and to read-only for readers.
    """

    method: Literal["aws_sts"] = "aws_sts"
    role_arn: str = Field(min_length=20, description="arn:aws:iam::ACCOUNT:role/NAME")
    access_key_id: str = Field(min_length=1)
    secret_access_key: str = Field(min_length=1)
    external_id: str | None = None
    duration_seconds: int = Field(default=3600, ge=900, le=43200)
    sts_endpoint_url: str | None = None


class GcsServiceAccountAuth(BaseModel):
    """Delegated GCS access: the server keeps a service-account key and vends bearer tokens."""

    method: Literal["gcs_service_account"] = "gcs_service_account"
    service_account_key: dict[str, Any]


class AzureAccountKeyAuth(BaseModel):
    """Delegated Azure access: the server keeps the account key and vends SAS tokens."""

    method: Literal["azure_account_key"] = "azure_account_key"
    account_name: str = Field(min_length=3)
    account_key: str = Field(min_length=1)
    duration_seconds: int = Field(default=3600, ge=300, le=7 * 24 * 3600)


class AzureSasAuth(BaseModel):
    """A SAS token issued outside Floe, handed to permitted clients as is."""

    method: Literal["azure_sas"] = "azure_sas"
    account_name: str = Field(min_length=3)
    sas_token: str = Field(min_length=1)


AuthConfig: TypeAlias = Annotated[
    AnonymousAuth
    | HmacAuth
    | FromEnvAuth
    | NoAuth
    | AwsStsAuth
    | GcsServiceAccountAuth
    | AzureAccountKeyAuth
    | AzureSasAuth,
    Field(discriminator="method"),
]


# --- bucket configs ----------------------------------------------------------------------


class BucketCreate(BaseModel):
    """A request to register a bucket config (``NewBucket`` in the arraylake client)."""

    model_config = ConfigDict(extra="forbid")

    nickname: BucketNickname
    platform: Platform
    name: str = Field(min_length=1, description="bucket / container name, or directory for `file`")
    prefix: Prefix = ""
    extra_config: dict[str, str | bool] = Field(default_factory=dict)
    auth_config: AuthConfig | None = None


class BucketUpdate(BaseModel):
    """Fields of a bucket config to change; unset fields are kept."""

    model_config = ConfigDict(extra="forbid")

    nickname: BucketNickname | None = None
    platform: Platform | None = None
    name: str | None = None
    prefix: Prefix | None = None
    extra_config: dict[str, str | bool] | None = None
    auth_config: AuthConfig | None = None


# --- what a probe found ----------------------------------------------------------------

# What went wrong, for errors a server-side object store raises:
StoreErrorKind = Literal[
    "unreachable",  # no answer from the endpoint
    "bucket_missing",  # the endpoint answered: no such bucket / container
    "keys_rejected",  # unknown key id, wrong secret, expired token
    "no_credentials",  # from_env: nothing in the server's environment
    "access_denied",  # valid keys without the permission asked for
    "clock_skew",  # the store refused the request's timestamp
    "tls",  # the TLS handshake failed
    "timeout",  # connected, but no answer within the read timeout
]

# What went wrong in a probe: what the store reported, or what the probe itself found.
ProbeErrorKind = Literal[StoreErrorKind, "no_write_permission", "read_mismatch", "storage_error"]


class Capabilities(BaseModel):
    """What the last probe of a bucket config found (``floe bucket check``).

    ``None`` means "not tested": writes are not tried on anonymous (read-only) configs, nothing
    after a failed step is tried, and readers are shown only the conditional-write findings.
    """

    checked_at: datetime | None = None
    reachable: bool | None = None
    can_list: bool | None = None
    can_read: bool | None = None
    can_write: bool | None = None
    conditional_create: bool | None = None
    conditional_update: bool | None = None
    read_keys_can_read: bool | None = Field(default=None, description="the read-only key pair reads (hmac)")
    read_keys_can_write: bool | None = Field(
        default=None, description="the read-only key pair could write: it is not read-only (hmac)"
    )
    skipped: str | None = Field(default=None, description="why the server did not check the storage")
    error: str | None = Field(default=None, description="what is wrong and how to fix it, in plain words")
    error_kind: ProbeErrorKind | None = None
    detail: str | None = Field(default=None, description="the store's own message for the error")
    notes: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error was found (the storage may still be untested: see ``skipped``)."""
        return self.error is None

    @property
    def lacks_conditional_writes(self) -> bool:
        """The store was found to ignore conditional create or update (commits need leases)."""
        return self.conditional_create is False or self.conditional_update is False


class Bucket(BaseModel):
    """A bucket config as readers see it: secrets redacted."""

    id: UUID
    nickname: str
    platform: str
    name: str
    prefix: str = ""
    extra_config: dict[str, str | bool] = Field(default_factory=dict)
    created: datetime
    updated: datetime
    created_by: str | None = None
    is_default: bool = False
    auth_config: dict[str, Any] | None = None
    capabilities: Capabilities | None = Field(
        default=None, description="what the last probe found: access, conditional create/update, errors"
    )

    @field_serializer("created", "updated")
    def _iso(self, dt: datetime) -> str:
        return dt.replace(tzinfo=UTC).isoformat()


class SharedLocationCreate(BaseModel):
    """A storage location a site admin lets an org use: outside its own folders (``file``), or
    overlapping locations of other orgs (sharing), e.g. ``s3-compatible`` bucket ``climate``."""

    model_config = ConfigDict(extra="forbid")

    platform: Platform
    name: str = Field(
        min_length=1, max_length=1024, description="bucket / container, or directory for `file`"
    )
    prefix: Prefix = ""
    extra_config: dict[str, str | bool] = Field(
        default_factory=dict, description="endpoint_url (S3-compatible, GCS, Azure) or account_name (Azure)"
    )


class SharedLocation(SharedLocationCreate):
    id: UUID
    org: str
    created: datetime
    created_by: str | None = None

    @field_serializer("created")
    def _iso(self, dt: datetime) -> str:
        return dt.replace(tzinfo=UTC).isoformat()
