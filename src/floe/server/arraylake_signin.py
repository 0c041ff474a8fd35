"""Sign-in routes kept only for the official ``arraylake`` client (0.33); listed in :mod:`floe.server.arraylake`.

That client reads ``domain`` and ``client_id`` from ``/auth/config`` and then speaks Auth0's dialect of the
OAuth 2.0 device flow at ``https://{domain}`` (so it needs Floe served over https). Here that dialect is
mapped onto Floe's own device flow (:mod:`floe.server.catalog.devices`):

``POST /oauth/device/code``
    Floe's ``/auth/device/code``: the person approves the code on Floe's ``/device`` page.
``POST /oauth/token``
    The device grant answers Floe's session token as ``access_token``, ``id_token`` (the one that client
    sends) and ``refresh_token``; the ``refresh_token`` grant swaps a live session for a new one and ends
    the old one (:func:`floe.server.catalog.devices.rotate`).
``GET /v2/logout``
    Auth0's browser logout. That client (``TokenHandler._logout``) sends it with no token, cookie, query
    or body, so nothing names a session to end: it answers 200, and the session stays valid until it
    expires or is ended (``POST /auth/logout`` with it, ``floe auth revoke-session``, the web app).
``POST /auth/update-user``
    What ``/user`` answers that client, which it calls once after signing in.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from floe.errors import BadRequestError
from floe.models import DeviceAuthorization, Principal
from floe.server.catalog import devices
from floe.server.deps import CallerDep, CatalogDep
from floe.server.routes import auth as floe_auth
from floe.server.routes.meta import whoami
from floe.server.web.pages import address_of, session_lifetime

router = APIRouter(tags=["arraylake client"], include_in_schema=False)

REFRESH_GRANT = "refresh_token"


@router.post("/oauth/device/code", response_model=DeviceAuthorization)
async def device_code(request: Request, cat: CatalogDep) -> DeviceAuthorization:
    """Start a device sign-in, as ``/auth/device/code``."""
    return await floe_auth.device_code(request, cat)


@router.post("/oauth/token")
async def token(request: Request, cat: CatalogDep) -> Response:
    """The device and refresh-token grants, answered with the token fields that client requires."""
    try:
        fields = await floe_auth._fields(request)
    except BadRequestError as exc:
        return floe_auth._oauth_error("invalid_request", exc.message)
    grant_type = str(fields.get("grant_type") or "")
    lifetime = session_lifetime(request)
    address = address_of(request)
    try:
        if grant_type == floe_auth.DEVICE_GRANT:
            code = str(fields.get("device_code") or "")
            if not code:
                return floe_auth._oauth_error("invalid_request", "device_code is missing")
            session = await run_in_threadpool(
                devices.poll, cat, code[:200], lifetime=lifetime, address=address
            )
        elif grant_type == REFRESH_GRANT:
            refresh = str(fields.get("refresh_token") or "")
            if not refresh:
                return floe_auth._oauth_error("invalid_request", "refresh_token is missing")
            session = await run_in_threadpool(
                devices.rotate, cat, refresh[:200], lifetime=lifetime, address=address
            )
        else:
            return floe_auth._oauth_error(
                "unsupported_grant_type", f"use {floe_auth.DEVICE_GRANT} or {REFRESH_GRANT}"
            )
    except devices.DeviceGrantError as exc:
        return floe_auth._oauth_error(exc.error, exc.description)
    body = {
        "access_token": session.token,
        "id_token": session.token,
        "refresh_token": session.token,
        "token_type": "Bearer",
        "expires_in": int(lifetime.total_seconds()),
    }
    return JSONResponse(body, headers=floe_auth._NO_STORE)


@router.get("/v2/logout")
async def logout() -> dict[str, str]:
    """Auth0's browser logout: called with no token, cookie, query or body, so no session to end here."""
    return {
        "detail": "signed out on this device; the session itself ends when it expires or is ended "
        "(POST /auth/logout with its token, `floe auth revoke-session`, or in the web app)"
    }


@router.post("/auth/update-user", response_model=Principal)
def update_user(principal: CallerDep) -> Principal:
    """The caller as ``/user`` answers the arraylake client (nothing to update: Floe keeps the profile)."""
    return whoami(principal, True)
