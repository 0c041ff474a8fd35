"""``floe token``: API clients (service-account tokens) of an org, and who the current token is."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from floe.cli.common import API_CLIENT_ROLES, JsonOpt, OrgOpt, connect, group, resolve_org
from floe.cli.output import console, emit_json, emit_record, emit_table, escape, note

ApiClientRole = StrEnum("ApiClientRole", {r: r for r in API_CLIENT_ROLES})

app = group("API tokens: create, list and revoke an org's tokens; show who the current token is.")

TOKEN_COLUMNS = [
    ("name", "Name"),
    ("id", "Id"),
    ("role", "Role"),
    ("email", "Email"),
    ("created", "Created"),
    ("expiration", "Expires"),
    ("last_used", "Last used"),
    ("revoked", "Revoked"),
]
TOKEN_FIELDS = [*TOKEN_COLUMNS, ("org", "Org")]


@app.command("create")
def create_token(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="A name for the token, e.g. ci.", show_default=False)
    ],
    org: OrgOpt = None,
    role: Annotated[
        ApiClientRole, typer.Option(help="What the token may do in the org.")
    ] = ApiClientRole.member,
    expires_in_days: Annotated[
        float | None,
        typer.Option(
            "--expires-in-days",
            metavar="N",
            help="Expire after N days (default: never; revoke it with `floe token revoke`).",
        ),
    ] = None,
    email: Annotated[str | None, typer.Option(help="Contact email recorded with the token.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a token (org admins only); it is printed once and cannot be shown again."""
    org = resolve_org(org)
    with connect(flags={"name": None, "email": "--email"}) as client:
        created = client.create_api_client(
            org, name=name, role=role.value, email=email, expires_in_days=expires_in_days
        )
    if json_out:
        emit_json(created)
        return
    note(f"Created token [bold]{escape(created.name)}[/] ({created.role}) in org {escape(created.org)}.")
    emit_record(created, fields=[f for f in TOKEN_FIELDS if f[0] not in ("last_used", "revoked")])
    console.print("\n[bold yellow]Token (shown only once; store it now):[/]", highlight=False)
    typer.echo(created.token)


@app.command("list")
def list_tokens(
    org: OrgOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List the org's tokens (never the token values)."""
    org = resolve_org(org)
    with connect() as client:
        tokens = client.list_api_clients(org, include_revoked=all_)
    if json_out:
        emit_json(tokens)
    else:
        emit_table(tokens, TOKEN_COLUMNS, title=f"Tokens of {org}")


@app.command("revoke")
def revoke_token(
    name_or_id: Annotated[
        str, typer.Argument(metavar="NAME_OR_ID", help="The token's name or id.", show_default=False)
    ],
    org: OrgOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Revoke a token: it stops working at once."""
    org = resolve_org(org)
    with connect() as client:
        revoked = client.revoke_api_client(org, name_or_id)
    if json_out:
        emit_json(revoked)
    else:
        note(f"Revoked token [bold]{escape(revoked.name)}[/] ({revoked.id}) in org {escape(org)}.")


def _expires(epoch_seconds: int) -> datetime | str:
    try:
        when = datetime.fromtimestamp(epoch_seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return str(epoch_seconds)
    return "never" if when.year >= 9999 else when


@app.command("whoami")
def whoami(json_out: JsonOpt = False) -> None:
    """Show who the current token is: name, email, org, role."""
    with connect() as client:
        principal = client.whoami()
    if json_out:
        emit_json(principal)
        return
    record = principal.model_dump(mode="python")
    record["expiration"] = _expires(principal.expiration)
    emit_record(
        record,
        fields=[
            ("name", "Name"),
            ("email", "Email"),
            ("org", "Org"),
            ("role", "Role"),
            ("is_site_admin", "Site admin"),
            ("expiration", "Expires"),
            ("id", "Id"),
        ],
    )
