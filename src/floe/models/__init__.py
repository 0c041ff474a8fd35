"""Pydantic models of the wire format, shared by the server and the client.

The shapes follow the Arraylake service API that the public ``arraylake`` client (0.33)
calls, so that client can talk to a Floe server; Floe's own additions are extra fields
(which that client ignores) and routes of its own.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeAlias, TypeVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_serializer

NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.\-]+"
_NAME_RE = re.compile(NAME_PATTERN)
MAX_REPO_NAME_LENGTH = 128
MAX_NICKNAME_LENGTH = 64
MAX_PREFIX_LENGTH = 256
REDACTED = "********"


def check_name(value: str, *, entity: str, max_length: int = MAX_REPO_NAME_LENGTH) -> str:
    """Validate an org, repo, bucket-nickname or API-client name; raise ValueError naming the fix."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise ValueError(
            f"invalid {entity} name {value!r}: use at least 2 characters, letters, digits, '_', '.' or '-', "
            "starting with a letter, digit or '_'"
        )
    if len(value) > max_length:
        raise ValueError(f"invalid {entity} name: at most {max_length} characters, got {len(value)}")
    return value


# The web app shows an org at /{org}: no org may take the name of a top-level path of the server
# (tests/test_web.py checks that every route's first segment is here).
RESERVED_ORG_NAMES = frozenset(
    {
        "account", "admin", "api", "api-clients", "assets", "audit", "auth", "compute", "device", "docs",
        "favicon.ico", "health", "login", "logout", "metrics", "new", "openapi.json", "orgs", "redoc",
        "repos", "robots.txt", "services", "sessions", "settings", "shared", "static", "user", "users",
    }
)  # fmt: skip


def _org_name(v: str) -> str:
    check_name(v, entity="org", max_length=MAX_NICKNAME_LENGTH)
    if v.lower() in RESERVED_ORG_NAMES:
        raise ValueError(f"the org name {v!r} is reserved (the web app uses /{v}); pick another name")
    return v


def _repo_name(v: str) -> str:
    return check_name(v, entity="repo")


def _nickname(v: str) -> str:
    value = check_name(v.strip() if isinstance(v, str) else v, entity="bucket config", max_length=64)
    if len(value) < 3:  # the arraylake client refuses shorter nicknames (and then a whole listing)
        raise ValueError(f"invalid bucket config nickname {value!r}: use at least 3 characters")
    return value


def check_prefix(value: str) -> str:
    """Validate an object-store prefix: no spaces, no leading/trailing slash, no '..' parts."""
    value = value.strip()
    if value == "":
        return value
    if " " in value:
        raise ValueError(f"invalid prefix {value!r}: must not contain spaces")
    if value.startswith("/") or value.endswith("/"):
        raise ValueError(f"invalid prefix {value!r}: must not start or end with '/'")
    if any(part in ("", ".", "..") for part in value.split("/")):
        raise ValueError(f"invalid prefix {value!r}: empty, '.' and '..' path parts are not allowed")
    if len(value) > MAX_PREFIX_LENGTH:
        raise ValueError(f"invalid prefix: at most {MAX_PREFIX_LENGTH} characters")
    return value


OrgName: TypeAlias = Annotated[str, AfterValidator(_org_name)]
RepoName: TypeAlias = Annotated[str, AfterValidator(_repo_name)]
BucketNickname: TypeAlias = Annotated[str, AfterValidator(_nickname)]
Prefix: TypeAlias = Annotated[str, AfterValidator(check_prefix)]

ScalarType = str | int | float | bool | None
MAX_METADATA_VALUE = 1000


def _check_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    for key, item in (value or {}).items():
        if not 1 <= len(key) <= 256:
            raise ValueError(f"metadata key {key[:40]!r} must be 1 to 256 characters")
        for scalar in item if isinstance(item, list) else [item]:
            if isinstance(scalar, str) and len(scalar) > MAX_METADATA_VALUE:
                raise ValueError(f"metadata value of {key!r} is longer than {MAX_METADATA_VALUE} characters")
    return value


