"""``floe repo``: list, show, create, import, modify, set the status of, and delete repos; per-repo grants."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from floe.cli import copying, ingest, sharing, trash, versions
from floe.cli.common import (
    GRANT_LEVELS,
    REPO_MODES,
    JsonOpt,
    YesOpt,
    choice,
    connect,
    group,
    parse_pairs,
    require_yes,
    resolve_org,
    working,
)
from floe.cli.output import emit_json, emit_record, emit_table, escape, fail, note

if TYPE_CHECKING:
    from floe.models import Repo

RepoMode = StrEnum("RepoMode", {m: m for m in REPO_MODES})

app = group("Repos: Icechunk repositories registered in the catalog.")

REPO_COLUMNS = [
    ("full_name", "Repo"),
    ("bucket_nickname", "Bucket"),
    ("prefix", "Prefix"),
    ("status", "Status"),
    ("description", "Description"),
    ("metadata", "Metadata"),
]
REPO_FIELDS = [
    ("full_name", "Name"),
    ("bucket", "Bucket"),
    ("prefix", "Prefix"),
    ("status", "Status"),
    ("status_message", "Status message"),
    ("commit_protection", "Commit protection"),
    ("description", "Description"),
    ("metadata", "Metadata"),
    ("created", "Created"),
    ("updated", "Updated"),
    ("id", "Id"),
]

NameArg = Annotated[
    str, typer.Argument(metavar="ORG/REPO", help="The repo, e.g. default/era5.", show_default=False)
]
DescriptionOpt = Annotated[str | None, typer.Option(help="What the repo holds.")]
BucketOpt = Annotated[
    str | None,
    typer.Option("--bucket", help="Nickname of the bucket config (default: the org's default)."),
]


def _bucket_cell(repo: Repo) -> str:
    if repo.bucket is None:
        return ""
    return f"{repo.bucket.nickname} ({repo.bucket.platform})"


def _status_cell(repo: Repo) -> str:
    """The status mode; for a repo still being created, its state too (floe.server.catalog.creation)."""
    mode = repo.status.mode.value
    return mode if repo.state == "ready" else f"{mode} ({repo.state})"


def repo_row(repo: Repo) -> dict[str, Any]:
    """A repo flattened for :func:`emit_table` / :func:`emit_record`."""
    return {
        "full_name": repo.full_name,
        "bucket": _bucket_cell(repo),
        "bucket_nickname": repo.bucket.nickname if repo.bucket else None,
        "prefix": repo.prefix,
        "status": _status_cell(repo),
        "status_message": repo.status.message,
        "commit_protection": {
            "store": "the store's conditional writes",
            "leases": "Floe commit leases (the store lacks conditional writes)",
        }[repo.commit_protection],
        "description": repo.description,
        "metadata": repo.metadata,
        "created": repo.created,
        "updated": repo.updated,
        "id": repo.id,
    }


def repo_rows(repos: Iterable[Repo]) -> list[dict[str, Any]]:
    return [repo_row(r) for r in repos]


def _show(repo: Repo, json_out: bool, message: str | None = None) -> None:
    if json_out:
        emit_json(repo)
        return
    if message:
        note(message)
    emit_record(repo_row(repo), fields=REPO_FIELDS)


@app.command("list")
def list_repos(
    org: Annotated[
        str | None,
        typer.Argument(
            metavar="ORG",
            help="Org (default: $FLOE_ORG, else `org` in the config file, else 'default').",
            show_default=False,
        ),
    ] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            metavar="KEY=VALUE",
            help="Only repos whose metadata has KEY=VALUE (repeatable, all must match); "
            "VALUE is read as JSON when it can be (2020, true), else as a string.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List an org's repos."""
    org = resolve_org(org)
    filter_metadata = parse_pairs(filters, "--filter") or None
    with connect() as client:
        repos = client.list_repos(org, filter_metadata=filter_metadata)
    if json_out:
        emit_json(repos)
    else:
        emit_table(repo_rows(repos), REPO_COLUMNS, title=f"Repos of {org}")


