"""``floe org``: list, show, create and delete orgs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from floe.cli.common import JsonOpt, YesOpt, connect, group, require_yes
from floe.cli.output import emit_json, emit_record, emit_table, note

app = group("Orgs: who owns bucket configs, repos and tokens.")

ORG_COLUMNS = [
    ("name", "Name"),
    ("description", "Description"),
    ("default_bucket_nickname", "Default bucket"),
    ("created", "Created"),
]
ORG_FIELDS = [*ORG_COLUMNS, ("id", "Id")]

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Org name.", show_default=False)]


@app.command("list")
def list_orgs(json_out: JsonOpt = False) -> None:
    """List the orgs this token may see."""
    with connect() as client:
        orgs = client.list_orgs()
    if json_out:
        emit_json(orgs)
    else:
        emit_table(orgs, ORG_COLUMNS, title="Orgs")


@app.command("get")
def get_org(name: NameArg, json_out: JsonOpt = False) -> None:
    """Show one org."""
    with connect() as client:
        org = client.get_org(name)
    if json_out:
        emit_json(org)
    else:
        emit_record(org, fields=ORG_FIELDS)


@app.command("create")
def create_org(
    name: NameArg,
    description: Annotated[str | None, typer.Option(help="What the org is for.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an org (site admins only)."""
    with connect() as client:
        org = client.create_org(name, description=description)
    if json_out:
        emit_json(org)
    else:
        note(f"Created org [bold]{escape(org.name)}[/].")
        emit_record(org, fields=ORG_FIELDS)


@app.command("delete")
def delete_org(name: NameArg, yes: YesOpt = False, json_out: JsonOpt = False) -> None:
    """Delete an org with its bucket configs and tokens (refused while it has repos)."""
    require_yes(yes, f"org {name}")
    with connect() as client:
        client.delete_org(name, imsure=True, imreallysure=True)
    if json_out:
        emit_json({"deleted": "org", "name": name})
    else:
        note(f"Deleted org [bold]{escape(name)}[/].")
