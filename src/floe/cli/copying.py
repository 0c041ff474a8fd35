"""``floe repo copy`` and ``floe repo move``: a repo, its whole history, to another bucket config.

The bytes go straight from one object store to the other through this machine, with the
credentials the catalog vends (``Client.copy_repo`` / ``Client.move_repo``). Interrupted (Ctrl-C, a
kill, a lost connection), the same command run again resumes where it stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from floe.cli.common import JsonOpt, connect
from floe.cli.output import emit_json, err_console, escape, fail, note

if TYPE_CHECKING:
    from floe.models.transfers import CopyProgress, CopyResult

SrcArg = Annotated[str, typer.Argument(metavar="SRC", help="The repo to copy, ORG/REPO.", show_default=False)]
DstArg = Annotated[
    str, typer.Argument(metavar="DST", help="The new repo, ORG/REPO (must not exist).", show_default=False)
]
NameArg = Annotated[str, typer.Argument(metavar="ORG/REPO", help="The repo to move.", show_default=False)]
BucketOpt = Annotated[
    str, typer.Option("--bucket", help="Nickname of the bucket config to copy to.", show_default=False)
]
PrefixOpt = Annotated[
    str | None,
    typer.Option(
        help="Where in the bucket config (default: <12 hex characters>-<repo name>); must be empty."
    ),
]
ConcurrencyOpt = Annotated[int, typer.Option(min=1, max=64, help="Objects copied at once.")]


class _Bar:
    """A rich progress bar on stderr (objects, bytes, rate), fed by the copy's progress callback."""

    def __init__(self, enabled: bool) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[objects]} objects"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            console=err_console.rich(),
            disable=not enabled,
            transient=False,
        )
        self.task = self.progress.add_task("listing", total=None, objects="0/?")

    def __call__(self, state: CopyProgress) -> None:
        # the bar counts bytes (rate, sizes) and the objects column shows objects done / total
        self.progress.update(
            self.task,
            description=f"{state.phase:9}",
            completed=state.bytes_done,
            total=state.bytes_total or None,
            objects=f"{state.objects_done}/{state.objects_total}",
        )

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _summary(result: CopyResult, verb: str) -> None:
    mb = result.bytes / 1e6
    note(
        f"{verb} [bold]{escape(result.source)}[/]"
        + (f" to [bold]{escape(result.destination)}[/]" if result.destination != result.source else "")
        + f": {result.objects} objects, {mb:.1f} MB in {result.seconds:.1f} s ({result.mb_per_s:.1f} MB/s); "
        f"{result.skipped_objects} already copied by an earlier run were skipped."
    )
    refs = ", ".join(f"{escape(k)} {v}" for k, v in sorted(result.refs.items()))
    note(
        f"Verified: every object's size and checksum, and every branch and tag at the same snapshot ({refs})."
    )
    if result.trash_id:
        note(
            f"The old location is in the trash (entry {result.trash_id}); its objects stay until the trash is purged."
        )


def _prefix(prefix: str | None) -> str:
    return f" --prefix {prefix}" if prefix else ""


def _run(operation: Any, json_out: bool, verb: str, again: str, **kwargs: Any) -> None:
    with connect() as client:
        bar = _Bar(enabled=not json_out)
        try:
            with bar:
                result = operation(client, progress=bar, **kwargs)
        except KeyboardInterrupt:
            fail(f"interrupted; {again}", code=130)
    if json_out:
        emit_json(result)
    else:
        _summary(result, verb)


def copy(
    src: SrcArg,
    dst: DstArg,
    bucket: BucketOpt,
    prefix: PrefixOpt = None,
    concurrency: ConcurrencyOpt = 8,
    json_out: JsonOpt = False,
) -> None:
    """Copy a repo with its whole history, branches and tags to a new repo on another bucket config.

    DST stays offline until every object is copied and verified. Interrupted, the same command
    resumes: objects already copied and verified are skipped.
    """
    _run(
        lambda client, **kw: client.copy_repo(src, dst, **kw),
        json_out,
        "Copied",
        f"run `floe repo copy {src} {dst} --bucket {bucket}{_prefix(prefix)}` again to resume",
        bucket_config_nickname=bucket,
        prefix=prefix,
        concurrency=concurrency,
    )


def move(
    name: NameArg,
    bucket: BucketOpt,
    prefix: PrefixOpt = None,
    concurrency: ConcurrencyOpt = 8,
    json_out: JsonOpt = False,
) -> None:
    """Move a repo to another bucket config: same name, history, grants and metadata (repo admins).

    The repo is offline while it moves; once the copy is verified the catalog points it at the
    new location and puts the old one in the trash. Interrupted, the same command resumes.
    """
    if not bucket:
        fail("--bucket is required", code=2)
    _run(
        lambda client, **kw: client.move_repo(name, **kw),
        json_out,
        "Moved",
        f"run `floe repo move {name} --bucket {bucket}{_prefix(prefix)}` again to resume",
        bucket_config_nickname=bucket,
        prefix=prefix,
        concurrency=concurrency,
    )


def register(app: typer.Typer) -> None:
    """Add ``copy`` and ``move`` to the ``floe repo`` group."""
    app.command("copy")(copy)
    app.command("move")(move)
