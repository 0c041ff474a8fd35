"""``floe repo log | branches | tags | tree | diff``: a repo's versions, read straight from its storage.

The repository is opened on this machine with the credentials the catalog vends for reading
(``Client.get_repo(name, read_only=True)``), so a viewer may run every command here; where a bucket
config has only keys that can write, people who may write use those. The reading itself
is :mod:`floe.inspection`, the same code the web app runs on the server; these commands only print.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from floe.cli.common import MAX_HISTORY_PAGE, MAX_TREE_NODES, JsonOpt, connect
from floe.cli.output import console, emit_json, emit_record, emit_table, escape, fail, note, warn

if TYPE_CHECKING:
    import icechunk
    from rich.text import Text
    from rich.tree import Tree

    from floe.models.versions import NodeInfo, RefInfo, SnapshotDiff, SnapshotEntry

NameArg = Annotated[
    str, typer.Argument(metavar="ORG/REPO", help="The repo, e.g. default/era5.", show_default=False)
]
REF_HELP = "A branch, a tag or a snapshot id."
RefOpt = Annotated[str, typer.Option("--ref", help=f"{REF_HELP} (default: main)", show_default=False)]
REF_COLUMNS = [
    ("name", "Name"),
    ("snapshot_id", "Snapshot"),
    ("written_at", "Time"),
    ("message", "Message"),
]
LOG_COLUMNS = [("id", "Snapshot"), ("written_at", "Time"), ("author", "Author"), ("message", "Message")]
DIFF_COLUMNS = [("change", "Change"), ("kind", "Kind"), ("path", "Path"), ("chunks", "Chunks written")]


@contextmanager
def opened(name: str) -> Iterator[icechunk.Repository]:
    """The repo opened read-only from its storage; catalog, inspection and storage errors as one line."""
    import icechunk

    from floe import inspection
    from floe.errors import PermissionDeniedError

    with connect() as client:
        try:
            try:
                repo = client.get_repo(name, read_only=True)
            except PermissionDeniedError:  # no read-only keys: writers read with their own
                repo = client.get_repo(name)
            yield repo
        except icechunk.IcechunkError as exc:  # storage failures; inspection reports the expected ones
            fail(f"reading {name}: {inspection.describe_error(exc)}")


# --- log, branches, tags --------------------------------------------------------------------


def _author(entry: SnapshotEntry) -> str:
    if entry.author_name and entry.author_email:
        return f"{entry.author_name} <{entry.author_email}>"
    return entry.author_name or entry.author_email or ""


def log(
    name: NameArg,
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="The branch whose history to show (default: main).")
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option("--ref", help=f"{REF_HELP} Its history: it and its ancestors.", show_default=False),
    ] = None,
    count: Annotated[
        int,
        typer.Option(
            "--max-count",
            "-n",
            min=1,
            max=MAX_HISTORY_PAGE,
            help=f"How many snapshots (at most {MAX_HISTORY_PAGE}).",
        ),
    ] = 20,
    skip: Annotated[
        int, typer.Option("--skip", min=0, metavar="K", help="Leave out the newest K first.")
    ] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Show the snapshots of a branch or ref, newest first: id, time, author, message."""
    from floe import inspection

    if branch is not None and ref is not None:
        fail("give --branch or --ref, not both", code=2)
    target = ref if ref is not None else branch or "main"
    with opened(name) as repo:
        if branch is not None:
            found = inspection.resolve(repo, branch)
            if found.kind != "branch":
                fail(f"{branch!r} is a {found.kind}, not a branch: use --ref {branch}")
        page = inspection.history(repo, target, limit=count, skip=skip)
    if json_out:  # an array like every list; whether there is more goes to stderr
        emit_json(page.entries)
        if page.more:
            warn(f"more snapshots: add --skip {skip + len(page.entries)}")
        return
    rows = [{**entry.model_dump(), "author": _author(entry)} for entry in page.entries]
    emit_table(rows, LOG_COLUMNS, title=f"History of {name} at {target}")
    if page.more:
        note(f"… more, use --skip {skip + len(page.entries)}")


def _refs(name: str, kind: str, json_out: bool) -> None:
    from floe import inspection

    with opened(name) as repo:
        found: list[RefInfo] = (
            inspection.list_branches(repo) if kind == "branch" else inspection.list_tags(repo)
        )
    if json_out:
        emit_json(found)
    else:
        heading = "Branches" if kind == "branch" else "Tags"
        emit_table(found, REF_COLUMNS, title=f"{heading} of {name}")


def branches(name: NameArg, json_out: JsonOpt = False) -> None:
    """List the repo's branches (main first) with the snapshot at the tip of each."""
    _refs(name, "branch", json_out)


def tags(name: NameArg, json_out: JsonOpt = False) -> None:
    """List the repo's tags with the snapshot each marks."""
    _refs(name, "tag", json_out)


# --- tree -----------------------------------------------------------------------------------


def _dims(values: list[Any] | None) -> str:
    return "(" + ", ".join("-" if v is None else str(v) for v in values) + ")" if values else ""


def _size(count: int) -> str:
    value, unit = float(count), "bytes"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit} ({count} bytes)"


def _array_summary(node: NodeInfo) -> str:
    parts = [str(tuple(node.shape or ())), node.dtype or "", f"chunks {tuple(node.chunk_shape or ())}"]
    if node.dimension_names:
        parts.append(f"dims {_dims(node.dimension_names)}")
    return "  ".join(parts)


def _label(node: NodeInfo, *, root: bool = False) -> Text:
    from rich.text import Text

    shown = node.path if root else node.name
    if node.kind == "group":
        return Text(shown if shown.endswith("/") else f"{shown}/", style="bold")
    return Text.assemble((shown, "bold cyan"), "  ", _array_summary(node))


