"""``floe org``: list, show, create and delete orgs."""

from __future__ import annotations

from typing import Annotated

import typer

from floe.cli.common import JsonOpt, YesOpt, connect, group, require_yes
from floe.cli.output import emit_json, emit_record, emit_table, escape, fail, note

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


@app.command("modify")
def modify_org(
    name: NameArg,
    description: Annotated[str | None, typer.Option(help="What the org is for.")] = None,
    trash_days: Annotated[
        int | None,
        typer.Option(
            "--trash-days",
            help="Days the trash keeps a deleted repo's objects before purging them (0: purge at the next "
            "round, about hourly).",
            min=0,
            max=3650,
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change an org's description or trash retention (org admins)."""
    if description is None and trash_days is None:
        fail("nothing to change: give --description and/or --trash-days", code=2)
    with connect() as client:
        org = client.modify_org(name, description=description, trash_retention_days=trash_days)
    if json_out:
        emit_json(org)
    else:
        note(f"Updated org [bold]{escape(org.name)}[/].")
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


LOCATION_COLUMNS = [
    ("id", "Id"),
    ("platform", "Platform"),
    ("name", "Bucket / folder"),
    ("prefix", "Prefix"),
    ("extra_config", "Store"),
    ("created", "Shared"),
]


@app.command("locations")
def list_locations(name: NameArg, json_out: JsonOpt = False) -> None:
    """List the storage locations a site admin has shared with an org."""
    with connect() as client:
        found = client.list_shared_locations(name)
    if json_out:
        emit_json(found)
    else:
        emit_table(found, LOCATION_COLUMNS, title=f"Locations shared with {name}")


@app.command("share-location")
def share_location(
    name: NameArg,
    uri: Annotated[
        str,
        typer.Argument(
            metavar="URI",
            help="platform://bucket[/prefix] or file:///folder, e.g. s3://climate/shared.",
            show_default=False,
        ),
    ],
    endpoint_url: Annotated[
        str | None, typer.Option(help="Endpoint of an S3-compatible, GCS or Azure store.")
    ] = None,
    account_name: Annotated[str | None, typer.Option(help="Azure storage account.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Let an org use a location (site admins): its bucket configs may point inside it even where
    other orgs use it too, and, for file:// folders, outside the org's own folder."""
    extra = {k: v for k, v in (("endpoint_url", endpoint_url), ("account_name", account_name)) if v}
    with connect() as client:
        shared = client.share_location(org=name, uri=uri, extra_config=extra)
    if json_out:
        emit_json(shared)
    else:
        note(f"Shared {escape(uri)} with org [bold]{escape(name)}[/] (id {shared.id}).")


@app.command("unshare-location")
def unshare_location(
    name: NameArg,
    location_id: Annotated[str, typer.Argument(metavar="ID", help="Id from `floe org locations`.")],
) -> None:
    """Stop sharing a location with an org (site admins)."""
    with connect() as client:
        client.unshare_location(org=name, location_id=location_id)
    note(f"Org [bold]{escape(name)}[/] no longer shares location {escape(location_id)}.")
