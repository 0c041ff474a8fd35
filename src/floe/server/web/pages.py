"""What every browser page needs: templates, the session cookie, CSRF tokens, safe redirects."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from floe import __version__
from floe.errors import AuthenticationError, FloeError, PermissionDeniedError
from floe.server.auth import Action, Caller, decide
from floe.server.catalog.principals import principal_for_token
from floe.server.settings import Settings

SESSION_COOKIE = "floe_session"
CSRF_COOKIE = "floe_csrf"  # before sign-in: a random value the form token is derived from
CSRF_FIELD = "csrf"
CSRF_REFUSED = "the form expired or came from another site; reload the page and try again"

_templates = Environment(
    loader=PackageLoader("floe.server.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def base_url(request: Request) -> str:
    """Where people reach this server: ``public_url`` if set, else the request's own base."""
    return settings_of(request).public_url or str(request.base_url).rstrip("/")


def address_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def is_https(request: Request) -> bool:
    """True when browsers reach this server over https (then cookies are marked Secure)."""
    public = settings_of(request).public_url
    return request.url.scheme == "https" or bool(public and public.startswith("https://"))


def session_lifetime(request: Request) -> timedelta:
    return timedelta(days=settings_of(request).session_days)


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this server, else ``/``: never a redirect to another site."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(c in value for c in "\\\r\n\t")
        or any(ord(c) < 32 for c in value)
    ):
        return "/"
    return value


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(safe_next(next_path), safe="")


def current_principal(request: Request) -> Caller | None:
    """The person signed in with this browser, or None (no cookie, or an ended session)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        principal = principal_for_token(request.app.state.catalog, token, session_kind="web")
    except AuthenticationError:
        return None
    return principal.with_address(address_of(request))


# --- CSRF ----------------------------------------------------------------------------------------


def _mac(key: bytes, purpose: str, value: str) -> str:
    derived = hashlib.sha256(b"floe-web-csrf:" + key).digest()
    return hmac.new(derived, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def _csrf_basis(request: Request) -> tuple[str, str | None]:
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return "session", hashlib.sha256(session.encode()).hexdigest()
    return "browser", request.cookies.get(CSRF_COOKIE)


def csrf_token(request: Request, fresh_browser_value: str | None = None) -> str:
    """The token forms must carry: an HMAC (server key) of the web session, or before sign-in of a
    random cookie value (double submit). Only pages of this server can read it."""
    purpose, value = _csrf_basis(request)
    if purpose == "browser" and not value:
        value = fresh_browser_value
    return _mac(settings_of(request).secret_keys[0], purpose, value or "")


def csrf_ok(request: Request, submitted: str | None) -> bool:
    purpose, value = _csrf_basis(request)
    if not value or not submitted:
        return False
    return any(
        hmac.compare_digest(_mac(key, purpose, value), submitted) for key in settings_of(request).secret_keys
    )


# --- responses -----------------------------------------------------------------------------------


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page; forms in it get a CSRF token (setting the pre-sign-in cookie when missing)."""
    new_value = None
    if not request.cookies.get(SESSION_COOKIE) and not request.cookies.get(CSRF_COOKIE):
        new_value = secrets.token_urlsafe(32)
    settings = settings_of(request)
    html = _templates.get_template(template).render(
        request=request,
        csrf_field=CSRF_FIELD,
        csrf=csrf_token(request, new_value),
        version=__version__,
        oidc_name=settings.oidc_name if settings.oidc_enabled else None,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code, headers=_NO_STORE)
    if new_value:
        response.set_cookie(
            CSRF_COOKIE, new_value, httponly=True, samesite="lax", secure=is_https(request), path="/"
        )
    return response


# CSP, framing and referrer headers: middleware.add_security_headers
_NO_STORE = {"Cache-Control": "no-store"}


def message(request: Request, title: str, text: str, status_code: int) -> HTMLResponse:
    return render(request, "message.html", status_code, title=title, text=text)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(session_lifetime(request).total_seconds()),
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=is_https(request), path="/")


# --- pages behind sign-in --------------------------------------------------------------------------


class SignInRequired(Exception):
    """Raised by :func:`signed_in` when the browser has no session; :func:`html_page` redirects."""


def signed_in(request: Request) -> Caller:
    """The signed-in person, or :class:`SignInRequired` (sent to the sign-in page, then back)."""
    principal = current_principal(request)
    if principal is None:
        raise SignInRequired
    return principal


def check_csrf(request: Request, submitted: str | None) -> None:
    """403 unless a posted form carries this browser's CSRF token."""
    if not csrf_ok(request, submitted):
        raise PermissionDeniedError(CSRF_REFUSED)


_ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    422: "Cannot do that",
}


def error_page(request: Request, exc: FloeError) -> HTMLResponse:
    """A page saying what went wrong, with the status the API would answer."""
    title = _ERROR_TITLES.get(exc.status_code, "Something went wrong")
    return message(request, title, exc.message, exc.status_code)


def html_page(view: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a page view: no session -> the sign-in page (then back here); a FloeError -> an error page
    with its status (403, 404, ...), never a JSON body in the browser."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        request = kwargs.get("request") or next(a for a in args if isinstance(a, Request))
        try:
            return view(*args, **kwargs)
        except SignInRequired:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return redirect(login_url(target))
        except FloeError as exc:
            return error_page(request, exc)

    return wrapper


def org_abilities(principal: Caller, org_id: str) -> dict[str, bool]:
    """What the org's pages may offer ``principal``, decided by the API's own permission function."""
    return {
        "write": decide(principal, Action.REPO_WRITE, org_id),
        "admin": decide(principal, Action.ORG_ADMIN, org_id),
        "buckets": decide(principal, Action.BUCKET_ADMIN, org_id),
        "audit": decide(principal, Action.AUDIT_READ, org_id),
        "owner": decide(principal, Action.ORG_OWNER, org_id),
    }
