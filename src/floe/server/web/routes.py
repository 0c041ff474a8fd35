"""Browser pages: sign in and out, approve a device (``floe auth login``), the home page (orgs, sessions)."""

from __future__ import annotations

import contextlib
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from floe.errors import AuthenticationError, NotFoundError, TooManyRequestsError
from floe.server.catalog import devices, login_links, signin
from floe.server.catalog.orgs import list_orgs
from floe.server.web.pages import (
    CSRF_REFUSED,
    address_of,
    clear_session_cookie,
    csrf_ok,
    current_principal,
    login_url,
    message,
    redirect,
    render,
    safe_next,
    session_lifetime,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)


def _refused(request: Request) -> Response:
    return message(request, "Form expired", CSRF_REFUSED, 403)


# --- sign in and out -------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    if current_principal(request) is not None:
        return redirect(safe_next(next))
    return render(request, "login.html", next=safe_next(next), email="")


@router.post("/login")
def login(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    csrf: str = Form(""),
    next: str = Form("/"),
) -> Response:
    target = safe_next(next)
    if not csrf_ok(request, csrf):
        return _refused(request)
    cat = request.app.state.catalog
    try:
        session = signin.sign_in_password(
            cat,
            email,
            password,
            kind="web",
            lifetime=session_lifetime(request),
            address=address_of(request),
            client=request.headers.get("user-agent", "")[:200] or None,
        )
    except (AuthenticationError, TooManyRequestsError) as exc:
        return render(request, "login.html", exc.status_code, next=target, email=email, error=exc.message)
    previous = current_principal(request)
    if previous is not None and previous.session_id:
        with contextlib.suppress(NotFoundError):
            signin.revoke_session(cat, previous, previous.session_id)
    response = redirect(target)
    set_session_cookie(request, response, session.token)
    return response


@router.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for it before any page says where the icon is: not an org, just the icon."""
    return redirect("/static/favicon.svg")


@router.get("/robots.txt")
def robots() -> Response:
    """A catalog of private data: nothing for crawlers."""
    return Response("User-agent: *\nDisallow: /\n", media_type="text/plain")


@router.get("/login/link")
def login_link_page(request: Request, token: str = "") -> Response:
    """A one-time sign-in link (``floe admin login-link``): shown with a button, used only when posted."""
    try:
        email = login_links.peek_login_link(request.app.state.catalog, token)
    except AuthenticationError as exc:
        return message(request, "Sign-in link", exc.message, 401)
    return render(request, "login_link.html", token=token, email=email)


@router.post("/login/link")
def login_link(request: Request, token: str = Form(""), csrf: str = Form("")) -> Response:
    if not csrf_ok(request, csrf):
        return _refused(request)
    try:
        session = login_links.redeem_login_link(
            request.app.state.catalog,
            token,
            lifetime=session_lifetime(request),
            address=address_of(request),
            client=request.headers.get("user-agent", "")[:200] or None,
        )
    except AuthenticationError as exc:
        return message(request, "Sign-in link", exc.message, 401)
    response = redirect("/")
    set_session_cookie(request, response, session.token)
    return response


@router.get("/logout")
def logout_page(request: Request) -> Response:
    principal = current_principal(request)
    if principal is None:
        return redirect("/login")
    return render(request, "logout.html", principal=principal)


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    if not csrf_ok(request, csrf):
        return _refused(request)
    principal = current_principal(request)
    if principal is not None and principal.session_id:
        with contextlib.suppress(NotFoundError):
            signin.revoke_session(request.app.state.catalog, principal, principal.session_id)
    response = redirect("/login")
    clear_session_cookie(request, response)
    return response


# --- the home page: your orgs and sessions ------------------------------------------------------------


@router.get("/")
def account(request: Request) -> Response:
    principal = current_principal(request)
    if principal is None:
        return redirect(login_url("/"))
    cat = request.app.state.catalog
    roles = {principal.org_names[org_id]: role.value for org_id, role in principal.roles.items()}
    orgs = sorted((org.name, roles.get(org.name, "site admin")) for org in list_orgs(cat, principal))
    sessions = signin.list_sessions(request.app.state.catalog, principal)
    return render(request, "account.html", principal=principal, orgs=orgs, sessions=sessions)


@router.post("/sessions/{session_id}/revoke")
def revoke_session(request: Request, session_id: str, csrf: str = Form("")) -> Response:
    principal = current_principal(request)
    if principal is None:
        return redirect(login_url("/"))
    if not csrf_ok(request, csrf):
        return _refused(request)
    try:
        signin.revoke_session(request.app.state.catalog, principal, session_id)
    except NotFoundError as exc:
        return message(request, "Not found", exc.message, 404)
    if session_id != principal.session_id:
        return redirect("/")
    response = redirect("/login")
    clear_session_cookie(request, response)
    return response


# --- device approval -----------------------------------------------------------------------------------


@router.get("/device")
def device_page(request: Request, user_code: str = "") -> Response:
    user_code = user_code[:32]
    principal = current_principal(request)
    if principal is None:
        return redirect(login_url("/device" + (f"?user_code={quote(user_code)}" if user_code else "")))
    return render(request, "device.html", user_code=user_code, principal=principal)


@router.post("/device")
def device_submit(
    request: Request, user_code: str = Form(""), action: str = Form("lookup"), csrf: str = Form("")
) -> Response:
    user_code = user_code[:32]
    principal = current_principal(request)
    if principal is None:
        return redirect(login_url("/device" + (f"?user_code={quote(user_code)}" if user_code else "")))
    if not csrf_ok(request, csrf):
        return _refused(request)
    cat = request.app.state.catalog
    try:
        if action == "lookup":
            row = devices.pending(cat, user_code, address=principal.address)
            return render(
                request,
                "device_confirm.html",
                user_code=devices.format_user_code(row.user_code),
                client=row.client,
                device_address=row.address,
                principal=principal,
            )
        if action not in ("approve", "deny"):
            return message(request, "Bad request", f"unknown action {action!r}", 400)
        row = devices.decide(cat, principal, user_code, approve=action == "approve")
    except (NotFoundError, TooManyRequestsError) as exc:
        return render(
            request,
            "device.html",
            exc.status_code,
            user_code=user_code,
            error=exc.message,
            principal=principal,
        )
    return render(
        request, "device_done.html", approved=action == "approve", client=row.client, principal=principal
    )
