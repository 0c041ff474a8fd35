"""The permission-check route: does principal P have action A on resource R?"""

from __future__ import annotations

import sqlalchemy as sa

from floe.errors import ValidationError
from floe.models import OrgAction
from floe.server.auth import ARRAYLAKE_ACTIONS, Action, Principal, decide
from floe.server.catalog.base import Catalog, may, org_row
from floe.server.catalog.principals import principal_by_id
from floe.server.db import tables as t


def check_permission(
    cat: Catalog, principal: Principal, org_name: str, *, principal_id: str, resource: str, action: str
) -> bool:
    """Answer with the same :func:`decide` every route uses.

    ``resource`` is the org name, ``ORG/REPO``, or a repo id; ``action`` is an arraylake action
    name (``CAN_READ``, ``CAN_WRITE_REPOS``, ...) or a Floe one (``repo:write``, ...).
    """
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_READ)
        repo_id = None
        if resource not in (org.name, org.id):
            repo_name = resource.split("/", 1)[1] if resource.startswith(f"{org.name}/") else None
            cond = t.repos.c.name == repo_name if repo_name else t.repos.c.id == resource
            repo_id = conn.execute(sa.select(t.repos.c.id).where(t.repos.c.org_id == org.id, cond)).scalar()
            if repo_id is None:
                return False
        wanted = _action(action, on_repo=repo_id is not None)
        subject = principal_by_id(cat, principal_id)
        if subject is None:
            return False
        if repo_id is None:
            return decide(subject, wanted, org.id)
        return may(conn, subject, wanted, org.id, repo_id)  # the org role, or the subject's grant on it


def _action(name: str, *, on_repo: bool) -> Action:
    """Floe's action for an arraylake or Floe action name; ``CAN_MANAGE_USERS`` (the same name for
    orgs and repos) means managing the org's people, or the repo's grants."""
    if name == OrgAction.CAN_MANAGE_USERS:
        return Action.REPO_ADMIN if on_repo else Action.ORG_ADMIN
    wanted = ARRAYLAKE_ACTIONS.get(name)
    if wanted is not None:
        return wanted
    try:
        return Action(name)
    except ValueError:
        names = sorted({*ARRAYLAKE_ACTIONS, *(a.value for a in Action)})
        raise ValidationError(f"unknown action {name!r}: use one of {', '.join(names)}") from None