RepoMetadata = Annotated[dict[str, ScalarType | list[ScalarType]], AfterValidator(_check_metadata)]

T = TypeVar("T")

# Platforms the official arraylake client understands; the rest are Floe's own.
ARRAYLAKE_PLATFORMS = frozenset({"s3", "s3-compatible", "minio", "gs", "azure"})
Platform = Literal["s3", "s3-compatible", "minio", "r2", "tigris", "gs", "azure", "file", "memory"]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Paginated(BaseModel, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int
    page: int
    size: int
    pages: int


# --- orgs --------------------------------------------------------------------------------


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

SECRET_FIELDS = frozenset(
    {
        "secret_access_key",
        "read_secret_access_key",
        "account_key",
        "service_account_key",
        "sas_token",
        "password",
        "session_token",
    }
)


def redact_auth(auth: dict[str, Any] | None) -> dict[str, Any] | None:
    """The auth config as readers may see it: every secret replaced by ``REDACTED``."""
    if auth is None:
        return None
    return {k: (REDACTED if k in SECRET_FIELDS and v else v) for k, v in auth.items()}


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


class BucketModify(BaseModel):
    """Fields of a bucket config to change; unset fields are kept."""

    model_config = ConfigDict(extra="forbid")

    nickname: BucketNickname | None = None
    platform: Platform | None = None
    name: str | None = None
    prefix: Prefix | None = None
    extra_config: dict[str, str | bool] | None = None
    auth_config: AuthConfig | None = None


class BucketResponse(BaseModel):
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
    capabilities: dict[str, Any] | None = Field(
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


# --- repos -------------------------------------------------------------------------------


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


class RepoModify(BaseModel):
    """Change a repo's description or metadata (``RepoModifyRequest`` in arraylake)."""

    description: str | None = None
    add_metadata: RepoMetadata | None = None
    remove_metadata: list[str] | None = None
    update_metadata: RepoMetadata | None = None
    optimization_config: dict[str, Any] | None = None


def needs_leases(capabilities: dict[str, Any] | None) -> bool:
    """True when a probe found the store lacking conditional create or update."""
    caps = capabilities or {}
    return caps.get("conditional_create") is False or caps.get("conditional_update") is False


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
    bucket: BucketResponse | None = None
    status: RepoStatus
    kind: RepoKind = RepoKind.icechunk
    prefix: str
    permissions: list[dict[str, Any]] = Field(default_factory=list)
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


# --- credentials and open ----------------------------------------------------------------


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


class Author(BaseModel):
    name: str | None = None
    email: str


class OpenRepoResponse(BaseModel):
    """Everything a client needs to open a repo, in one response."""

    repo_bucket: BucketResponse
    repo_prefix: str
    repo_credentials: TempCredentials | None = None
    virtual_chunk_credentials: dict[str, Any] = Field(default_factory=dict)
    author: Author
    principal_id: str
    status: RepoStatus
    repo: Repo | None = None
    can_write: bool = Field(default=True, description="whether the caller may write to this repo")


# --- principals and API clients ----------------------------------------------------------


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


class VirtualContainersPatch(BaseModel):
    """Add (URL prefix -> bucket config nickname) or remove virtual chunk containers of a repo."""

    add: dict[str, str] | None = None
    remove: list[str] | None = None


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


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    database: str


from floe.models.access import (  # noqa: E402, F401  (people and access: re-exported)
    MIN_PASSWORD_LENGTH,
    AuditEvent,
    AuditPage,
    DeviceAuthorization,
    Grant,
    GrantSet,
    Member,
    MemberSet,
    PasswordChange,
    SelfUpdate,
    Session,
    SignInConfig,
    TokenResponse,
    User,
    UserCreate,
    UserUpdate,
    normalize_email,
)