@app.command("get")
def get_repo(name: NameArg, json_out: JsonOpt = False) -> None:
    """Show a repo: bucket, prefix, status, description, metadata."""
    with connect() as client:
        repo = client.get_repo_object(name)
    _show(repo, json_out)


@app.command("create")
def create_repo(
    name: NameArg,
    bucket: BucketOpt = None,
    prefix: Annotated[
        str | None, typer.Option(help="Where in the bucket (default: chosen by the server).")
    ] = None,
    description: DescriptionOpt = None,
    metadata: Annotated[
        list[str] | None,
        typer.Option(
            "--metadata",
            metavar="KEY=VALUE",
            help="Metadata entry (repeatable); VALUE is read as JSON when it can be, else as a string.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a repo: register it in the catalog and create the Icechunk repo in its bucket."""
    values = parse_pairs(metadata, "--metadata", allow_list=True) or None
    with connect() as client:
        with working(f"Creating {escape(name)} ..."):
            client.create_repo(
                name,
                bucket_config_nickname=bucket,
                prefix=prefix,
                description=description,
                metadata=values,
            )
        repo = client.get_repo_object(name)
    _show(repo, json_out, f"Created repo [bold]{escape(repo.full_name)}[/].")


@app.command("import")
def import_repo(
    name: NameArg,
    prefix: Annotated[
        str, typer.Option(help="Where the existing Icechunk repo is in the bucket.", show_default=False)
    ],
    bucket: BucketOpt = None,
    description: DescriptionOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Register an Icechunk repo that already exists in a bucket."""
    with connect() as client:
        repo = client.import_repo_object(
            name, bucket_config_nickname=bucket, prefix=prefix, description=description
        )
    _show(repo, json_out, f"Imported repo [bold]{escape(repo.full_name)}[/].")


@app.command("modify")
def modify_repo(
    name: NameArg,
    description: DescriptionOpt = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="Set a metadata entry (repeatable); VALUE is read as JSON when it can be.",
        ),
    ] = None,
    unset: Annotated[
        list[str] | None, typer.Option("--unset", metavar="KEY", help="Remove a metadata key (repeatable).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a repo's description or metadata."""
    updates = parse_pairs(set_, "--set", allow_list=True) or None
    if description is None and not updates and not unset:
        fail("nothing to change: give --description, --set or --unset", code=2)
    with connect() as client:
        repo = client.modify_repo(
            name, description=description, update_metadata=updates, remove_metadata=unset or None
        )
    _show(repo, json_out, f"Modified repo [bold]{escape(repo.full_name)}[/].")


@app.command("status")
def repo_status(
    name: NameArg,
    mode: Annotated[
        RepoMode | None,
        typer.Argument(
            metavar="MODE", help="New mode; without it, show the current status.", show_default=False
        ),
    ] = None,
    message: Annotated[str | None, typer.Option(help="Why (shown to clients).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show or set a repo's status: online, maintenance (read-only) or offline."""
    if mode is None and message is not None:
        fail("--message needs a mode: online, maintenance or offline", code=2)
    with connect() as client:
        if mode is None:
            status = client.get_repo_object(name).status
        else:
            status = client.set_repo_status(name, mode=mode.value, message=message)
    if json_out:
        emit_json(status)
        return
    if mode is not None:
        note(f"Set [bold]{escape(name)}[/] to {status.mode.value}.")
    emit_record(
        {"mode": status.mode.value, "message": status.message, "initiated_by": status.initiated_by},
        fields=[("mode", "Mode"), ("message", "Message"), ("initiated_by", "Initiated by")],
    )


@app.command("delete")
def delete_repo(
    name: NameArg,
    yes: YesOpt = False,
    keep_data: Annotated[
        bool,
        typer.Option(
            "--keep-data", help="Only unregister it: no trash entry, the objects stay where they are."
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete a repo: it moves to the org's trash, objects kept until purged (`floe repo restore` undoes it)."""
    require_yes(yes, f"repo {name}", undo=None if keep_data else f"`floe repo restore {name}`")
    with connect() as client:
        with working(f"Deleting {escape(name)} ..."):
            client.delete_repo(name, imsure=True, imreallysure=True, keep_data=keep_data)
        org_name = name.split("/")[0]
        days = None if keep_data else client.get_org(org_name).trash_retention_days
    if json_out:
        emit_json({"deleted": "repo", "name": name, "kept_data": keep_data, "trash_retention_days": days})
    elif keep_data:
        note(f"Unregistered repo [bold]{escape(name)}[/]; its objects were left where they are.")
    else:
        note(
            f"Moved repo [bold]{escape(name)}[/] to the trash of {escape(org_name)}: its objects are kept for "
            f"{days:g} days. Undo with `floe repo restore {escape(name)}`; `floe repo purge` deletes it now."
        )


@app.command("leases")
def list_leases(name: NameArg, json_out: JsonOpt = False) -> None:
    """Show who holds commit leases on the repo's refs, and until when."""
    with connect() as client:
        found = client.list_leases(name)
    if json_out:
        emit_json(found)
        return
    emit_table(
        found,
        [
            ("ref", "Ref"),
            ("holder", "Holder"),
            ("principal_name", "Token"),
            ("acquired", "Since"),
            ("expires", "Expires"),
        ],
        title="Leases",
    )


@app.command("break-lease")
def break_lease(
    name: NameArg,
    ref: Annotated[str, typer.Argument(help="The ref, e.g. branch.main or tag.v1.", show_default=False)],
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Break a stale commit lease (repo admins). Its holder's operation, if still running, may fail."""
    if not yes:
        fail(f"breaking the lease on {ref} may let two writers collide: add --yes to confirm", code=2)
    with connect() as client:
        broken = client.break_lease(name, ref=ref)
    if json_out:
        emit_json(broken)
    else:
        note(f"Broke the lease on [bold]{escape(ref)}[/] held by {escape(broken.holder)}.")


# --- per-repo grants -----------------------------------------------------------------------

LEVELS = list(GRANT_LEVELS)
GRANT_COLUMNS = [
    ("principal", "Principal"),
    ("principal_kind", "Kind"),
    ("level", "Level"),
    ("created", "Granted"),
    ("created_by", "By"),
]
PrincipalArg = Annotated[
    str,
    typer.Argument(
        metavar="PRINCIPAL",
        help="A member's email, or an API client's name or id, of the repo's org.",
        show_default=False,
    ),
]


@app.command("grants")
def list_grants(name: NameArg, json_out: JsonOpt = False) -> None:
    """List the per-repo grants: who may do more on this repo than their org role allows."""
    with connect() as client:
        found = client.list_grants(name)
    if json_out:
        emit_json(found)
    else:
        emit_table(found, GRANT_COLUMNS, title=f"Grants on {name}")


@app.command("grant")
def grant(
    name: NameArg,
    principal: PrincipalArg,
    level: Annotated[
        str, typer.Argument(metavar="LEVEL", help=f"One of: {', '.join(LEVELS)}.", show_default=False)
    ],
    json_out: JsonOpt = False,
) -> None:
    """Grant a member or API client read, write or admin on this repo, on top of their org role."""
    choice(level, LEVELS, "level")
    with connect() as client:
        granted = client.grant(name, principal, level)
    if json_out:
        emit_json(granted)
        return
    note(f"Granted [bold]{escape(granted.level)}[/] on {escape(name)} to {escape(granted.principal)}.")


@app.command("revoke-grant")
def revoke_grant(name: NameArg, principal: PrincipalArg, json_out: JsonOpt = False) -> None:
    """Remove a principal's grant on this repo (their org role still applies)."""
    with connect() as client:
        client.revoke_grant(name, principal)
    if json_out:
        emit_json({"revoked": "grant", "repo": name, "principal": principal})
    else:
        note(f"Removed the grant of {escape(principal)} on [bold]{escape(name)}[/].")


# --- version history: log, branches, tags, tree, diff (floe/cli/versions.py) ----------------

versions.register(app)
sharing.register(app)  # share, shares, unshare (floe/cli/sharing.py)
trash.register(app)
ingest.register(app)  # ingest files, export a plain copy (floe/cli/ingest.py)
copying.register(app)  # copy, move (floe/cli/copying.py)
