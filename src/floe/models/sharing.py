"""Wire models for share links: read-only, expiring, revocable links to one repo."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from floe.models import Capabilities, TempCredentials

SHARE_TOKEN_PREFIX = "fls_"  # "floe link share": recognisable in a URL, never an API token (ema_)
MAX_SHARE_SECONDS = 90 * 24 * 3600  # 90 days
MAX_SHARE_TEXT = "90 days"
MAX_REF_LENGTH = 300
MAX_NOTE_LENGTH = 200

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", re.IGNORECASE)


def parse_duration(value: Any) -> float:
    """Seconds from ``3600``, ``"3600"``, ``"30m"``, ``"12h"``, ``"7d"`` or ``"2w"``; ValueError otherwise,
    or when it is not more than 0 or more than 90 days."""
    if isinstance(value, bool):
        raise ValueError("expected seconds or a duration such as 7d, 12h or 30m")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        found = _DURATION.fullmatch(value)
        if not found:
            raise ValueError(
                f"invalid duration {value!r}: give seconds or a number with s, m, h, d or w, e.g. 7d, 12h, 30m"
            )
        seconds = float(found[1]) * _UNITS[(found[2] or "s").lower()]
    else:
        raise ValueError("expected seconds or a duration such as 7d, 12h or 30m")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError("a share link must expire after more than 0 seconds")
    if seconds > MAX_SHARE_SECONDS:
        raise ValueError(
            f"a share link may last at most {MAX_SHARE_TEXT} ({MAX_SHARE_SECONDS} seconds); "
            "create a new one when it expires"
        )
    return seconds


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


class ShareLinkCreate(BaseModel):
    """A request for a share link. ``expires_in``: seconds, or ``7d`` / ``12h`` / ``30m`` (at most 90 days)."""

    model_config = ConfigDict(extra="forbid")

    expires_in: float = Field(
        description="seconds until the link expires, or a duration such as 7d, 12h, 30m"
    )
    ref: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REF_LENGTH,
        description="the branch, tag or snapshot id the link points at (default: main)",
    )
    note: str | None = Field(default=None, max_length=MAX_NOTE_LENGTH, description="what the link is for")

    @field_validator("expires_in", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value or any(ord(c) < 32 for c in value):
            raise ValueError("ref must be a branch, a tag or a snapshot id")
        return value


ShareStatus = Literal["active", "expired", "revoked"]


class ShareLink(BaseModel):
    """A share link as its repo's admins see it: never its token."""

    id: str
    repo: str = Field(description="ORG/REPO")
    ref: str | None = None
    note: str | None = None
    created: datetime
    created_by: str | None = Field(default=None, description="who created it (email or API client name)")
    expires: datetime
    revoked: datetime | None = None
    status: ShareStatus
    uses: int = 0
    last_used: datetime | None = None

    @field_serializer("created", "expires", "revoked", "last_used")
    def _times(self, dt: datetime | None) -> str | None:
        return _iso(dt)


class ShareLinkWithToken(ShareLink):
    """The answer to creating a link: the only time its token and URL are shown."""

    token: str
    url: str = Field(description="the link: {server}/shared/{token}")


class SharedRepoOpen(BaseModel):
    """What a share link hands out (``GET /shared/{token}/open``): enough to open the repo read-only."""

    repo: str = Field(description="ORG/REPO")
    ref: str | None = Field(default=None, description="the ref the link points at (None: main)")
    expires: datetime = Field(description="when the link expires")
    share_id: str
    platform: str
    bucket: str = Field(description="bucket / container name, or directory for `file`")
    prefix: str = Field(description="the repo's full prefix in the bucket")
    extra_config: dict[str, str | bool] = Field(default_factory=dict)
    auth_method: str = Field(
        description="how the credentials below are used; never the bucket config's secrets"
    )
    capabilities: Capabilities | None = Field(default=None, description="conditional writes, as clients need")
    credentials: TempCredentials | None = Field(
        default=None, description="read-only credentials (None where none are needed)"
    )

    @field_serializer("expires")
    def _expires(self, dt: datetime) -> str | None:
        return _iso(dt)
