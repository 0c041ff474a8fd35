"""``floe repo trash | restore | purge``: deleted repos are kept in the org's trash until purged."""

from __future__ import annotations

from typing import Annotated

import typer

from floe.cli.common import JsonOpt, connect, working
from floe.cli.output import emit_json, emit_table, escape, fail, note

RepoArg = Annotated[str, typer.Argument(metavar="ORG/REPO", help="The repo, as it was named when deleted.")]
IdOpt = Annotated[
    str | None,
    typer.Option(
        "--id", help="Which trash entry, when the name was deleted more than once (see `floe repo trash`)."
    ),
]


def show_trash(
    org: Annotated[str, typer.Argument(metavar="ORG", help="The org.")], json_out: JsonOpt = False
) -> None:
    """List the org's trash: deleted repos and old locations of moved ones, with their purge dates."""
    with connect() as client:
        entries = client.list_trash(org)
    if json_out:
        emit_json(entries)
        return
    emit_table(
        entries,
        [
            ("name", "Repo"),
            ("reason", "Why"),
            ("trashed", "Deleted"),
            ("trashed_by", "By"),
            ("purge_after", "Purged after"),
            ("bucket_nickname", "Bucket config"),
            ("prefix", "Prefix"),
            ("id", "Id"),
        ],
        title="Trash",
    )


def restore(
    name: RepoArg,
    new_name: Annotated[
        str | None, typer.Option("--as", help="Restore under this name (when the old one is taken).")
    ] = None,
    trash_id: IdOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Give back a repo from the trash, with its whole history, grants and metadata."""
    with connect() as client:
        repo = client.restore_repo(name, new_name=new_name, trash_id=trash_id)
    if json_out:
        emit_json(repo)
    else:
        note(f"Restored [bold]{escape(repo.org)}/{escape(repo.name)}[/] from the trash.")


def purge(
    name: RepoArg,
    trash_id: IdOpt = None,
    keep_data: Annotated[
        bool, typer.Option("--keep-data", help="Forget the trash entry but leave the objects in storage.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm: this cannot be undone.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete a trashed repo's objects now, for good (org admins)."""
    if not yes:
        fail(f"purging {name} deletes its objects and cannot be undone: add --yes to confirm", code=2)
    with connect() as client, working(f"Purging {escape(name)} ..."):
        result = client.purge_repo(
            name, trash_id=trash_id, keep_data=keep_data, imsure=True, imreallysure=True
        )
    if json_out:
        emit_json(result)
    elif keep_data:
        note(f"Forgot [bold]{escape(name)}[/] from the trash; its objects were left in storage.")
    else:
        note(f"Purged [bold]{escape(name)}[/]: {result.objects_deleted} objects deleted.")


def register(app: typer.Typer) -> None:
    """Add the trash commands to ``floe repo``."""
    app.command("trash")(show_trash)
    app.command("restore")(restore)
    app.command("purge")(purge)
