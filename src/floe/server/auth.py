"""Principals and permissions: one function decides who may do what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from floe.models import OrgAction, RepoAction, Role


class Action(StrEnum):
    """What a route needs. Every route names one; :func:`decide` answers."""

    ORG_READ = "org:read"
    ORG_ADMIN = "org:admin"
    REPO_READ = "repo:read"
    REPO_WRITE = "repo:write"
    REPO_ADMIN = "repo:admin"
    BUCKET_READ = "bucket:read"
    BUCKET_USE = "bucket:use"
    BUCKET_ADMIN = "bucket:admin"
    SITE_ADMIN = "site:admin"


_ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.viewer: frozenset({Action.ORG_READ, Action.REPO_READ, Action.BUCKET_READ}),
    Role.member: frozenset(
        {Action.ORG_READ, Action.REPO_READ, Action.REPO_WRITE, Action.BUCKET_READ, Action.BUCKET_USE}
    ),
    Role.admin: frozenset(set(Action) - {Action.SITE_ADMIN}),
}

# The arraylake client's action names, mapped onto Floe's.
ARRAYLAKE_ACTIONS: dict[str, Action] = {
    OrgAction.CAN_READ_REPOS: Action.REPO_READ,
    OrgAction.CAN_READ_REPOS_WITH_FLUX: Action.REPO_READ,
    OrgAction.CAN_WRITE_REPOS: Action.REPO_WRITE,
    OrgAction.CAN_MANAGE_USERS: Action.ORG_ADMIN,
    RepoAction.CAN_READ: Action.REPO_READ,
    RepoAction.CAN_READ_WITH_FLUX: Action.REPO_READ,
    RepoAction.CAN_WRITE: Action.REPO_WRITE,
    RepoAction.CAN_SYNC: Action.REPO_WRITE,
    RepoAction.CAN_MANAGE_USERS: Action.REPO_ADMIN,
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API client of one org (site admins may act in every org)."""

    id: str
    name: str
    email: str
    org_id: str
    org_name: str
    role: Role
    is_site_admin: bool
    expiration: datetime | None


def decide(principal: Principal, action: Action, org_id: str | None) -> bool:
    """True when ``principal`` may perform ``action`` in the org ``org_id``."""
    if principal.is_site_admin:
        return True
    if action is Action.SITE_ADMIN or org_id is None or principal.org_id != org_id:
        return False
    return action in _ROLE_ACTIONS[principal.role]
