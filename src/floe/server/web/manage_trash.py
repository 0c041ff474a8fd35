"""The trash page of an org: deleted repos with their purge dates; restore them, or purge them now."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from floe.errors import FloeError, PermissionDeniedError
from floe.server.catalog import trash
from floe.server.web.manage_kit import catalog_of, deny, org_crumbs, org_page, org_tabs
from floe.server.web.pages import check_csrf, html_page, redirect, render

router = APIRouter(include_in_schema=False)

_NOTICES = {"restored": "Repo restored.", "purged": "Purged: its objects are deleted."}


def _trash_page(
    request: Request, org: str, *, notice: str = "", error: str = "", status: int = 200
) -> Response:
    page = org_page(request, org)
    if not page.can["write"]:
        raise deny(page, "see the trash")
    entries = trash.list_trash(catalog_of(request), page.principal, org)
    return render(
        request,
        "manage_trash.html",
        status_code=status,
        org=org,
        entries=entries,
        can=page.can,
        notice=notice,
        error=error,
        tabs=org_tabs(page, "trash"),
        crumbs=org_crumbs(org, ("Trash", None)),
    )


@router.get("/{org}/-/trash")
@html_page
def trash_page(request: Request, org: str, done: str = "") -> Response:
    return _trash_page(request, org, notice=_NOTICES.get(done, ""))


@router.post("/{org}/-/trash/{entry_id}/restore")
@html_page
def restore(
    request: Request, org: str, entry_id: str, csrf: str = Form(""), name: str = Form("")
) -> Response:
    check_csrf(request, csrf)
    page = org_page(request, org)
    try:
        repo = trash.restore(catalog_of(request), page.principal, org, entry_id, name=name.strip() or None)
    except PermissionDeniedError:
        raise
    except (FloeError, ValueError) as exc:
        message = exc.message if isinstance(exc, FloeError) else str(exc)
        status = exc.status_code if isinstance(exc, FloeError) else 422
        return _trash_page(request, org, error=message, status=status)
    return redirect(f"/{org}/{repo.name}")


@router.post("/{org}/-/trash/{entry_id}/purge")
@html_page
def purge(
    request: Request, org: str, entry_id: str, csrf: str = Form(""), confirm: str = Form("")
) -> Response:
    check_csrf(request, csrf)
    page = org_page(request, org)
    if not page.can["admin"]:
        raise deny(page, "purge the trash")
    entries = {e.id: e for e in trash.list_trash(catalog_of(request), page.principal, org)}
    entry = entries.get(entry_id)
    if entry is not None and confirm.strip() != f"{org}/{entry.name}":
        return _trash_page(
            request,
            org,
            error=f"type {org}/{entry.name} to purge it; nothing was deleted",
            status=422,
        )
    try:
        trash.purge(catalog_of(request), page.principal, org, entry_id)
    except PermissionDeniedError:
        raise
    except FloeError as exc:
        return _trash_page(request, org, error=exc.message, status=exc.status_code)
    return redirect(f"/{org}/-/trash?done=purged")
