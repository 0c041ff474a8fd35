"""``floe repo ingest`` and ``floe repo export``: netCDF / HDF5 / Zarr files in, a plain copy out.

A thin layer over :mod:`floe.client.ingest`; xarray, dask and the netCDF libraries are imported
only when a command runs (they come with ``pip install 'icefloe[xarray]'``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from floe.cli.common import JsonOpt, connect
from floe.cli.output import emit_json, err_console, escape, fail, note

NameArg = Annotated[
    str, typer.Argument(metavar="ORG/REPO", help="The repo, e.g. default/era5.", show_default=False)
]
GroupOpt = Annotated[
    str | None, typer.Option("--group", "-g", help="The group in the repo (default: the root).")
]
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Replace an existing OUT (once the new copy is complete).")
]
STAGES = {"open": "opening files", "write": "writing chunks", "export": "writing chunks"}


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int | None], None] | None]:
    """A rich progress bar on stderr when it is a terminal, shown from the first report on; else nothing."""
    if not err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    bar = Progress(*columns, console=err_console.rich(), transient=True)
    tasks: dict[str, TaskID] = {}

    def report(stage: str, done: int, total: int | None) -> None:
        if not tasks:
            bar.start()
        if stage not in tasks:
            tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done, total=total)

    try:
        yield report
    finally:
        if tasks:
            bar.stop()


@contextmanager
def _running() -> Iterator[None]:
    """Quiet library warnings (they would break the one-line errors); missing packages as one line."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning, message=".*(invalid value|encountered)")
        try:
            yield
        except ImportError as exc:
            fail(str(exc) if "icefloe[xarray]" in str(exc) else f"{exc}: pip install 'icefloe[xarray]'")


def ingest_command(
    name: NameArg,
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATHS...",
            help="netCDF, HDF5 or Zarr files; glob patterns ('data/*.nc', quoted or not) are expanded and sorted.",
            show_default=False,
        ),
    ],
    group: GroupOpt = None,
    concat_dim: Annotated[
        str | None,
        typer.Option(
            "--concat-dim",
            metavar="DIM",
            help="Join the files along DIM in the order given (default: by their coordinates).",
        ),
    ] = None,
    append: Annotated[
        bool, typer.Option("--append", help="Append along --concat-dim to the data already in the group.")
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Replace the group's contents (refused otherwise when it has data)."
        ),
    ] = False,
    branch: Annotated[str, typer.Option("--branch", "-b", help="The branch to commit to.")] = "main",
    message: Annotated[
        str | None,
        typer.Option("--message", "-m", help="The commit message (default: 'ingest N files: a.nc, ...')."),
    ] = None,
    source_group: Annotated[
        str | None,
        typer.Option("--source-group", help="Read this group inside the files (default: their root)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Read netCDF, HDF5 or Zarr files with xarray and write them into the repo as one commit."""
    if append and not concat_dim:
        fail("--append needs --concat-dim DIM: the dimension to append along", code=2)
    if append and overwrite:
        fail("give --append or --overwrite, not both", code=2)
    with connect() as client, _running(), _progress() as progress:
        from floe.client.ingest import ingest

        result = ingest(
            client,
            name,
            paths,
            group=group,
            concat_dim=concat_dim,
            append=append,
            overwrite=overwrite,
            branch=branch,
            message=message,
            source_group=source_group,
            progress=progress,
        )
    if json_out:
        emit_json(result)
        return
    count = f"{len(result.sources)} file{'s' if len(result.sources) != 1 else ''}"
    verb = "Appended" if result.appended else "Ingested"
    sizes = ", ".join(f"{k}={v}" for k, v in result.sizes.items())
    note(
        f"{verb} {count} into [bold]{escape(name)}[/] {escape(result.group)} on {escape(result.branch)}: "
        f"snapshot {result.snapshot_id}."
    )
    note(f"Variables: {escape(', '.join(result.variables))} ({escape(sizes)}).")


def export_command(
    name: NameArg,
    out: Annotated[
        Path,
        typer.Argument(
            metavar="OUT", help="OUT.nc (netCDF-4) or OUT.zarr (a Zarr store).", show_default=False
        ),
    ],
    ref: Annotated[
        str | None,
        typer.Option("--ref", help="A branch, a tag or a snapshot id (default: main).", show_default=False),
    ] = None,
    group: GroupOpt = None,
    overwrite: OverwriteOpt = False,
    zarr_format: Annotated[
        int, typer.Option("--zarr-format", min=2, max=3, help="Zarr format of an OUT.zarr: 2 or 3.")
    ] = 3,
    json_out: JsonOpt = False,
) -> None:
    """Write a plain copy of one group at a ref, as netCDF or Zarr, for people without Floe."""
    with connect() as client, _running(), _progress() as progress:
        from floe.client.ingest import export

        result = export(
            client, name, out, ref=ref, group=group, overwrite=overwrite, zarr_format=zarr_format,
            progress=progress,
        )  # fmt: skip
    if json_out:
        emit_json(result)
        return
    what = "netCDF-4" if result.format == "netcdf" else f"Zarr (format {result.zarr_format})"
    note(
        f"Wrote {escape(result.group)} of [bold]{escape(name)}[/] at {result.ref_kind} {escape(result.ref)} "
        f"({result.snapshot_id}) to {escape(result.path)} as {what}."
    )


def register(app: typer.Typer) -> None:
    """Add ``ingest`` and ``export`` to the ``floe repo`` group."""
    app.command("ingest")(ingest_command)
    app.command("export")(export_command)
