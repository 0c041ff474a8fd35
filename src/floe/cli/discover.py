"""``floe bucket ls``: the Icechunk repos stored under a bucket config, registered or not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from floe.cli.common import JsonOpt, OrgOpt, connect, resolve_org, working
from floe.cli.output import emit_json, emit_table, escape, note

if TYPE_CHECKING:
    from floe.models.discovery import DiscoveredRepo, DiscoveryResult, ImportOutcome

COLUMNS = [
    ("prefix", "Prefix"),
    ("catalog", "Catalog name"),
    ("snapshots", "Snapshots"),
    ("size", "Size"),
]
IMPORT_COLUMNS = [("prefix", "Prefix"), ("outcome", "Outcome")]


def human_size(size: int | None) -> str:
    """``1536`` -> ``1.5 KiB``; ``None`` (not counted) -> ``?``."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _shown_prefix(prefix: str) -> str:
    return prefix or "(the bucket config's prefix)"


def _catalog(repo: DiscoveredRepo) -> str:
    if repo.catalog_name:
        return repo.catalog_name
    if repo.trashed_as:
        return f"in the trash: {repo.trashed_as}"
    if repo.registered_elsewhere:
        return "registered in another org"
    return "not registered"


def _row(repo: DiscoveredRepo) -> dict[str, Any]:
    return {
        "prefix": _shown_prefix(repo.prefix),
        "catalog": _catalog(repo),
        "snapshots": "?" if repo.snapshot_count is None else str(repo.snapshot_count),
        "size": human_size(repo.size_bytes),
    }


def _outcome(outcome: ImportOutcome) -> dict[str, Any]:
    if outcome.status == "imported":
        text = f"imported as {outcome.name}"
    elif outcome.status == "registered":
        text = f"already registered as {outcome.name}"
    else:
        text = f"skipped: {outcome.reason}"
    return {"prefix": _shown_prefix(outcome.prefix), "outcome": text}


def _where(found: DiscoveryResult) -> str:
    searched = "/".join(p for p in (found.bucket_prefix, found.prefix) if p)
    return f"{found.nickname}" + (f" ({searched})" if searched else "")


def _notes(found: DiscoveryResult) -> None:
    if found.truncated:
        note("[bold yellow]The search was cut short[/]; there may be more repos than shown:")
    for line in found.notes:
        note(f"note: {escape(line)}")


def register(app: typer.Typer) -> None:
    """Add ``ls`` to the ``floe bucket`` command group."""

    @app.command("ls")
    def list_stored_repos(
        nickname: Annotated[
            str, typer.Argument(metavar="NICKNAME", help="The bucket config's nickname.", show_default=False)
        ],
        prefix: Annotated[
            str | None,
            typer.Argument(
                metavar="PREFIX", help="Search only below this prefix (relative to the bucket config's)."
            ),
        ] = None,
        org: OrgOpt = None,
        import_: Annotated[
            bool,
            typer.Option(
                "--import",
                help="Register every repo found that is not registered yet, named after the last part of its "
                "prefix; names that are taken or invalid are reported and skipped, never overwritten.",
            ),
        ] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """List the Icechunk repos stored under a bucket config, registered or not.

        The server searches the storage with the bucket config's credentials (you need not hold
        them; members and up may search): it looks through the folders under the bucket config's
        prefix, a bounded number of levels down, and shows each repo's catalog name (or "not
        registered"), its number of snapshots and its size ("?" where too many objects to count).
        """
        org = resolve_org(org)
        with connect() as client, working(f"Searching {escape(nickname)} for Icechunk repos ..."):
            if import_:
                result = client.import_bucket_repos(org, nickname, prefix)
                found = result.discovery
            else:
                found = client.list_bucket_repos(org, nickname, prefix)
        if json_out:
            emit_json(result if import_ else found)
            return
        title = f"Icechunk repos in {_where(found)}"
        emit_table([_row(r) for r in found.repos], COLUMNS, title=title)
        if import_:
            emit_table([_outcome(o) for o in result.outcomes], IMPORT_COLUMNS, title=f"Importing into {org}")
            imported, skipped = len(result.imported), len(result.skipped)
            note(f"Imported {imported} repo(s) into org {escape(org)}; skipped {skipped}.")
        _notes(found)
