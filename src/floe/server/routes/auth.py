"""Sign-in for programs: how to sign in, the RFC 8628 device flow, sessions and logout."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from floe.errors import BadRequestError
from floe.models import DeviceAuthorization, Session, SignInConfig, TokenResponse
from floe.server.auth import Caller
from floe.server.catalog import devices, signin
from floe.server.deps import CallerDep, CatalogDep
from floe.server.web.pages import address_of, base_url, session_lifetime, settings_of

router = APIRouter(tags=["auth"])

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def _fields(request: Request) -> dict[str, Any]:
    """The request's fields, form-encoded or JSON (OAuth clients send forms; Floe's client may send JSON)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    body = await request.body()
    if not body.strip():
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise BadRequestError("the body is neither a form nor JSON") from None
    if not isinstance(data, dict):
        raise BadRequestError("the body must be a JSON object")
    return data


def _oauth_error(error: str, description: str, status_code: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code, headers=_NO_STORE)


def _person(principal: Caller) -> Caller:
    if principal.kind != "user":
        raise BadRequestError(
            "API clients have no sessions: this is for people signed in with `floe auth login`"
        )
    return principal


@router.get("/auth/config", response_model=SignInConfig)
async def sign_in_config(request: Request) -> SignInConfig:
    """How people sign in to this server (no token needed)."""
    settings = settings_of(request)
    base = base_url(request)
    return SignInConfig(
        password=True,
        oidc=settings.oidc_name if settings.oidc_enabled else None,
        device_authorization_endpoint=f"{base}/auth/device/code",
        token_endpoint=f"{base}/auth/token",
        domain=base.split("://", 1)[-1].rstrip("/"),
    )


@router.post("/auth/device/code", response_model=DeviceAuthorization)
async def device_code(request: Request, cat: CatalogDep) -> DeviceAuthorization:
    """Start a device sign-in (RFC 8628): show ``user_code`` to the person, then poll ``/auth/token``."""
    fields = await _fields(request)
    client = str(fields.get("client_id") or "").strip() or None
    settings = settings_of(request)
    started = await run_in_threadpool(
        devices.start,
        cat,
        client=client,
        address=address_of(request),
        seconds=settings.device_code_seconds,
        interval=settings.device_interval_seconds,
    )
    verification = f"{base_url(request)}/device"
    return DeviceAuthorization(
        device_code=started.device_code,
        user_code=started.user_code,
        verification_uri=verification,
        verification_uri_complete=f"{verification}?user_code={started.user_code}",
        expires_in=started.expires_in,
        interval=started.interval,
    )


@router.post("/auth/token", response_model=TokenResponse, responses={400: {"description": "RFC 8628 error"}})
async def token(request: Request, cat: CatalogDep) -> Response:
    """Poll for the session token of an approved device code. Errors have the OAuth shape
    ``{"error", "error_description"}``: ``authorization_pending``, ``slow_down``, ``access_denied``,
    ``expired_token``, ``invalid_grant``, ``unsupported_grant_type``, ``invalid_request``."""
    try:
        fields = await _fields(request)
    except BadRequestError as exc:
        return _oauth_error("invalid_request", exc.message)
    grant_type = str(fields.get("grant_type") or "")
    if grant_type != DEVICE_GRANT:
        return _oauth_error("unsupported_grant_type", f"this server only grants {DEVICE_GRANT}")
    code = str(fields.get("device_code") or "")
    if not code:
        return _oauth_error("invalid_request", "device_code is missing")
    lifetime = session_lifetime(request)
    try:
        session = await run_in_threadpool(
            devices.poll, cat, code[:200], lifetime=lifetime, address=address_of(request)
        )
    except devices.DeviceGrantError as exc:
        return _oauth_error(exc.error, exc.description)
    body = TokenResponse(access_token=session.token, expires_in=int(lifetime.total_seconds()))
    return JSONResponse(body.model_dump(exclude_none=True), headers=_NO_STORE)


@router.post("/auth/logout", status_code=204)
def logout(cat: CatalogDep, principal: CallerDep) -> Response:
    """End the calling session (its token stops working at once)."""
    if principal.kind != "user" or not principal.session_id:
        raise BadRequestError("API client tokens are revoked by an org admin (`floe token revoke`)")
    signin.revoke_session(cat, principal, principal.session_id)
    return Response(status_code=204)


@router.get("/auth/sessions", response_model=list[Session])
def list_sessions(cat: CatalogDep, principal: CallerDep) -> list[Session]:
    """Your live sessions (command line and browser)."""
    return signin.list_sessions(cat, _person(principal))


@router.delete("/auth/sessions/{session_id}", status_code=204)
def revoke_session(session_id: str, cat: CatalogDep, principal: CallerDep) -> Response:
    """End one of your sessions (404 for sessions that are not yours)."""
    signin.revoke_session(cat, _person(principal), session_id)
    return Response(status_code=204)
