"""Sign-in with an OpenID Connect provider: authorization code flow with PKCE (S256), state and nonce.

The provider is found through its discovery document (cached per process). What the browser must
bring back (state, nonce, PKCE verifier, where to go next) travels in a short-lived cookie,
encrypted and authenticated with the server's secret key, so any server process can finish a
sign-in another one started. The ID token is checked with Authlib (signature against the
provider's JWKS, iss, aud, azp, exp, iat, nonce, at_hash).
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from fastapi import APIRouter, Request
from fastapi.responses import Response
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from floe.errors import AuthenticationError
from floe.server.catalog import signin
from floe.server.settings import Settings
from floe.server.web.pages import (
    address_of,
    base_url,
    is_https,
    message,
    redirect,
    safe_next,
    session_lifetime,
    set_session_cookie,
    settings_of,
)
from floe.tls import ssl_context

router = APIRouter(include_in_schema=False)

FLOW_COOKIE = "floe_oidc"
FLOW_PATH = "/auth/oidc"
FLOW_SECONDS = 600
_CACHE_SECONDS = 3600
_HTTP_TIMEOUT = 15.0
_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_cache_lock = threading.Lock()


class ProviderError(Exception):
    """The provider could not be reached or answered something unusable."""


class ProviderRefused(ProviderError):
    """The provider turned the authorization code down."""


# --- the provider --------------------------------------------------------------------------------


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(
            url, timeout=_HTTP_TIMEOUT, headers={"accept": "application/json"}, verify=ssl_context()
        )
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderError(f"cannot read {url}: {exc}") from None


def _cached(key: str, fetch, *, force: bool = False) -> dict[str, Any]:
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and not force and time.monotonic() - hit[0] < _CACHE_SECONDS:
        return hit[1]
    value = fetch()
    with _cache_lock:
        _cache[key] = (time.monotonic(), value)
    return value


def discover(issuer: str) -> dict[str, Any]:
    """The provider's metadata (``/.well-known/openid-configuration``), checked and cached."""

    def fetch() -> dict[str, Any]:
        meta = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if str(meta.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
            raise ProviderError(f"the discovery document names issuer {meta.get('issuer')!r}, not {issuer!r}")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not meta.get(name):
                raise ProviderError(f"the provider's discovery document has no {name}")
        return meta

    return _cached("meta:" + issuer, fetch)


def _keys(meta: dict[str, Any], *, force: bool = False) -> KeySet:
    return KeySet.import_key_set(
        _cached("jwks:" + meta["jwks_uri"], lambda: _get_json(meta["jwks_uri"]), force=force)
    )


def redirect_uri(request: Request) -> str:
    return base_url(request) + FLOW_PATH + "/callback"


def exchange_code(
    settings: Settings, meta: dict[str, Any], code: str, verifier: str, redirect_to: str
) -> dict:
    """Trade the authorization code for tokens (client_secret_basic, else client_secret_post)."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_to,
        "code_verifier": verifier,
        "client_id": settings.oidc_client_id,
    }
    auth = None
    methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if settings.oidc_client_secret:
        if "client_secret_basic" in methods:
            auth = httpx.BasicAuth(settings.oidc_client_id or "", settings.oidc_client_secret)
        else:
            data["client_secret"] = settings.oidc_client_secret
    try:
        response = httpx.post(
            meta["token_endpoint"],
            data=data,
            auth=auth,
            timeout=_HTTP_TIMEOUT,
            headers={"accept": "application/json"},
            verify=ssl_context(),
        )
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderError(f"the token request failed: {exc}") from None
    if response.status_code != 200 or "id_token" not in body:
        reason = (
            body.get("error_description")
            or body.get("error")
            or f"status {response.status_code}, no ID token"
        )
        raise ProviderRefused(f"the sign-in provider refused the authorization code: {reason}")
    return body


def validate_id_token(settings: Settings, meta: dict[str, Any], tokens: dict, nonce: str) -> dict[str, Any]:
    """The ID token's claims, once its signature and claims check out; else :class:`JoseError`."""
    algorithms = [a for a in meta.get("id_token_signing_alg_values_supported") or ["RS256"] if a != "none"]
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    try:
        token = jwt.decode(tokens["id_token"], _keys(meta), registry=registry)
    except InvalidKeyIdError:  # the provider rotated its keys
        token = jwt.decode(tokens["id_token"], _keys(meta, force=True), registry=registry)
    claims = CodeIDToken(
        token.claims,
        token.header,
        options={
            "iss": {"essential": True, "value": meta["issuer"]},
            "aud": {"essential": True, "value": settings.oidc_client_id},
            "exp": {"essential": True},
        },
        params={
            "nonce": nonce,
            "client_id": settings.oidc_client_id,
            "access_token": tokens.get("access_token"),
        },
    )
    claims.validate(leeway=60)
    return dict(claims)


# --- the flow cookie --------------------------------------------------------------------------------


def _fernet(settings: Settings) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in settings.secret_keys])


