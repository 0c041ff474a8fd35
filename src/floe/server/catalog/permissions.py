"""The permission-check route: does principal P have action A on resource R?"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from floe.server.auth import Action, Caller, decide
from floe.server.catalog.base import Catalog, may, org_row
from floe.server.catalog.principals import principal_by_id
from floe.server.db import tables as t


def check_permission(
    cat: Catalog,
    principal: Caller,
    org_name: str,
    *,
    principal_id: str,
    resource: str,
    action: Callable[[bool], Action],
) -> bool:
    """Answer with the same :func:`decide` every route uses.

    ``resource`` is the org name, ``ORG/REPO``, or a repo id; ``action(on_repo)`` gives the action to
    check (``floe.server.arraylake.action_named`` reads the action names of the route).
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
        wanted = action(repo_id is not None)
        subject = principal_by_id(cat, principal_id)
        if subject is None:
            return False
        if repo_id is None:
            return decide(subject, wanted, org.id)
        return may(conn, subject, wanted, org.id, repo_id)  # the org role, or the subject's grant on it
