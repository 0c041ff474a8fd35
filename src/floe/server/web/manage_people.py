"""People pages of an org: members and their roles, API clients (a token shown once), the audit trail."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError as PydanticValidationError

from floe.errors import AuthenticationError, FloeError, PermissionDeniedError, ValidationError
from floe.models import ApiClientCreate, MemberSet
from floe.server.catalog import audit, members, tokens
from floe.server.web.manage_kit import OrgPage, catalog_of, deny, org_crumbs, org_page, org_tabs, problem
from floe.server.web.pages import base_url, check_csrf, html_page, redirect, render

router = APIRouter(include_in_schema=False)

ROLES = ("owner", "admin", "member", "viewer")


def _form_error(exc: Exception) -> tuple[str, int]:
    """(message, status) of an error a form page shows; permission and sign-in errors go to html_page."""
    if isinstance(exc, PydanticValidationError):
        return problem(exc), 422
    assert isinstance(exc, FloeError)
    if isinstance(exc, PermissionDeniedError | AuthenticationError):
        raise exc
    return exc.message, exc.status_code


# --- members ---------------------------------------------------------------------------------------

_MEMBER_NOTICES = {"set": "Member saved.", "removed": "Member removed."}


def _members(
    request: Request,
    page: OrgPage,
    *,
    status: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    found = members.list_members(catalog_of(request), page.principal, page.name)
    # Admins manage roles below owner; owners manage everyone.
    roles = ROLES if page.can["owner"] else ROLES[1:]
    return render(
        request,
        "manage_members.html",
        status,
        principal=page.principal,
        crumbs=org_crumbs(page.name, ("Members", None)),
        tabs=org_tabs(page, "members"),
        org=page.name,
        can=page.can,
        members=found,
        roles=roles,
        values={"role": "member", **(values or {})},
        error=error,
        notice=notice,
    )


@router.get("/{org}/-/members")
@html_page
def member_list(request: Request, org: str, done: str = "") -> Response:
    return _members(request, org_page(request, org), notice=_MEMBER_NOTICES.get(done))


@router.post("/{org}/-/members/set")
@html_page
def set_member(
    request: Request, org: str, csrf: str = Form(""), email: str = Form(""), role: str = Form("")
) -> Response:
    check_csrf(request, csrf)
    page = org_page(request, org)
    if not page.can["admin"]:
        raise deny(page, "manage members")
    try:
        if not email.strip():
            raise ValidationError("give the person's email address")
        body = MemberSet(role=role)
        members.set_member(catalog_of(request), page.principal, org, email.strip(), body.role)
    except (PydanticValidationError, FloeError) as exc:
        message, status = _form_error(exc)
        return _members(request, page, status=status, error=message, values={"email": email, "role": role})
    return redirect(f"/{org}/-/members?done=set")


@router.post("/{org}/-/members/remove")
@html_page
def remove_member(request: Request, org: str, csrf: str = Form(""), email: str = Form("")) -> Response:
    check_csrf(request, csrf)
    page = org_page(request, org)
    if not page.can["admin"]:
        raise deny(page, "manage members")
    try:
        members.remove_member(catalog_of(request), page.principal, org, email.strip())
    except FloeError as exc:
        message, status = _form_error(exc)
        return _members(request, page, status=status, error=message)
    return redirect(f"/{org}/-/members?done=removed")


# --- API clients -------------------------------------------------------------------------------------


def _clients(
    request: Request,
    page: OrgPage,
    *,
    revoked: bool = False,
    status: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    if not page.can["admin"]:
        raise deny(page, "see API clients")
    found = tokens.list_api_clients(catalog_of(request), page.principal, page.name, include_revoked=revoked)
    return render(
        request,
        "manage_api_clients.html",
        status,
        principal=page.principal,
        crumbs=org_crumbs(page.name, ("API clients", None)),
        tabs=org_tabs(page, "api-clients"),
        org=page.name,
        clients=found,
        revoked=revoked,
        roles=("member", "viewer", "admin"),
        values={"role": "member", **(values or {})},
        error=error,
        notice=notice,
    )


@router.get("/{org}/-/api-clients")
@html_page
def client_list(request: Request, org: str, revoked: str = "", done: str = "") -> Response:
    notice = "API client revoked: its token no longer works." if done == "revoked" else None
    return _clients(request, org_page(request, org), revoked=bool(revoked), notice=notice)


@router.post("/{org}/-/api-clients/new")
@html_page
def new_client(
    request: Request,
    org: str,
    csrf: str = Form(""),
    name: str = Form(""),
    role: str = Form("member"),
    expires_in_days: str = Form(""),
    email: str = Form(""),
) -> Response:
    check_csrf(request, csrf)
    page = org_page(request, org)
    if not page.can["admin"]:
        raise deny(page, "create API clients")
    typed = {"name": name, "role": role, "expires_in_days": expires_in_days, "email": email}
    try:
        body = ApiClientCreate(
            name=name.strip(),
            role=role,
            expires_in_days=expires_in_days.strip() or None,
            email=email.strip() or None,
        )
        created = tokens.create_api_client(catalog_of(request), page.principal, org, body)
    except (PydanticValidationError, FloeError) as exc:
        message, status = _form_error(exc)
        return _clients(request, page, status=status, error=message, values=typed)
    # The token is on this page only: never stored in the clear, never in a URL, never shown again.
    return render(
        request,
        "manage_api_client_token.html",
        201,
        principal=page.principal,
        crumbs=org_crumbs(org, ("API clients", f"/{org}/-/api-clients"), (created.name, None)),
        tabs=org_tabs(page, "api-clients"),
        org=org,
        client=created,
        server=base_url(request),
    )


@router.post("/{org}/-/api-clients/{client_id}/revoke")
@html_page
def revoke_client(request: Request, org: str, client_id: str, csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    page = org_page(request, org)
    if not page.can["admin"]:
        raise deny(page, "revoke API clients")
    try:
        tokens.revoke_api_client(catalog_of(request), page.principal, org, client_id)
    except FloeError as exc:
        message, status = _form_error(exc)
        return _clients(request, page, status=status, error=message)
    return redirect(f"/{org}/-/api-clients?done=revoked")


# --- the audit trail -----------------------------------------------------------------------------------

AUDIT_FILTERS = ("action", "actor", "resource", "since", "until")


def _when(field: str, text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        raise ValidationError(
            f"{field}: give a date or time such as 2025-01-31 or 2025-01-31T14:30 (UTC), got {text[:40]!r}"
        ) from None


@router.get("/{org}/-/audit")
@html_page
def audit_page(
    request: Request,
    org: str,
    action: str = "",
    actor: str = "",
    resource: str = "",
    since: str = "",
    until: str = "",
    cursor: str = "",
    limit: str = "50",
) -> Response:
    page = org_page(request, org)
    if not page.can["audit"]:
        raise deny(page, "read the audit trail")
    filters = {"action": action, "actor": actor, "resource": resource, "since": since, "until": until}
    filters = {k: v.strip()[:300] for k, v in filters.items()}
    events, next_url, error, status = [], None, None, 200
    try:
        size = min(max(int(limit), 1), audit.MAX_PAGE) if limit.strip().isdigit() else 50
        found = audit.list_events(
            catalog_of(request),
            page.principal,
            org_name=org,
            action=filters["action"] or None,
            actor=filters["actor"] or None,
            resource=filters["resource"] or None,
            since=_when("since", filters["since"]),
            until=_when("until", filters["until"]),
            cursor=cursor.strip() or None,
            limit=size,
        )
        events = found.items
        if found.next_cursor:
            kept = {k: v for k, v in filters.items() if v}
            query = {**kept, "cursor": found.next_cursor, **({"limit": str(size)} if size != 50 else {})}
            next_url = f"/{org}/-/audit?{urlencode(query)}"
    except FloeError as exc:
        error, status = _form_error(exc)
    return render(
        request,
        "manage_audit.html",
        status,
        principal=page.principal,
        crumbs=org_crumbs(org, ("Audit trail", None)),
        tabs=org_tabs(page, "audit"),
        org=org,
        filters=filters,
        events=[(e, json.dumps(e.detail, sort_keys=True, default=str) if e.detail else "") for e in events],
        paged=bool(cursor.strip()),
        first_url=f"/{org}/-/audit?{urlencode({k: v for k, v in filters.items() if v})}",
        next_url=next_url,
        error=error,
    )
