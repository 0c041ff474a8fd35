"""The permission-check route: does principal P have action A on resource R?"""

from __future__ import annotations

import sqlalchemy as sa

from floe.errors import ValidationError
from floe.server.auth import ARRAYLAKE_ACTIONS, Action, Principal, decide
from floe.server.catalog.base import Catalog, org_row
from floe.server.catalog.principals import principal_by_id
from floe.server.db import tables as t


def check_permission(
    cat: Catalog, principal: Principal, org_name: str, *, principal_id: str, resource: str, action: str
) -> bool:
    """Answer with the same :func:`decide` every route uses.

    ``resource`` is the org name, ``ORG/REPO``, or a repo id; ``action`` is an arraylake action
    name (``CAN_READ``, ``CAN_WRITE_REPOS``, ...) or a Floe one (``repo:write``, ...).
    """
    wanted = ARRAYLAKE_ACTIONS.get(action)
    if wanted is None:
        try:
            wanted = Action(action)
        except ValueError:
            names = sorted({*ARRAYLAKE_ACTIONS, *(a.value for a in Action)})
            raise ValidationError(f"unknown action {action!r}: use one of {', '.join(names)}") from None
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.ORG_READ)
        if resource not in (org.name, org.id):
            repo_name = resource.split("/", 1)[1] if resource.startswith(f"{org.name}/") else None
            cond = t.repos.c.name == repo_name if repo_name else t.repos.c.id == resource
            if conn.execute(sa.select(t.repos.c.id).where(t.repos.c.org_id == org.id, cond)).first() is None:
                return False
    subject = principal_by_id(cat, principal_id)
    return subject is not None and decide(subject, wanted, org.id)
