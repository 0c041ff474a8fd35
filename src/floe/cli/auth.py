"""``floe auth``: sign in and out as a person (OAuth 2.0 device flow), who you are, your sessions."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from floe.cli.common import JsonOpt, client_errors, connect, format_time, group
from floe.cli.output import emit_json, emit_record, emit_table, err_console, escape, fail, note

if TYPE_CHECKING:
    from floe.models import Principal, Session

ENV_SERVICE_URI = "FLOE_SERVICE_URI"  # floe.client.config.ENV_SERVICE_URI
ENV_TOKEN = "FLOE_TOKEN"  # floe.client.config.ENV_TOKEN

app = group("Sign in and out as a person, see who you are, list and end your sessions.")

ServiceUriOpt = Annotated[
    str | None,
    typer.Option(
        "--service-uri",
        metavar="URI",
        help=f"The Floe server (default: ${ENV_SERVICE_URI}, else the config file).",
        show_default=False,
    ),
]

SESSION_COLUMNS = [
    ("id", "Id"),
    ("kind", "Kind"),
    ("client", "Client"),
    ("address", "Address"),
    ("created", "Signed in"),
    ("last_used", "Last used"),
    ("expires", "Expires"),
    ("current", "This one"),
]


def session_row(session: Session) -> dict[str, Any]:
    return {
        "id": str(session.id),
        "kind": session.kind,
        "client": session.client,
        "address": session.address,
        "created": format_time(session.created),
        "last_used": format_time(session.last_used),
        "expires": format_time(session.expires),
        "current": session.current,
    }


def _source_text(source: str | None) -> str:
    from floe.client import sessions
    from floe.client.config import (
        TOKEN_FROM_ARGUMENT,
        TOKEN_FROM_CONFIG,
        TOKEN_FROM_ENV,
        TOKEN_FROM_SESSION,
        config_path,
    )

    return {
        TOKEN_FROM_ARGUMENT: "--token argument",
        TOKEN_FROM_ENV: f"${ENV_TOKEN}",
        TOKEN_FROM_SESSION: f"the session `floe auth login` stored ({sessions.sessions_path()})",
        TOKEN_FROM_CONFIG: f"the config file ({config_path()})",
    }.get(source or "", "none")


def _resolve(service_uri: str | None) -> Any:
    from floe.client.config import resolve

    with client_errors():
        return resolve(service_uri)


@app.command("login")
def login(
    browser: Annotated[bool, typer.Option("--browser", help="Open the sign-in page in a browser.")] = False,
    service_uri: ServiceUriOpt = None,
) -> None:
    """Sign in as a person: approve a code in the browser; the session is stored for this server.

    The session token is kept in sessions.json in the config directory (FLOE_CONFIG_DIR, default
    ~/.config/floe), readable by you only, and used by every command for this server until it expires
    or you run `floe auth logout`. FLOE_TOKEN, when set, still takes precedence.
    """
    with connect(service_uri) as client:
        client.login(browser=browser)
        uri = client.service_uri
    if os.environ.get(ENV_TOKEN):
        err_console.print(
            f"[yellow]note:[/] ${ENV_TOKEN} is set and takes precedence over this session: unset it to use "
            "the session.",
            highlight=False,
            soft_wrap=True,
        )
    default_uri = _resolve(None).service_uri
    if default_uri != uri:
        err_console.print(
            f"[yellow]note:[/] other commands use {escape(default_uri)}: set {ENV_SERVICE_URI}={escape(uri)} "
            "to use this server.",
            highlight=False,
            soft_wrap=True,
        )


@app.command("logout")
def logout(service_uri: ServiceUriOpt = None) -> None:
    """Sign out: end this server's stored session (API client tokens are revoked with `floe token revoke`)."""
    from floe.client import sessions

    with connect(service_uri) as client:
        stored = sessions.load(client.service_uri)
        shadowed = (
            stored is not None and client.token is not None and not sessions.is_session_token(client.token)
        )
        client.logout()
    if shadowed:
        err_console.print(
            f"[yellow]note:[/] a stored session for {escape(client.service_uri)} is not in use because "
            f"{escape(_source_text(client.token_source))} gives a token; without it, `floe auth logout` "
            "ends that session.",
            highlight=False,
            soft_wrap=True,
        )


