"""``{service}/_meta/discovery``: what a caller can reach through a service, with the addresses.

* ``_meta/discovery``: the repos the caller may read through the service;
* ``_meta/discovery/{repo}``: its branches and tags;
* ``_meta/discovery/{repo}/{ref}``: its datasets (groups holding arrays: the root and subgroups),
  each with its address for the service's protocol; ``?group=a/b`` looks below one group only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from floe import inspection
from floe.errors import NotFoundError
from floe.server.auth import Action, Caller, decide
from floe.server.catalog import Catalog
from floe.server.catalog.base import may
from floe.server.catalog.contents import open_repository
from floe.server.catalog.principals import principal_for_token
from floe.server.catalog.services import (
    Deployment,
    private_service_refusal,
    service_principal,
    token_from_header,
)
from floe.server.db import tables as t

MAX_DATASETS = 1000


def caller(cat: Catalog, deployment: Deployment, authorization: str | None) -> list[Caller]:
    """Who the caller reads as, before any repo is named: their token's principal (and, on a public
    service, the anonymous reader too, since a token never gets less than none); 401 on a private
    service without a token; 404 for a token from outside the org."""
    token = token_from_header(authorization)
    if token is None:
        if not deployment.is_public:
            raise private_service_refusal(deployment)
        return [service_principal(deployment)]
    principal = principal_for_token(cat, token, touch=False)
    if deployment.is_public:
        return [principal, service_principal(deployment)]
    if not decide(principal, Action.ORG_READ, deployment.org_id):
        raise NotFoundError(f"no service {deployment.name!r} for org {deployment.org!r}")
    return [principal]


def repos(cat: Catalog, deployment: Deployment, principals: list[Caller], url: str) -> dict[str, Any]:
    """The repos any of ``principals`` (:func:`caller`) may read through the service."""
    with cat.read() as conn:
        rows = conn.execute(
            sa.select(t.repos.c.id, t.repos.c.name)
            .where(t.repos.c.org_id == deployment.org_id)
            .order_by(t.repos.c.name)
        ).all()
        names = [
            row.name
            for row in rows
            if deployment.serves(row.name)
            and any(may(conn, p, Action.REPO_READ, deployment.org_id, row.id) for p in principals)
        ]
    return {
        "service": deployment.name,
        "org": deployment.org,
        "protocol": deployment.protocol.value,
        "repos": [{"name": name, "url": f"{url}/_meta/discovery/{quote(name)}"} for name in names],
    }


def refs(cat: Catalog, deployment: Deployment, repo: str, principal: Caller, url: str) -> dict[str, Any]:
    """``principal`` reads ``repo`` through the service (:func:`reader`)."""
    _, repository = open_repository(cat, principal, deployment.org, repo)

    def listed(found: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "name": ref.name,
                "snapshot_id": ref.snapshot_id,
                "url": f"{url}/_meta/discovery/{quote(repo)}/{quote(ref.name, safe='')}",
            }
            for ref in found
        ]

    return {
        "repo": repo,
        "branches": listed(inspection.list_branches(repository)),
        "tags": listed(inspection.list_tags(repository)),
    }


def dataset_url(url: str, repo: str, ref: str, group: str, protocol: str) -> str:
    """The address of a dataset for a service's protocol (the root group leaves its path out)."""
    path = "".join(f"/{quote(part, safe='')}" for part in group.split("/") if part)
    return f"{url}/{quote(repo)}/{quote(ref, safe='')}{path}/{protocol}"


def datasets(
    cat: Catalog,
    deployment: Deployment,
    repo: str,
    ref: str,
    principal: Caller,
    url: str,
    group: str | None = None,
) -> dict[str, Any]:
    """``principal`` reads ``repo`` through the service (:func:`reader`)."""
    _, repository = open_repository(cat, principal, deployment.org, repo)
    listing = inspection.tree(repository, ref, inspection.normalize_path(group), depth=None)
    found = []
    for node in inspection.walk(listing.node):
        if node.kind != "group":
            continue
        arrays = [child for child in node.children if child.kind == "array"]
        if not arrays:
            continue
        found.append(
            {
                "group": node.path,
                "url": dataset_url(url, repo, ref, node.path, deployment.protocol.value),
                "arrays": [child.name for child in arrays],
                "title": title if isinstance(title := node.attributes.get("title"), str) else None,
            }
        )
        if len(found) >= MAX_DATASETS:
            break
    return {"repo": repo, "ref": ref, "snapshot_id": listing.snapshot_id, "datasets": found}
