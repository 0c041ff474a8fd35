"""Principals and permissions: one function decides who may do what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal

from floe.models import GrantLevel, Role


class Action(StrEnum):
    """What a route needs. Every route names one; :func:`decide` answers."""

    ORG_READ = "org:read"
    ORG_ADMIN = "org:admin"  # members (below owner), API clients, org settings
    ORG_OWNER = "org:owner"  # owners and admins
    AUDIT_READ = "audit:read"
    REPO_READ = "repo:read"
    REPO_WRITE = "repo:write"
    REPO_ADMIN = "repo:admin"  # status, delete, grants
    BUCKET_READ = "bucket:read"  # nickname, platform, location; no credential settings
    BUCKET_USE = "bucket:use"  # create repos in it, read its credentials
    BUCKET_ADMIN = "bucket:admin"  # create, modify, delete; read every setting (secrets aside)
    SITE_ADMIN = "site:admin"


_VIEWER = frozenset({Action.ORG_READ, Action.REPO_READ, Action.BUCKET_READ})
_MEMBER = _VIEWER | {Action.REPO_WRITE, Action.BUCKET_USE}
_ADMIN = frozenset(set(Action) - {Action.SITE_ADMIN, Action.ORG_OWNER})
_ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.viewer: _VIEWER,
    Role.member: _MEMBER,
    Role.admin: _ADMIN,
    Role.owner: _ADMIN | {Action.ORG_OWNER},
}
_GRANT_ACTIONS: dict[GrantLevel, frozenset[Action]] = {
    GrantLevel.read: frozenset({Action.REPO_READ}),
    GrantLevel.write: frozenset({Action.REPO_READ, Action.REPO_WRITE}),
    GrantLevel.admin: frozenset({Action.REPO_READ, Action.REPO_WRITE, Action.REPO_ADMIN}),
}


@dataclass(frozen=True)
class Caller:
    """Who is calling: a person (``user``, member of any number of orgs) or an API client
    (``api_client``, of one org). Site admins may act in every org."""

    id: str
    kind: Literal["user", "api_client"]
    name: str
    email: str
    roles: Mapping[str, Role]  # org id -> role
    org_names: Mapping[str, str]  # org id -> org name
    is_site_admin: bool
    expiration: datetime | None
    session_id: str | None = None
    address: str | None = None

    @property
    def label(self) -> str:
        """How the audit trail and messages name this principal."""
        return self.email if self.kind == "user" else self.name

    def with_address(self, address: str | None) -> Caller:
        return replace(self, address=address)


def decide(principal: Caller, action: Action, org_id: str | None, grant: GrantLevel | None = None) -> bool:
    """True when ``principal`` may perform ``action`` in the org ``org_id``.

    ``grant`` is the principal's grant on the repo concerned, if any: it adds repo actions on
    top of the org role, and never reaches past the org (grants exist only for its principals).
    """
    if principal.is_site_admin:
        return True
    if action is Action.SITE_ADMIN or org_id is None:
        return False
    role = principal.roles.get(org_id)
    if role is None:
        return False
    if action in _ROLE_ACTIONS[role]:
        return True
    return grant is not None and action in _GRANT_ACTIONS[grant]
