"""Wire models for people and access: users, org members, repo grants, sessions, the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, Field

MIN_PASSWORD_LENGTH = 10


def normalize_email(value: str) -> str:
    """An email address, checked for shape and lower-cased; ValueError says what is wrong."""
    try:
        checked = validate_email(value.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValueError(f"invalid email address {value!r}: {exc}") from None
    return checked.normalized.lower()


def check_password(value: str) -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(value) > 1024:
        raise ValueError("password too long: use at most 1024 characters")
    return value


Email = Annotated[str, AfterValidator(normalize_email)]
Password = Annotated[str, AfterValidator(check_password)]
PersonName = Annotated[str, Field(min_length=1, max_length=200)]


class UserCreate(BaseModel):
    email: Email
    name: PersonName
    password: Password | None = Field(
        default=None, description="for email + password sign-in; omit for people who sign in upstream"
    )
    is_site_admin: bool = False


class UserUpdate(BaseModel):
    name: PersonName | None = None
    password: Password | None = None
    disabled: bool | None = Field(default=None, description="a disabled user cannot sign in; sessions end")
    is_site_admin: bool | None = None


class SelfUpdate(BaseModel):
    name: PersonName | None = None


class PasswordChange(BaseModel):
    current_password: str
    new_password: Password


class User(BaseModel):
    id: UUID
    email: str
    name: str
    is_site_admin: bool = False
    disabled: bool = False
    has_password: bool = False
    upstream: str | None = Field(default=None, description="the OpenID Connect issuer they sign in with")
    created: datetime
    last_sign_in: datetime | None = None
    orgs: dict[str, str] = Field(default_factory=dict, description="org name -> role")


class MemberSet(BaseModel):
    role: Literal["owner", "admin", "member", "viewer"]


class Member(BaseModel):
    user_id: UUID
    email: str
    name: str
    role: str
    added: datetime


class GrantSet(BaseModel):
    level: Literal["read", "write", "admin"]


class Grant(BaseModel):
    principal_id: UUID
    principal_kind: Literal["user", "api_client"]
    principal: str = Field(description="a user's email or an API client's name")
    level: str
    created: datetime
    created_by: str | None = None


class Session(BaseModel):
    id: UUID
    kind: Literal["cli", "web"]
    client: str | None = None
    address: str | None = None
    created: datetime
    expires: datetime
    last_used: datetime | None = None
    current: bool = False


class AuditEvent(BaseModel):
    id: int
    at: datetime
    org: str | None = None
    actor_id: str | None = None
    actor_kind: str | None = None
    actor: str | None = Field(default=None, description="a user's email or an API client's name")
    action: str = Field(description="what happened, e.g. repo.create, credentials.vend, sign_in.failed")
    resource: str | None = Field(default=None, description="what it happened to, e.g. org/repo")
    address: str | None = Field(default=None, description="the caller's network address")
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditPage(BaseModel):
    items: list[AuditEvent]
    next_cursor: str | None = Field(default=None, description="pass as cursor= for the next (older) page")


class DeviceAuthorization(BaseModel):
    """RFC 8628 device authorization response."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


class TokenResponse(BaseModel):
    """RFC 6749 token response for the device grant."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str | None = None


class SignInConfig(BaseModel):
    """How people sign in to this server."""

    password: bool = True
    oidc: str | None = Field(default=None, description="the upstream provider's display name, if configured")
    device_authorization_endpoint: str
    token_endpoint: str
    # arraylake client: it signs in with the OAuth device flow at https://{domain}/oauth/...
    domain: str | None = Field(default=None, description="this server's host[:port] (arraylake client)")
    client_id: str = Field(default="floe", description="the OAuth client id to send (arraylake client)")