def _seal(settings: Settings, flow: dict[str, str]) -> str:
    return _fernet(settings).encrypt(json.dumps(flow).encode()).decode()


def _open(settings: Settings, sealed: str | None) -> dict[str, str] | None:
    if not sealed:
        return None
    try:
        return json.loads(_fernet(settings).decrypt(sealed.encode(), ttl=FLOW_SECONDS))
    except (InvalidToken, ValueError):
        return None


# --- routes ------------------------------------------------------------------------------------------


@router.get("/auth/oidc/login")
def oidc_login(request: Request, next: str = "/") -> Response:
    settings = settings_of(request)
    if not settings.oidc_enabled:
        return message(request, "Not available", "this server has no single sign-on configured", 404)
    try:
        meta = discover(settings.oidc_issuer or "")
    except ProviderError as exc:
        return message(request, "Sign-in provider unavailable", str(exc), 502)
    flow = {
        "state": generate_token(32),
        "nonce": generate_token(32),
        "verifier": generate_token(64),
        "next": safe_next(next),
    }
    params = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": redirect_uri(request),
        "scope": settings.oidc_scopes,
        "state": flow["state"],
        "nonce": flow["nonce"],
        "code_challenge": create_s256_code_challenge(flow["verifier"]),
        "code_challenge_method": "S256",
    }
    response = redirect(add_params_to_uri(meta["authorization_endpoint"], params))
    response.set_cookie(
        FLOW_COOKIE,
        _seal(settings, flow),
        max_age=FLOW_SECONDS,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path=FLOW_PATH,
    )
    return response


@router.get("/auth/oidc/callback")
def oidc_callback(
    request: Request,
    state: str = "",
    code: str = "",
    iss: str = "",
    error: str = "",
    error_description: str = "",
) -> Response:
    settings = settings_of(request)
    if not settings.oidc_enabled:
        return message(request, "Not available", "this server has no single sign-on configured", 404)
    flow = _open(settings, request.cookies.get(FLOW_COOKIE))
    if flow is None or not state or not hmac.compare_digest(state, flow["state"]):
        # the flow cookie stays: a forged answer must not cancel a sign-in under way
        text = "this sign-in did not start here, or took too long (state mismatch); start again"
        return message(request, "Sign-in failed", text, 400)
    if error:
        reason = f"{error_description} ({error})" if error_description else error
        return _failed(request, f"the sign-in provider refused: {reason[:500]}", 401)
    try:
        meta = discover(settings.oidc_issuer or "")
        if iss and iss != meta["issuer"]:  # RFC 9207: the answer must come from our provider
            return _failed(
                request, "the answer came from another sign-in provider (iss mismatch); start again", 400
            )
        if not code:
            return _failed(request, "the sign-in provider sent no authorization code; start again", 400)
        tokens = exchange_code(settings, meta, code, flow["verifier"], redirect_uri(request))
        claims = validate_id_token(settings, meta, tokens, flow["nonce"])
    except ProviderError as exc:
        return _failed(request, str(exc), 401 if isinstance(exc, ProviderRefused) else 502)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        return _failed(request, f"the provider's ID token is not valid: {exc}", 401)
    try:
        session = signin.sign_in_oidc(
            request.app.state.catalog,
            meta["issuer"],
            claims,
            lifetime=session_lifetime(request),
            address=address_of(request),
        )
    except AuthenticationError as exc:
        return _failed(request, exc.message, 401)
    response = redirect(safe_next(flow.get("next")))
    set_session_cookie(request, response, session.token)
    response.delete_cookie(
        FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax", secure=is_https(request)
    )
    return response


def _failed(request: Request, text: str, status_code: int) -> Response:
    response = message(request, "Sign-in failed", text, status_code)
    response.delete_cookie(
        FLOW_COOKIE, path=FLOW_PATH, httponly=True, samesite="lax", secure=is_https(request)
    )
    return response
