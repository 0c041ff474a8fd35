"""Names, prefixes, metadata and pages: the building blocks every resource model uses."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeAlias, TypeVar

from pydantic import AfterValidator, BaseModel

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
        "favicon.ico", "health", "login", "logout", "metrics", "new", "oauth", "openapi.json", "orgs", "redoc",
        "repos", "robots.txt", "services", "sessions", "settings", "shared", "static", "user", "users",
        "v2",  # /oauth/... and /v2/logout: the arraylake client's sign-in (floe.server.arraylake_signin)
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
MAX_METADATA_KEYS = 100
MAX_METADATA_LIST = 100


def _check_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value and len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"metadata has {len(value)} keys; at most {MAX_METADATA_KEYS}")
    for key, item in (value or {}).items():
        if isinstance(item, list) and len(item) > MAX_METADATA_LIST:
            raise ValueError(
                f"metadata value of {key[:40]!r} is a list of {len(item)} items; at most {MAX_METADATA_LIST}"
            )
        if not 1 <= len(key) <= 256:
            raise ValueError(f"metadata key {key[:40]!r} must be 1 to 256 characters")
        for scalar in item if isinstance(item, list) else [item]:
            if isinstance(scalar, str) and len(scalar) > MAX_METADATA_VALUE:
                raise ValueError(f"metadata value of {key!r} is longer than {MAX_METADATA_VALUE} characters")
    return value


RepoMetadata = Annotated[dict[str, ScalarType | list[ScalarType]], AfterValidator(_check_metadata)]

# Times a caller may pass (since, until): ones the database and UTC conversion can hold.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def _bounded_time(value: datetime) -> datetime:
    """The time in UTC (naive times are UTC), between 1970 and 9999."""
    problem = f"must be a time from {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d} (UTC)"
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError(problem) from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(problem)
    return utc


BoundedTime: TypeAlias = Annotated[datetime, AfterValidator(_bounded_time)]
MAX_PAGE_NUMBER = 1_000_000

T = TypeVar("T")

Platform = Literal["s3", "s3-compatible", "minio", "r2", "tigris", "gs", "azure", "file", "memory"]


class Paginated(BaseModel, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int
    page: int
    size: int
    pages: int


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    database: str
