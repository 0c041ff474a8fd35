"""Trash operations (flows shared by both clients): list, restore and purge deleted repos."""

from __future__ import annotations

from typing import Any

from floe.client._operations import confirm, split_name
from floe.client._transport import CLIENT_INFO, Call, ClientInfo, Flow
from floe.errors import NotFoundError
from floe.models import Org, Repo
from floe.models.recovery import PurgeResult, TrashedRepo


def _entries(response: Any) -> list[TrashedRepo]:
    return [TrashedRepo.model_validate(item) for item in response.json()]


def list_trash(org: str) -> Flow[list[TrashedRepo]]:
    """The org's trash: deleted repos (and old locations of moved ones), newest first."""
    return (yield Call("GET", f"/orgs/{org}/trash", parse=_entries))


def _find(org: str, repo: str, trash_id: str | None) -> Flow[TrashedRepo]:
    entries = yield from list_trash(org)
    if trash_id is not None:
        found = [e for e in entries if e.id == trash_id]
        if not found:
            raise NotFoundError(
                f"nothing with id {trash_id!r} in the trash of {org}; `floe repo trash {org}`"
            )
        return found[0]
    found = [e for e in entries if e.name == repo]
    if not found:
        raise NotFoundError(f"no repo {org}/{repo} in the trash; `floe repo trash {org}` lists what is there")
    return found[0]  # the newest, if the name was deleted more than once


def restore_repo(name: str, *, new_name: str | None = None, trash_id: str | None = None) -> Flow[Repo]:
    """Give back a repo from the trash with its whole history, under its name or ``new_name``.

    ``name`` is ``ORG/REPO`` as it was deleted; when it was deleted more than once the newest entry
    is restored, unless ``trash_id`` picks another (``list_trash`` shows the ids).
    """
    org, repo = split_name(name)
    if new_name is not None:
        split_name(f"{org}/{new_name}")
    entry = yield from _find(org, repo, trash_id)
    body = {"name": new_name} if new_name else {}
    info: ClientInfo = yield CLIENT_INFO
    info.cache.drop(f"{org}/{new_name or repo}")
    return (
        yield Call(
            "POST",
            f"/orgs/{org}/trash/{entry.id}/restore",
            json=body,
            parse=lambda r: Repo.model_validate_json(r.content),
        )
    )


def purge_repo(
    name: str,
    *,
    trash_id: str | None = None,
    keep_data: bool = False,
    imsure: bool = False,
    imreallysure: bool = False,
) -> Flow[PurgeResult]:
    """Delete a trashed repo's objects now, for good (org admins); ``keep_data`` forgets the entry only."""
    org, repo = split_name(name)
    confirm(f"the objects of {name} from the trash", imsure, imreallysure)
    entry = yield from _find(org, repo, trash_id)
    return (
        yield Call(
            "DELETE",
            f"/orgs/{org}/trash/{entry.id}",
            params={"keep_data": "true"} if keep_data else None,
            parse=lambda r: PurgeResult.model_validate_json(r.content),
        )
    )


def modify_org(
    name: str, *, description: str | None = None, trash_retention_days: int | None = None
) -> Flow[Org]:
    """Change an org's description, or how many days its trash keeps deleted repos (org admins)."""
    body: dict[str, Any] = {}
    if description is not None:
        body["description"] = description
    if trash_retention_days is not None:
        body["trash_retention_days"] = trash_retention_days
    return (
        yield Call("PATCH", f"/orgs/{name}", json=body, parse=lambda r: Org.model_validate_json(r.content))
    )
