"""People and access: user accounts, your own profile, org members, repo grants, the audit trail."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from floe.models import (
    AuditPage,
    Grant,
    GrantSet,
    Member,
    MemberSet,
    PasswordChange,
    SelfUpdate,
    User,
    UserCreate,
    UserUpdate,
)
from floe.models.common import BoundedTime
from floe.server.catalog import audit, members, signin, users
from floe.server.deps import CallerDep, CatalogDep

router = APIRouter()


@router.patch("/user", response_model=User, tags=["people"])
def update_self(body: SelfUpdate, cat: CatalogDep, principal: CallerDep) -> User:
    """Change your own display name."""
    return users.update_self(cat, principal, body)


@router.post("/user/password", status_code=204, tags=["people"])
def change_password(body: PasswordChange, cat: CatalogDep, principal: CallerDep) -> Response:
    """Change your own password; your other sessions end."""
    signin.change_password(cat, principal, body.current_password, body.new_password)
    return Response(status_code=204)


@router.get("/users", response_model=list[User], tags=["people"])
def list_users(cat: CatalogDep, principal: CallerDep) -> list[User]:
    """Every user account (site admins)."""
    return users.list_users(cat, principal)


@router.post("/users", response_model=User, status_code=201, tags=["people"])
def create_user(body: UserCreate, cat: CatalogDep, principal: CallerDep) -> User:
    """Create a user account (site admins); with a password they can sign in with email + password."""
    return users.create_user(cat, principal, body)


@router.get("/users/{user}", response_model=User, tags=["people"])
def get_user(user: str, cat: CatalogDep, principal: CallerDep) -> User:
    """A user by email or id (site admins; anyone for themselves)."""
    return users.get_user(cat, principal, user)


@router.patch("/users/{user}", response_model=User, tags=["people"])
def update_user(user: str, body: UserUpdate, cat: CatalogDep, principal: CallerDep) -> User:
    """Rename, reset the password, disable or enable, make or unmake site admin (site admins)."""
    return users.update_user(cat, principal, user, body)


@router.get("/orgs/{org}/members", response_model=list[Member], tags=["members"])
def list_members(org: str, cat: CatalogDep, principal: CallerDep) -> list[Member]:
    return members.list_members(cat, principal, org)


@router.put("/orgs/{org}/members/{email}", response_model=Member, tags=["members"])
def set_member(org: str, email: str, body: MemberSet, cat: CatalogDep, principal: CallerDep) -> Member:
    """Add a person to the org, or change their role (owners manage owners; admins the rest)."""
    return members.set_member(cat, principal, org, email, body.role)


@router.delete("/orgs/{org}/members/{email}", status_code=204, tags=["members"])
def remove_member(org: str, email: str, cat: CatalogDep, principal: CallerDep) -> Response:
    members.remove_member(cat, principal, org, email)
    return Response(status_code=204)


@router.get("/repos/{org}/{repo}/grants", response_model=list[Grant], tags=["grants"])
def list_grants(org: str, repo: str, cat: CatalogDep, principal: CallerDep) -> list[Grant]:
    return members.list_grants(cat, principal, org, repo)


@router.put("/repos/{org}/{repo}/grants/{grantee}", response_model=Grant, tags=["grants"])
def set_grant(
    org: str, repo: str, grantee: str, body: GrantSet, cat: CatalogDep, principal: CallerDep
) -> Grant:
    """Give a member (email) or API client (name or id) read, write or admin on this repo."""
    return members.set_grant(cat, principal, org, repo, grantee, body.level)


@router.delete("/repos/{org}/{repo}/grants/{grantee}", status_code=204, tags=["grants"])
def remove_grant(org: str, repo: str, grantee: str, cat: CatalogDep, principal: CallerDep) -> Response:
    members.remove_grant(cat, principal, org, repo, grantee)
    return Response(status_code=204)


@dataclass
class AuditQuery:
    """Filters of the audit routes. ``actor``: id, email or API client name; ``resource``: exact, or a
    prefix ending in ``/``; ``action``: exact, or a family (``repo``); ``cursor``: a page's next_cursor."""

    actor: Annotated[str | None, Query(max_length=320)] = None
    resource: Annotated[str | None, Query(max_length=1024)] = None
    action: Annotated[str | None, Query(max_length=128)] = None
    since: BoundedTime | None = None
    until: BoundedTime | None = None
    cursor: Annotated[str | None, Query(max_length=64)] = None
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 50


AuditQueryDep = Annotated[AuditQuery, Depends()]


@router.get("/orgs/{org}/audit", response_model=AuditPage, tags=["audit"])
def org_audit(org: str, query: AuditQueryDep, cat: CatalogDep, principal: CallerDep) -> AuditPage:
    """The org's audit trail, newest first (org admins)."""
    return audit.list_events(cat, principal, org_name=org, **asdict(query))


@router.get("/audit", response_model=AuditPage, tags=["audit"])
def site_audit(
    query: AuditQueryDep, cat: CatalogDep, principal: CallerDep, org: str | None = None
) -> AuditPage:
    """The whole audit trail, sign-ins and user accounts included (site admins); ``org`` narrows it."""
    return audit.list_events(cat, principal, org_name=org, **asdict(query))