def _grow(branch: Tree, node: NodeInfo) -> None:
    for child in node.children:
        _grow(branch.add(_label(child)), child)


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _show_array(node: NodeInfo, ref: str, snapshot_id: str) -> None:
    from floe import inspection

    if node.stored_bytes is not None:
        stored = _size(node.stored_bytes)
    else:
        stored = f"not counted (more than {inspection.MAX_SIZED_CHUNKS} chunks)"
    record = {
        "path": node.path,
        "ref": f"{ref} ({snapshot_id})",
        "shape": str(tuple(node.shape or ())),
        "dtype": node.dtype,
        "chunk_shape": str(tuple(node.chunk_shape or ())),
        "chunks": f"{node.chunks_total} in the grid" if node.chunks_total is not None else None,
        "dimension_names": _dims(node.dimension_names),
        "fill_value": _value(node.fill_value),
        "codecs": node.codecs,
        "stored": stored,
    }
    emit_record(
        record,
        fields=[
            ("path", "Array"),
            ("ref", "Ref"),
            ("shape", "Shape"),
            ("dtype", "Dtype"),
            ("chunk_shape", "Chunk shape"),
            ("chunks", "Chunks"),
            ("dimension_names", "Dimensions"),
            ("fill_value", "Fill value"),
            ("codecs", "Codecs"),
            ("stored", "Stored size"),
        ],
    )
    _show_attributes(node)


def _show_attributes(node: NodeInfo) -> None:
    if not node.attributes:
        note("[bold]Attributes:[/] (none)")
        return
    note("[bold]Attributes:[/]")
    for key, value in node.attributes.items():
        note(f"  {escape(key)}: {escape(_value(value))}")


def tree(
    name: NameArg,
    path: Annotated[
        str | None,
        typer.Argument(
            metavar="PATH",
            help="A group or array in the repo, e.g. /weather/temp (default: /).",
            show_default=False,
        ),
    ] = None,
    ref: RefOpt = "main",
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            min=0,
            help=f"How many levels below PATH to list (default: all, at most {MAX_TREE_NODES} nodes).",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the groups and arrays under PATH as a tree, or the details of the array at PATH.

    Arrays show shape, dtype, chunk shape, dimensions; an array PATH also attributes, codecs, size.
    """
    from rich.tree import Tree

    from floe import inspection

    with opened(name) as repo:
        listing = inspection.tree(repo, ref, path, depth=depth)
    if json_out:
        emit_json(listing)
        return
    node = listing.node
    if node.kind == "array":
        _show_array(node, listing.ref, listing.snapshot_id)
        return
    note(f"{escape(name)} at [bold]{escape(listing.ref)}[/] ({escape(listing.snapshot_id)})")
    shown = Tree(_label(node, root=True), guide_style="dim")
    _grow(shown, node)
    console.print(shown, highlight=False, soft_wrap=True)
    if sum(1 for _ in inspection.walk(node)) > MAX_TREE_NODES:
        note(f"(a listing stops at {MAX_TREE_NODES} nodes: give a PATH or --depth to see the rest)")


# --- diff -----------------------------------------------------------------------------------


def diff_rows(found: SnapshotDiff) -> list[dict[str, Any]]:
    """One row per group or array that changed, by path: added, changed (metadata), written (chunks
    only) or removed, with the chunks written to each array."""
    rows: list[dict[str, Any]] = []

    def add(change: str, kind: str, paths: list[str]) -> None:
        rows.extend(
            {"change": change, "kind": kind, "path": p, "chunks": found.chunks_written.get(p)} for p in paths
        )

    add("added", "group", found.new_groups)
    add("added", "array", found.new_arrays)
    add("changed", "group", found.updated_groups)
    add("changed", "array", found.updated_arrays)
    listed = set(found.new_arrays) | set(found.updated_arrays) | set(found.deleted_arrays)
    add("written", "array", [p for p in found.chunks_written if p not in listed])
    add("removed", "group", found.deleted_groups)
    add("removed", "array", found.deleted_arrays)
    return sorted(rows, key=lambda r: r["path"])


def diff(
    name: NameArg,
    from_ref: Annotated[
        str, typer.Argument(metavar="FROM", help=f"The older version: {REF_HELP.lower()}", show_default=False)
    ],
    to_ref: Annotated[
        str,
        typer.Argument(
            metavar="TO",
            help="The newer version, with FROM in its history (a ref as FROM).",
            show_default=False,
        ),
    ],
    json_out: JsonOpt = False,
) -> None:
    """Show what changed from FROM to TO: groups and arrays added, changed, removed.

    "written": only chunks changed, not the metadata. The last column counts the chunks written.
    """
    from floe import inspection

    with opened(name) as repo:
        found = inspection.diff(repo, from_ref, to_ref)
    if json_out:
        emit_json(found)
        return
    note(
        f"From [bold]{escape(from_ref)}[/] ({escape(found.from_snapshot_id)}) "
        f"to [bold]{escape(to_ref)}[/] ({escape(found.to_snapshot_id)}):"
    )
    if found.empty:
        note("no changes")
        return
    emit_table(diff_rows(found), DIFF_COLUMNS)
    chunks = sum(found.chunks_written.values())
    arrays = len(found.chunks_written)
    note(f"{chunks} chunk{'s' * (chunks != 1)} written to {arrays} array{'s' * (arrays != 1)}")


def register(app: typer.Typer) -> None:
    """Add these commands to the ``floe repo`` group."""
    app.command("log")(log)
    app.command("branches")(branches)
    app.command("tags")(tags)
    app.command("tree")(tree)
    app.command("diff")(diff)