def _status_record(me: Principal, uri: str, source: str | None, stored: Any) -> dict[str, Any]:
    if me.kind == "user":
        kind = "person" + (" (site admin)" if me.is_site_admin else "")
    else:
        kind = "API client" + (" (site admin)" if me.is_site_admin else "")
    orgs = dict(me.orgs)
    if not orgs and me.org and me.role:
        orgs = {me.org: me.role}
    expiration = None
    if me.expiration:
        try:
            when = datetime.fromtimestamp(me.expiration, UTC)
            expiration = "never" if when.year >= 9999 else format_time(when)
        except (OverflowError, OSError, ValueError):
            expiration = str(me.expiration)
    return {
        "service_uri": uri,
        "who": me.email,
        "name": me.name or " ".join(p for p in (me.first_name, me.family_name) if p) or None,
        "kind": kind,
        "orgs": ", ".join(f"{org} ({getattr(role, 'value', role)})" for org, role in sorted(orgs.items()))
        or "(none)",
        "source": _source_text(source),
        "expires": expiration,
        "id": str(me.id),
    }


@app.command("status")
def status(service_uri: ServiceUriOpt = None, json_out: JsonOpt = False) -> None:
    """Show who you are on the server: email, kind, orgs and roles, where the token comes from."""
    from floe.client import sessions
    from floe.client.config import TOKEN_FROM_SESSION
    from floe.errors import AuthenticationError

    conn = _resolve(service_uri)
    stored = sessions.load(conn.service_uri)
    expired_note = None
    if stored is not None and stored.expired:
        expired_note = (
            f"the session stored for {conn.service_uri}"
            + (f" ({stored.email})" if stored.email else "")
            + f" expired on {format_time(stored.expires)} and is ignored: run `floe auth login`"
        )
        if not json_out:
            err_console.print(f"[yellow]note:[/] {escape(expired_note)}", highlight=False, soft_wrap=True)
    if conn.token is None:
        fail(f"not signed in to {conn.service_uri}: run `floe auth login` (or set {ENV_TOKEN})")
    with connect(service_uri) as client:
        try:
            me = client.whoami()
        except AuthenticationError as exc:
            fail(
                f"the token from {_source_text(conn.token_source)} was refused by {conn.service_uri} ({exc}): "
                "run `floe auth login`"
            )
    if json_out:
        emit_json(
            {
                "service_uri": conn.service_uri,
                "token_source": conn.token_source,
                "session_expires": stored.expires
                if stored is not None and conn.token_source == TOKEN_FROM_SESSION
                else None,
                "stored_session_expired": bool(stored is not None and stored.expired),
                "principal": me,
            }
        )
        return
    emit_record(
        _status_record(me, conn.service_uri, conn.token_source, stored),
        fields=[
            ("service_uri", "Server"),
            ("who", "Signed in as"),
            ("name", "Name"),
            ("kind", "Kind"),
            ("orgs", "Orgs"),
            ("source", "Token from"),
            ("expires", "Expires"),
            ("id", "Id"),
        ],
    )


@app.command("sessions")
def list_sessions(service_uri: ServiceUriOpt = None, json_out: JsonOpt = False) -> None:
    """List your sign-in sessions (CLI and browser) that have not ended."""
    with connect(service_uri) as client:
        found = client.list_sessions()
    if json_out:
        emit_json(found)
    else:
        emit_table([session_row(s) for s in found], SESSION_COLUMNS, title="Sessions")


@app.command("revoke-session")
def revoke_session(
    session_id: Annotated[
        str,
        typer.Argument(metavar="ID", help="The session's id (see `floe auth sessions`).", show_default=False),
    ],
    service_uri: ServiceUriOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """End one of your sessions: its token stops working at once."""
    with connect(service_uri) as client:
        client.revoke_session(session_id)
    if json_out:
        emit_json({"revoked": "session", "id": session_id})
    else:
        note(f"Ended session [bold]{escape(session_id)}[/].")


@app.command("set-name")
def set_name(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Your name as others see it.", show_default=False)
    ],
    service_uri: ServiceUriOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Change your own display name."""
    with connect(service_uri) as client:
        user = client.update_profile(name=name)
    if json_out:
        emit_json(user)
    else:
        note(f"Your name is now [bold]{escape(user.name)}[/].")


@app.command("change-password")
def change_password(service_uri: ServiceUriOpt = None) -> None:
    """Change your password (prompts for the current one and the new one); your other sessions end."""
    from floe.models.access import MIN_PASSWORD_LENGTH

    if not sys.stdin.isatty():
        fail("change-password prompts for passwords: run it in a terminal", code=2)
    current = typer.prompt("Current password", hide_input=True, err=True)
    new = typer.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    if len(new) < MIN_PASSWORD_LENGTH:
        fail(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters", code=2)
    with connect(service_uri) as client:
        client.change_password(current, new)
    note("Changed your password.")
