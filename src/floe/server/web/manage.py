"""Manage pages of a repo: create one, its settings (description and metadata, status, grants), delete it.

Manage pages live under ``/-/`` (``-`` is never a repo name): ``/{org}/-/new`` and
``/{org}/{repo}/-/settings`` here, bucket configs in :mod:`manage_buckets`, people, API clients
and the audit trail in :mod:`manage_people`. Every view calls the same catalog function as the
API route does, so permissions are decided in one place; pages only leave out the controls a
person may not use, and every POST checks the CSRF token first.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError as PydanticValidationError

from floe.errors import AuthenticationError, FloeError, PermissionDeniedError, ValidationError
from floe.models import GrantSet, Repo, RepoCreate, RepoStatusUpdate, RepoUpdate
from floe.server.auth import Action, Caller
from floe.server.catalog import buckets, members, repos
from floe.server.catalog.base import may, org_row, repo_as_seen_by
from floe.server.web import browse
from floe.server.web.manage_kit import (
    OrgPage,
    catalog_of,
    deny,
    format_metadata,
    org_crumbs,
    org_page,
    org_tabs,
    parse_metadata,
    problem,
)
from floe.server.web.pages import check_csrf, html_page, redirect, render, signed_in

router = APIRouter(include_in_schema=False)


# --- create a repo ----------------------------------------------------------------------------------


def _new_repo_form(
    request: Request, page: OrgPage, values: dict[str, str], *, error: str | None = None, status: int = 200
) -> Response:
    configs = buckets.list_buckets(catalog_of(request), page.principal, page.name)
    default = next((b.nickname for b in configs if b.is_default), "")
    return render(
        request,
        "manage_repo_new.html",
        status,
        principal=page.principal,
        crumbs=org_crumbs(page.name, ("New repo", None)),
        tabs=org_tabs(page, "repos"),
        org=page.name,
        can=page.can,
        buckets=configs,
        values={"bucket": default, "mode": "create", **values},
        error=error,
    )


@router.get("/{org}/-/new")
@html_page
def new_repo_page(request: Request, org: str) -> Response:
    page = org_page(request, org)
    if not page.can["write"]:
        raise deny(page, "create repos")
    return _new_repo_form(request, page, {})


@router.post("/{org}/-/new")
@html_page
def new_repo(
    request: Request,
    org: str,
    csrf: str = Form(""),
    name: str = Form(""),
    description: str = Form(""),
    metadata: str = Form(""),
    bucket: str = Form(""),
    mode: str = Form("create"),
    prefix: str = Form(""),
) -> Response:
    check_csrf(request, csrf)
    page = org_page(request, org)
    if not page.can["write"]:
        raise deny(page, "create repos")
    values = {
        "name": name,
        "description": description,
        "metadata": metadata,
        "bucket": bucket,
        "mode": mode,
        "prefix": prefix,
    }
    try:
        body = RepoCreate(
            name=name.strip(),
            description=description.strip() or None,
            bucket_nickname=bucket.strip() or None,
            metadata=parse_metadata(metadata) or None,
            prefix=prefix.strip() or None,
            create_mode="import" if mode == "import" else "create",
        )
        created = repos.create_repo(catalog_of(request), page.principal, org, body)
    except PydanticValidationError as exc:
        return _new_repo_form(request, page, values, error=problem(exc), status=422)
    except FloeError as exc:
        if isinstance(exc, PermissionDeniedError | AuthenticationError):
            raise
        return _new_repo_form(request, page, values, error=exc.message, status=exc.status_code)
    return redirect(f"/{org}/{created.name}")


# --- repo settings ------------------------------------------------------------------------------------

_REPO_NOTICES = {
    "edited": "Description and metadata saved.",
    "status": "Status changed.",
    "grant": "Grant saved.",
    "ungrant": "Grant removed.",
}


@dataclass
class RepoPage:
    """A repo as the signed-in person sees it, and what they may do to it (org role or grant)."""

    principal: Caller
    org: str
    repo: Repo
    write: bool
    admin: bool
    delete: bool

    def require(self, ability: str, what: str) -> None:
        """403 for a control the page did not offer (a forged form), before anything else happens."""
        if not getattr(self, ability):
            raise PermissionDeniedError(
                f"{self.principal.label} may not {what} repo {self.org}/{self.repo.name}; ask a repo or org admin"
            )


def repo_page(request: Request, org_name: str, repo_name: str) -> RepoPage:
    principal = signed_in(request)
    cat = catalog_of(request)
    repo = repo_as_seen_by(principal, repos.get_repo(cat, principal, org_name, repo_name))
    with cat.read() as conn:
        org = org_row(conn, principal, org_name)
        can_write = may(conn, principal, Action.REPO_WRITE, org.id, repo.id)
        can_admin = may(conn, principal, Action.REPO_ADMIN, org.id, repo.id)
    # Whoever created a repo (and may still write) may delete it too, as in the catalog.
    own = can_write and str(repo.created_by or "") == principal.id
    return RepoPage(principal, org_name, repo, can_write, can_admin, can_admin or own)


def _settings(
    request: Request,
    page: RepoPage,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    org, repo = page.org, page.repo
    grants = members.list_grants(catalog_of(request), page.principal, org, repo.name) if page.admin else []
    typed = {
        "description": repo.description or "",
        "metadata": format_metadata(repo.metadata),
        "mode": repo.status.mode.value,
        "message": repo.status.message or "",
        **(values or {}),
    }
    return render(
        request,
        "manage_repo_settings.html",
        status,
        principal=page.principal,
        crumbs=browse.repo_crumbs(org, repo.name, ("Settings", None)),
        tabs=browse.repo_tabs(org, repo.name, "settings", settings=True),
        org=org,
        repo=repo,
        full_name=f"{org}/{repo.name}",
        base=f"/{org}/{repo.name}/-",
        can=page,
        grants=grants,
        values=typed,
        errors=errors or {},
        notice=notice,
    )


def _refused(
    request: Request, page: RepoPage, section: str, exc: Exception, typed: dict[str, str]
) -> Response:
    """The settings page again, with what went wrong next to the form and what was typed kept."""
    if isinstance(exc, PydanticValidationError):
        return _settings(request, page, status=422, errors={section: problem(exc)}, values=typed)
    assert isinstance(exc, FloeError)
    if isinstance(exc, PermissionDeniedError | AuthenticationError):
        raise exc
    return _settings(request, page, status=exc.status_code, errors={section: exc.message}, values=typed)


@router.get("/{org}/{repo}/-/settings")
@html_page
def repo_settings(request: Request, org: str, repo: str, done: str = "") -> Response:
    return _settings(request, repo_page(request, org, repo), notice=_REPO_NOTICES.get(done))


def _done(org: str, repo: str, what: str) -> Response:
    return redirect(f"/{org}/{repo}/-/settings?done={what}")


@router.post("/{org}/{repo}/-/edit")
@html_page
def edit_repo(
    request: Request,
    org: str,
    repo: str,
    csrf: str = Form(""),
    description: str = Form(""),
    metadata: str = Form(""),
) -> Response:
    check_csrf(request, csrf)
    page = repo_page(request, org, repo)
    page.require("write", "edit")
    try:
        new = parse_metadata(metadata)
        old = dict(page.repo.metadata or {})
        body = RepoUpdate(
            description=description.strip(),
            update_metadata={k: v for k, v in new.items() if k not in old or old[k] != v} or None,
            remove_metadata=[k for k in old if k not in new] or None,
        )
        repos.modify_repo(catalog_of(request), page.principal, org, repo, body)
    except (PydanticValidationError, FloeError) as exc:
        return _refused(request, page, "edit", exc, {"description": description, "metadata": metadata})
    return _done(org, repo, "edited")


@router.post("/{org}/{repo}/-/status")
@html_page
def set_repo_status(
    request: Request, org: str, repo: str, csrf: str = Form(""), mode: str = Form(""), message: str = Form("")
) -> Response:
    check_csrf(request, csrf)
    page = repo_page(request, org, repo)
    page.require("admin", "change the status of")
    try:
        body = RepoStatusUpdate(mode=mode, message=message.strip() or None)
        repos.set_status(catalog_of(request), page.principal, org, repo, body)
    except (PydanticValidationError, FloeError) as exc:
        return _refused(request, page, "status", exc, {"mode": mode, "message": message})
    return _done(org, repo, "status")


@router.post("/{org}/{repo}/-/grants")
@html_page
def set_grant(
    request: Request,
    org: str,
    repo: str,
    csrf: str = Form(""),
    grantee: str = Form(""),
    level: str = Form(""),
) -> Response:
    check_csrf(request, csrf)
    page = repo_page(request, org, repo)
    page.require("admin", "change the grants of")
    try:
        if not grantee.strip():
            raise ValidationError("give a member's email or an API client's name")
        body = GrantSet(level=level)
        members.set_grant(catalog_of(request), page.principal, org, repo, grantee.strip(), body.level)
    except (PydanticValidationError, FloeError) as exc:
        return _refused(request, page, "grants", exc, {"grantee": grantee, "level": level})
    return _done(org, repo, "grant")


@router.post("/{org}/{repo}/-/grants/remove")
@html_page
def remove_grant(
    request: Request, org: str, repo: str, csrf: str = Form(""), grantee: str = Form("")
) -> Response:
    check_csrf(request, csrf)
    page = repo_page(request, org, repo)
    page.require("admin", "change the grants of")
    try:
        members.remove_grant(catalog_of(request), page.principal, org, repo, grantee.strip())
    except FloeError as exc:
        return _refused(request, page, "grants", exc, {})
    return _done(org, repo, "ungrant")


@router.post("/{org}/{repo}/-/delete")
@html_page
def delete_repo(
    request: Request,
    org: str,
    repo: str,
    csrf: str = Form(""),
    confirm: str = Form(""),
    keep_data: str = Form(""),
) -> Response:
    check_csrf(request, csrf)
    page = repo_page(request, org, repo)
    page.require("delete", "delete")
    full_name = f"{org}/{repo}"
    try:
        if confirm.strip() != full_name:
            raise ValidationError(
                f"type the repo's full name, {full_name}, to delete it; nothing was deleted"
            )
        repos.delete_repo(catalog_of(request), page.principal, org, repo, keep_data=bool(keep_data))
    except FloeError as exc:
        return _refused(request, page, "delete", exc, {"confirm": confirm, "keep_data": keep_data})
    return redirect(f"/{org}")
