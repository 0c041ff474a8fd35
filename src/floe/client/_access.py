"""Client operations for people and access: signing in and out (OAuth 2.0 device flow), sessions,
users, org members, repo grants and the audit trail. Flows, like ``_operations`` (re-exported there)."""

from __future__ import annotations

import contextlib
import functools
import re
import socket
import time
import webbrowser
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from floe import __version__
from floe.client import sessions
from floe.client._transport import CLIENT_INFO, Call, ClientInfo, Flow, Run, Sleep, UseToken, check_response
from floe.errors import AuthenticationError, ValidationError
from floe.models import (
    AuditPage,
    DeviceAuthorization,
    Grant,
    GrantLevel,
    Member,
    Principal,
    Role,
    Session,
    TokenResponse,
    User,
)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_SECONDS = 5
ROLES = tuple(r.value for r in Role)
LEVELS = tuple(level.value for level in GrantLevel)


@functools.cache
def _console() -> Any:
    from rich.console import Console  # loaded only when there is something to tell the person

    return Console(stderr=True)


def escape(text: str) -> str:
    """``text`` with rich markup characters escaped."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _say(message: str) -> None:
    """A line for the person signing in (on stderr, so it never mixes with a command's output)."""
    _console().print(message, highlight=False, soft_wrap=True)


def _model(cls: Any) -> Any:
    return lambda response: cls.model_validate_json(response.content)


def _models(cls: Any) -> Any:
    return lambda response: [cls.model_validate(item) for item in response.json()]


def _seg(value: str | UUID) -> str:
    """One URL path segment (an email, a name or an id)."""
    return quote(str(value), safe="@+")


def _split_repo(org_repo: str) -> tuple[str, str]:
    from floe.client._operations import split_name

    return split_name(org_repo)


def _one_of(value: Any, allowed: tuple[str, ...], what: str) -> str:
    text = str(getattr(value, "value", value))
    if text not in allowed:
        raise ValidationError(f"invalid {what} {text!r}: use {', '.join(allowed[:-1])} or {allowed[-1]}")
    return text


# --- signing in and out --------------------------------------------------------------------


def _token_answer(response: httpx.Response) -> TokenResponse | tuple[str, str]:
    """A token, or the RFC 8628 error code and description of a 400 answer."""
    if response.status_code == 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return body["error"], str(body.get("error_description") or "")
    check_response(response)
    return TokenResponse.model_validate_json(response.content)


def _open_browser(url: str) -> bool:
    try:
        return bool(webbrowser.open_new(url))
    except webbrowser.Error:
        return False


def _client_id() -> str:
    return f"floe {__version__} on {socket.gethostname()}"


def login(*, browser: bool = False) -> Flow[None]:
    """Sign in as a person with the OAuth 2.0 device flow.

    Prints a web address and a code: open the address (``browser=True`` opens it for you), sign in there
    and approve the code. The session token is then stored in ``<config dir>/sessions.json`` (readable by
    you only) for this service URI, used by this client at once, and by new clients and ``floe``
    commands for the same server until it expires or you ``logout()``.
    """
    info: ClientInfo = yield CLIENT_INFO
    grant: DeviceAuthorization = yield Call(
        "POST",
        "/auth/device/code",
        data={"client_id": _client_id()},
        token=None,
        parse=_model(DeviceAuthorization),
    )
    minutes = max(1, round(grant.expires_in / 60))
    _say(f"To sign in to Floe at {escape(info.service_uri)}, open this page in a browser:")
    _say(f"\n  [bold]{escape(grant.verification_uri_complete)}[/]\n")
    _say(f"and check that it shows the code [bold]{escape(grant.user_code)}[/].")
    if browser:
        opened = yield Run(_open_browser, (grant.verification_uri_complete,))
        if not opened:
            _say("(No browser could be opened here: open the page above yourself.)")
    _say(f"Waiting for you to approve this sign-in (the code expires in {minutes} minutes) ...")
    interval = float(max(1, grant.interval))
    deadline = time.monotonic() + grant.expires_in
    while True:
        yield Sleep(interval)
        if time.monotonic() > deadline + interval:
            raise AuthenticationError("the sign-in code expired before it was approved: sign in again")
        answer = yield Call(
            "POST",
            "/auth/token",
            data={"grant_type": DEVICE_GRANT, "device_code": grant.device_code, "client_id": _client_id()},
            token=None,
            check=False,
            parse=_token_answer,
        )
        if isinstance(answer, TokenResponse):
            break
        error, description = answer
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += SLOW_DOWN_SECONDS
            continue
        if error == "expired_token":
            raise AuthenticationError("the sign-in code expired before it was approved: sign in again")
        if error == "access_denied":
            raise AuthenticationError("the sign-in was denied in the browser; nothing was stored")
        raise AuthenticationError(f"sign-in failed ({error}): {description or 'no reason given'}")
    token = answer.access_token
    me: Principal = yield Call("GET", "/user", token=token, parse=_model(Principal))
    expires = datetime.now(UTC) + timedelta(seconds=answer.expires_in)
    yield Run(sessions.store, (info.service_uri, token), {"email": me.email, "expires": expires})
    yield UseToken(token)
    until = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    _say(f"Signed in to {escape(info.service_uri)} as [bold]{escape(me.email)}[/] (until {until}).")


def logout() -> Flow[None]:
    """Sign out: end this client's sign-in session on the server and forget the stored one.

    API client tokens are not sessions: they are revoked by an org admin (``floe token revoke``), so
    with one of those this says so and changes nothing.
    """
    info: ClientInfo = yield CLIENT_INFO
    stored: sessions.StoredSession | None = yield Run(sessions.load, (info.service_uri,))
    if info.token and not sessions.is_session_token(info.token):
        _say(
            "This client uses an API client token, not a sign-in session: API client tokens are revoked "
            "by an org admin with `floe token revoke`. Nothing was changed."
        )
        return
    token = info.token or (stored.token if stored else None)
    if token is None:
        _say(f"Not signed in to {escape(info.service_uri)}.")
        return
    with contextlib.suppress(AuthenticationError):  # 401: it had already ended (expired, revoked ...)
        yield Call("POST", "/auth/logout", token=token)
    yield Run(sessions.remove, (info.service_uri,), {"token": token})
    if info.token == token:
        yield UseToken(None)
    _say(f"Signed out of {escape(info.service_uri)}.")


def list_sessions() -> Flow[list[Session]]:
    """Your sign-in sessions (CLI and browser) that have not ended."""
    return (yield Call("GET", "/auth/sessions", parse=_models(Session)))


def revoke_session(id: str | UUID) -> Flow[None]:
    """End one of your sessions by id."""
    yield Call("DELETE", f"/auth/sessions/{_seg(id)}")


def change_password(current: str, new: str) -> Flow[None]:
    """Change your own password."""
    body = {"current_password": current, "new_password": new}
    yield Call("POST", "/user/password", json=body)


def update_profile(*, name: str) -> Flow[User]:
    """Change your own display name (people only)."""
    return (yield Call("PATCH", "/user", json={"name": name}, parse=_model(User)))


# --- users (site admins) -------------------------------------------------------------------


def list_users() -> Flow[list[User]]:
    """Everyone with an account (site admins only)."""
    return (yield Call("GET", "/users", parse=_models(User)))


def create_user(
    email: str, name: str, *, password: str | None = None, is_site_admin: bool = False
) -> Flow[User]:
    """Create an account (site admins only). Without a password the person signs in upstream (OIDC)."""
    body = {"email": email, "name": name, "password": password, "is_site_admin": is_site_admin}
    return (yield Call("POST", "/users", json=body, parse=_model(User)))


def get_user_account(email_or_id: str | UUID) -> Flow[User]:
    """One account, by email or id."""
    return (yield Call("GET", f"/users/{_seg(email_or_id)}", parse=_model(User)))


def update_user(
    email_or_id: str | UUID,
    *,
    name: str | None = None,
    password: str | None = None,
    disabled: bool | None = None,
    is_site_admin: bool | None = None,
) -> Flow[User]:
    """Change an account (site admins only); ``disabled=True`` also ends the person's sessions."""
    body = {
        key: value
        for key, value in {
            "name": name,
            "password": password,
            "disabled": disabled,
            "is_site_admin": is_site_admin,
        }.items()
        if value is not None
    }
    if not body:
        raise ValidationError("nothing to change: give name, password, disabled or is_site_admin")
    return (yield Call("PATCH", f"/users/{_seg(email_or_id)}", json=body, parse=_model(User)))


# --- org members ---------------------------------------------------------------------------


def list_members(org: str) -> Flow[list[Member]]:
    """The people in an org and their roles."""
    return (yield Call("GET", f"/orgs/{_seg(org)}/members", parse=_models(Member)))


def set_member(org: str, email: str, role: str | Role) -> Flow[Member]:
    """Add a person to an org, or change their role: owner, admin, member or viewer."""
    body = {"role": _one_of(role, ROLES, "role")}
    return (yield Call("PUT", f"/orgs/{_seg(org)}/members/{_seg(email)}", json=body, parse=_model(Member)))


def remove_member(org: str, email: str) -> Flow[None]:
    """Take a person out of an org (the last owner cannot be removed)."""
    yield Call("DELETE", f"/orgs/{_seg(org)}/members/{_seg(email)}")


# --- repo grants ---------------------------------------------------------------------------


def list_grants(org_repo: str) -> Flow[list[Grant]]:
    """The per-repo grants of ``ORG/REPO``."""
    org, repo = _split_repo(org_repo)
    return (yield Call("GET", f"/repos/{org}/{repo}/grants", parse=_models(Grant)))


def grant(org_repo: str, principal: str, level: str | GrantLevel) -> Flow[Grant]:
    """Grant a member (by email) or an API client (by name or id) of the org read, write or admin on one repo,
    on top of their org role."""
    org, repo = _split_repo(org_repo)
    body = {"level": _one_of(level, LEVELS, "level")}
    return (
        yield Call("PUT", f"/repos/{org}/{repo}/grants/{_seg(principal)}", json=body, parse=_model(Grant))
    )


def revoke_grant(org_repo: str, principal: str) -> Flow[None]:
    """Remove a principal's grant on one repo (their org role still applies)."""
    org, repo = _split_repo(org_repo)
    yield Call("DELETE", f"/repos/{org}/{repo}/grants/{_seg(principal)}")


# --- audit trail ---------------------------------------------------------------------------

_AGO = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(value: datetime | str, what: str = "time") -> datetime:
    """A point in time from a datetime, an ISO 8601 string (UTC unless it says otherwise) or a time ago
    such as ``30m``, ``1h``, ``7d``, ``2w``; ValidationError says the accepted forms."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    ago = _AGO.fullmatch(text)
    if ago:
        return datetime.now(UTC) - timedelta(**{_UNITS[ago.group(2).lower()]: float(ago.group(1))})
    try:
        when = datetime.fromisoformat(text.upper() if text else "?")
    except ValueError:
        raise ValidationError(
            f"invalid {what} {text!r}: use an ISO 8601 time (2025-01-31 or 2025-01-31T12:00Z) "
            "or a time ago: 30m, 1h, 7d, 2w"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _iso(value: datetime | str | None, what: str) -> str | None:
    if value is None:
        return None
    return parse_when(value, what).astimezone(UTC).isoformat()


def list_audit_events(
    org: str | None = None,
    *,
    actor: str | None = None,
    resource: str | None = None,
    action: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Flow[AuditPage]:
    """One page of the audit trail, newest first: of an org (org admins), or of all orgs (``org=None``,
    site admins). ``since`` / ``until`` take datetimes, ISO 8601 strings or times ago (``"1h"``, ``"7d"``);
    pass the page's ``next_cursor`` as ``cursor`` for the next (older) page."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValidationError(f"invalid limit {limit!r}: use a whole number of at least 1")
    params = {
        "actor": actor,
        "resource": resource,
        "action": action,
        "since": _iso(since, "since"),
        "until": _iso(until, "until"),
        "limit": limit,
        "cursor": cursor,
    }
    path = f"/orgs/{_seg(org)}/audit" if org else "/audit"
    return (yield Call("GET", path, params=params, parse=_model(AuditPage)))
