"""Put netCDF, HDF5 and Zarr files into a Floe repo, and take a plain copy out again.

>>> from floe.client.ingest import ingest, export
>>> ingest(client, "my-org/era5", ["era5_*.nc"], concat_dim="time")   # one commit
>>> export(client, "my-org/era5", "era5.nc", ref="v1")                 # a plain netCDF file

Both work through a :class:`floe.Client` only: :func:`ingest` writes through the repository
``client.get_repo(name)`` returns (so Floe's write blocks and commit leases apply) and commits
once, at the end; if anything fails before that, nothing is committed. :func:`export` reads
through a read-only session of the ref it is given.

Files are read with xarray: netCDF-4 and HDF5 with h5netcdf (else netCDF4), netCDF-3 with
netCDF4 (else scipy), Zarr stores with zarr. The format is found from the file's first bytes,
never from its name. Several files are combined lazily with dask and written chunk by chunk.
The heavy imports (xarray, dask, the netCDF libraries) happen inside the functions, so
importing this module, or ``floe``, stays cheap.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from floe.errors import ConflictError, NotFoundError, PermissionDeniedError, StorageError, ValidationError

if TYPE_CHECKING:
    import icechunk
    import xarray as xr

    from floe.client import Client

__all__ = ["ExportResult", "IngestError", "IngestResult", "Progress", "export", "ingest"]

INSTALL_HINT = "pip install 'icefloe[xarray]'"
MESSAGE_NAMES = 20  # the most source names listed in a commit message
DASK_BYTES = 256 * 2**20  # a single file larger than this is read with dask too
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
NETCDF3_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
ZARR_MARKERS = ("zarr.json", ".zgroup", ".zarray", ".zmetadata")
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".h5", ".hdf5", ".he5")

# Encodings that mean the same in every format xarray writes (CF packing, time units, fill values).
CF_ENCODINGS = ("dtype", "_FillValue", "missing_value", "scale_factor", "add_offset", "units", "calendar")

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``: stage ``"open"`` counts files opened, ``"write"`` and ``"export"``
count dask tasks done (``total`` may be ``None`` until known)."""


class IngestError(ValidationError):
    """A file, a path or an option given to :func:`ingest` or :func:`export` does not fit."""


class IngestResult(BaseModel):
    """What :func:`ingest` committed."""

    repo: str
    branch: str
    group: str  # "/" for the root
    snapshot_id: str
    message: str
    sources: list[str]  # the files read, in the order they were combined
    appended: bool
    variables: list[str]  # the data variables written
    sizes: dict[str, int]  # the dimensions of the group after the commit


class ExportResult(BaseModel):
    """What :func:`export` wrote."""

    repo: str
    path: str
    format: Literal["netcdf", "zarr"]
    zarr_format: int | None
    ref: str
    ref_kind: str  # "branch", "tag" or "snapshot"
    snapshot_id: str
    group: str
    variables: list[str]
    sizes: dict[str, int]


# --- dependencies ---------------------------------------------------------------------------


def _need(module: str, why: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{why} needs the Python package {module.split('.')[0]}: {INSTALL_HINT}") from None


def _have(*modules: str) -> bool:
    import importlib.util

    try:
        return all(importlib.util.find_spec(m) is not None for m in modules)
    except (ImportError, ValueError):  # a parent package missing, or a module blocked in sys.modules
        return False


# --- finding and reading the files ----------------------------------------------------------


def expand_paths(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Paths as given, with glob patterns (``*``, ``?``, ``[...]``, ``**``) expanded and sorted; no duplicates.

    A pattern is expanded here, so it works quoted (``'data/*.nc'``) as well as unquoted.
    """
    if not paths:
        raise IngestError("no files given: name one or more netCDF, HDF5 or Zarr paths")
    found: list[Path] = []
    for given in paths:
        text = os.fspath(given)
        path = Path(text).expanduser()
        if path.exists():
            found.append(path)
        elif glob.has_magic(text):
            matches = sorted(glob.glob(os.path.expanduser(text), recursive=True))
            if not matches:
                raise IngestError(f"no files match {text!r}")
            found.extend(Path(m) for m in matches)
        else:
            raise IngestError(f"no such file or folder: {text}")
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve(), None)
    return list(unique)


def _hdf5_at(fh: Any, size: int) -> bool:
    """HDF5's superblock is at 0 or, after a user block, at 512, 1024, 2048, ... bytes."""
    offset = 0
    while offset + 8 <= size and offset <= 2**20:
        fh.seek(offset)
        if fh.read(8) == HDF5_SIGNATURE:
            return True
        offset = 512 if offset == 0 else offset * 2
    return False


def sniff(path: Path) -> Literal["zarr", "hdf5", "netcdf3"]:
    """The format of ``path`` from its contents: a Zarr store (a folder), HDF5 / netCDF-4, or netCDF-3."""
    if path.is_dir():
        if any((path / marker).exists() for marker in ZARR_MARKERS):
            return "zarr"
        raise IngestError(f"{path} is a folder but not a Zarr store (it has no zarr.json or .zgroup)")
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
            if head[:4] in NETCDF3_MAGIC:
                return "netcdf3"
            if _hdf5_at(fh, path.stat().st_size):
                return "hdf5"
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from None
    raise IngestError(f"{path} is not a netCDF, HDF5 or Zarr file (it starts with {head[:8]!r})")


def engine_for(path: Path) -> str:
    """The xarray engine that reads ``path`` (see :func:`sniff`), among those installed."""
    kind = sniff(path)
    if kind == "zarr":
        return "zarr"
    if kind == "hdf5":
        if _have("h5netcdf", "h5py"):
            return "h5netcdf"
        if _have("netCDF4"):
            return "netcdf4"
        raise ImportError(f"reading {path.name} (HDF5 / netCDF-4) needs h5netcdf or netCDF4: {INSTALL_HINT}")
    if _have("netCDF4"):
        return "netcdf4"
    if _have("scipy"):
        return "scipy"
    raise ImportError(f"reading {path.name} (netCDF-3) needs netCDF4: {INSTALL_HINT}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def _open_one(path: Path, *, source_group: str | None, chunks: dict | None) -> xr.Dataset:
    import xarray as xr

    engine = engine_for(path)
    kwargs: dict[str, Any] = {"engine": engine, "chunks": chunks}
    if source_group:
        kwargs["group"] = source_group
    if engine == "zarr":
        kwargs["consolidated"] = None
    elif engine == "h5netcdf":
        kwargs["phony_dims"] = "sort"  # plain HDF5 datasets without dimension scales
    try:
        return xr.open_dataset(path, **kwargs)
    except ImportError:
        raise ImportError(f"reading {path.name} needs more packages: {INSTALL_HINT}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        where = f" (group {source_group!r})" if source_group else ""
        raise IngestError(f"cannot read {path}{where} with {engine}: {_first_line(exc)}") from None


def _check_consistent(datasets: list[xr.Dataset], paths: list[Path], concat_dim: str | None) -> None:
    """Every file has the same data variables; the concat dim is in all of them."""
    first = {str(name) for name in datasets[0].data_vars}
    for ds, path in zip(datasets[1:], paths[1:], strict=True):
        names = {str(name) for name in ds.data_vars}
        if names != first:
            missing, extra = sorted(first - names), sorted(names - first)
            parts = []
            if missing:
                parts.append(f"lacks {', '.join(missing)}")
            if extra:
                parts.append(f"has {', '.join(extra)} too")
            raise IngestError(
                f"{path.name} does not have the variables of {paths[0].name}: it {' and '.join(parts)}"
            )
    if concat_dim is not None:
        for ds, path in zip(datasets, paths, strict=True):
            if concat_dim not in ds.dims:
                dims = ", ".join(str(d) for d in ds.dims) or "none"
                raise IngestError(
                    f"--concat-dim {concat_dim!r} is not a dimension of {path.name} (its dims: {dims})"
                )


def _combine(datasets: list[xr.Dataset], concat_dim: str | None) -> xr.Dataset:
    import xarray as xr

    options: dict[str, Any] = {
        "data_vars": "minimal",
        "coords": "minimal",
        "compat": "no_conflicts",
        "join": "exact",
        "combine_attrs": "override",
    }
    try:
        combined: xr.Dataset | xr.DataArray
        if concat_dim is not None:
            combined = xr.combine_nested(datasets, concat_dim=concat_dim, **options)
        else:
            combined = xr.combine_by_coords(datasets, **options)
        return combined.to_dataset() if isinstance(combined, xr.DataArray) else combined
    except ValueError as exc:
        hint = "" if concat_dim else "; give --concat-dim DIM to join them along DIM in the order given"
        raise IngestError(f"cannot combine the files: {_first_line(exc)}{hint}") from None


def _regular_chunks(ds: xr.Dataset) -> xr.Dataset:
    """Dask chunks that Zarr can store: equal along each dim except a smaller last one."""
    fix: dict[Any, int] = {}
    for var in ds.variables.values():
        if var.chunks is None:
            continue
        for dim, sizes in zip(var.dims, var.chunks, strict=True):
            if len(sizes) > 1 and (len(set(sizes[:-1])) > 1 or sizes[-1] > sizes[0]):
                fix[dim] = max(fix.get(dim, 0), *sizes)
    return ds.chunk(fix) if fix else ds


def _clean_encoding(ds: xr.Dataset) -> xr.Dataset:
    """Keep the encodings that carry into the repo: CF packing and time units, and a Zarr source's chunks
    (for arrays read without dask); drop the source format's codecs and chunk hints."""
    ds = ds.copy()
    for var in ds.variables.values():
        keep = {k: v for k, v in var.encoding.items() if k in CF_ENCODINGS}
        if var.chunks is None and "chunks" in var.encoding and var.encoding.get("chunks"):
            keep["chunks"] = var.encoding["chunks"]
        var.encoding = keep
    return ds


def _source_names(paths: list[Path]) -> list[str]:
    names = [p.name for p in paths]
    if len(set(names)) < len(names):  # same file names in different folders: say which
        return [str(p) for p in paths]
    return names


def default_message(names: list[str], *, appended: bool, concat_dim: str | None, group: str) -> str:
    """``ingest 3 files: a.nc, b.nc, c.nc`` (the first 20 names, then ``... and N more``)."""
    count = f"{len(names)} file{'s' if len(names) != 1 else ''}"
    verb = f"append {count} along {concat_dim}" if appended else f"ingest {count}"
    where = f" into {group}" if group != "/" else ""
    listed = ", ".join(names[:MESSAGE_NAMES])
    if len(names) > MESSAGE_NAMES:
        listed += f" and {len(names) - MESSAGE_NAMES} more"
    return f"{verb}{where}: {listed}"


# --- progress through dask ------------------------------------------------------------------


@contextlib.contextmanager
def _dask_progress(progress: Progress | None, stage: str) -> Iterator[None]:
    if progress is None:
        yield
        return
    from dask.callbacks import Callback

    report: Progress = progress

    class Counter(Callback):
        def _start_state(self, dsk: Any, state: Any) -> None:
            report(stage, 0, _total(state))

        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            report(stage, len(state["finished"]), _total(state))

    with Counter():
        yield


def _total(state: Any) -> int:
    return sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))


# --- the repo side --------------------------------------------------------------------------


def _group_path(group: str | None) -> str | None:
    """``None`` for the root, else ``a/b`` (no leading or trailing slashes)."""
    parts = [p for p in (group or "").strip().split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise IngestError(f"invalid group {group!r}: use names separated by '/'")
    return "/".join(parts) or None


def _node(store: Any, path: str | None) -> Any:
    """The Zarr group or array at ``path`` in ``store``, or ``None``."""
    import zarr

    try:
        return zarr.open(store, path=path or "", mode="r")
    except (FileNotFoundError, KeyError):  # zarr's NodeNotFoundError is a FileNotFoundError
        return None


def _existing(session: icechunk.Session, path: str | None) -> xr.Dataset | None:
    import xarray as xr
    import zarr

    node = _node(session.store, path)
    label = "/" + (path or "")
    if node is None:
        return None
    if isinstance(node, zarr.Array):
        raise IngestError(f"{label} in the repo is an array, not a group")
    if not list(node.keys()) and not dict(node.attrs):
        return None
    return xr.open_zarr(session.store, group=path, consolidated=False, chunks=None)


def _check_append(existing: xr.Dataset | None, new: xr.Dataset, dim: str, label: str) -> None:
    import numpy as np

    if existing is None:
        raise IngestError(f"nothing to append to: {label} in the repo is empty (leave out --append)")
    if dim not in existing.dims:
        dims = ", ".join(str(d) for d in existing.dims) or "none"
        raise IngestError(
            f"cannot append along {dim!r}: {label} in the repo has no such dimension (its dims: {dims})"
        )
    old, now = {str(n) for n in existing.data_vars}, {str(n) for n in new.data_vars}
    if old != now:
        parts = []
        if old - now:
            parts.append(f"the files lack {', '.join(sorted(old - now))}")
        if now - old:
            parts.append(f"the repo lacks {', '.join(sorted(now - old))}")
        raise IngestError(f"cannot append: the variables differ ({'; '.join(parts)})")
    if dim in existing.coords and dim in new.coords:
        overlap = np.intersect1d(existing[dim].values, new[dim].values)
        if overlap.size:
            raise IngestError(
                f"cannot append: {overlap.size} value(s) of {dim!r} are already in {label}, e.g. {overlap[0]}"
            )


def _summary(session: icechunk.Session, path: str | None) -> tuple[list[str], dict[str, int]]:
    import xarray as xr

    ds = xr.open_zarr(session.store, group=path, consolidated=False, chunks=None)
    return [str(v) for v in ds.data_vars], {str(k): int(v) for k, v in ds.sizes.items()}


@contextlib.contextmanager
def _icechunk_errors(doing: str) -> Iterator[None]:
    import icechunk

    from floe.inspection import describe_error

    try:
        yield
    except icechunk.ConflictError as exc:
        raise ConflictError(
            f"{doing}: the branch moved on meanwhile ({describe_error(exc)}); nothing was committed, run it again"
        ) from None
    except icechunk.IcechunkError as exc:
        raise StorageError(f"{doing} failed: {describe_error(exc)}") from None


def ingest(
    client: Client,
    name: str,
    paths: Sequence[str | os.PathLike[str]],
    *,
    group: str | None = None,
    concat_dim: str | None = None,
    append: bool = False,
    overwrite: bool = False,
    branch: str = "main",
    message: str | None = None,
    source_group: str | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Read ``paths`` (netCDF, HDF5 or Zarr; glob patterns allowed) and commit them to repo ``name`` once.

    - One file is opened with ``xr.open_dataset``; several are combined like ``xr.open_mfdataset``
      would with ``data_vars="minimal", coords="minimal", join="exact"``: by their coordinates, or,
      with ``concat_dim``, along that dimension in the order given (glob matches sorted by name).
    - ``group``: where in the repo (default: the root). Without ``append`` it must be empty, or
      ``overwrite=True`` replaces it.
    - ``append=True`` appends along ``concat_dim`` (required) to the data already in ``group``, which
      must have that dimension and the same variables.
    - ``message``: the commit message; default ``ingest 3 files: a.nc, b.nc, c.nc``. The commit's
      metadata lists every source under ``ingest.sources``.
    - ``source_group``: a group inside the files to read (default: their root).

    Raises :class:`IngestError` (a ``floe.ValidationError``) for files and options that do not fit,
    ``ImportError`` naming ``pip install 'icefloe[xarray]'`` when a reader is missing, and
    ``floe.StorageError`` / ``floe.ConflictError`` when writing fails. Nothing is committed then.
    """
    _need("xarray", "ingest")
    from floe.client.datasets import write_dataset

    if append and not concat_dim:
        raise IngestError("--append needs --concat-dim DIM: the dimension to append along")
    if append and overwrite:
        raise IngestError("give --append or --overwrite, not both")
    files = expand_paths(paths)
    path = _group_path(group)
    label = "/" + (path or "")
    for file in files:
        engine_for(file)  # every file's format, before opening any
    size = sum(f.stat().st_size for f in files if f.is_file())
    # dask for several files and big ones; for a Zarr store too when dask is there (its size is unknown)
    lazy = len(files) > 1 or size > DASK_BYTES or (files[0].is_dir() and _have("dask"))
    if lazy:
        _need("dask.array", f"ingesting {len(files)} files")

    repo = client.get_repo(name)
    datasets: list[xr.Dataset] = []
    with _icechunk_errors(f"ingesting into {name}"):
        session = repo.writable_session(branch)
        existing = _existing(session, path)
        if existing is not None and not (append or overwrite):
            raise IngestError(
                f"{label} in {name} already holds data: use --append to add to it or --overwrite to replace it"
            )
        try:
            for done, file in enumerate(files, start=1):
                datasets.append(_open_one(file, source_group=source_group, chunks={} if lazy else None))
                if progress is not None:
                    progress("open", done, len(files))
            _check_consistent(datasets, files, concat_dim)
            ds = datasets[0] if len(datasets) == 1 else _combine(datasets, concat_dim)
            if not ds.data_vars:
                raise IngestError(f"{files[0].name} has no data variables to ingest")
            ds = _clean_encoding(_regular_chunks(ds) if lazy else ds)
            if append:
                assert concat_dim is not None
                _check_append(existing, ds, concat_dim, label)
            names = _source_names(files)
            text = message or default_message(names, appended=append, concat_dim=concat_dim, group=label)
            kwargs: dict[str, Any] = (
                {"append_dim": concat_dim, "align_chunks": lazy} if append else {"mode": "w"}
            )
            with _dask_progress(progress if lazy else None, "write"):
                try:
                    write_dataset(ds, session, group=path, **kwargs)
                except ValueError as exc:
                    raise IngestError(f"cannot write to {label}: {_first_line(exc)}") from None
            variables, sizes = _summary(session, path)
            snapshot_id = session.commit(
                text, metadata={"ingest": {"sources": names, "group": label, "append": append}}
            )
        finally:
            for opened in datasets:
                opened.close()
            if existing is not None:
                existing.close()
    return IngestResult(
        repo=name,
        branch=branch,
        group=label,
        snapshot_id=snapshot_id,
        message=text,
        sources=[str(f) for f in files],
        appended=append,
        variables=variables,
        sizes=sizes,
    )


# --- export ---------------------------------------------------------------------------------


def _json_attr(value: Any) -> Any:
    """An attribute value netCDF can store: strings, numbers, homogeneous lists; the rest as JSON text."""
    import numpy as np

    if isinstance(value, str | bytes | int | float | np.number | np.ndarray):
        return value
    if isinstance(value, list | tuple) and value:
        if all(isinstance(v, str) for v in value):
            return list(value)
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            return list(value)
    return json.dumps(value, default=str)


def _for_netcdf(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    ds.attrs = {k: _json_attr(v) for k, v in ds.attrs.items()}
    for var in ds.variables.values():
        var.attrs = {k: _json_attr(v) for k, v in var.attrs.items()}
        encoding = {k: v for k, v in var.encoding.items() if k in CF_ENCODINGS}
        if var.ndim and var.dtype.kind in "fiu" and encoding.get("dtype", var.dtype).kind in "fiu":
            encoding.update(zlib=True, complevel=4)
        var.encoding = encoding
    return ds


def _for_zarr(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    for var in ds.variables.values():
        var.encoding = {k: v for k, v in var.encoding.items() if k in (*CF_ENCODINGS, "chunks")}
    return ds


def _out_format(out: Path) -> Literal["netcdf", "zarr"]:
    suffix = out.suffix.lower()
    if suffix == ".zarr":
        return "zarr"
    if suffix in NETCDF_SUFFIXES:
        return "netcdf"
    raise IngestError(f"cannot tell the format of {out.name}: name it OUT.nc (netCDF-4) or OUT.zarr (Zarr)")


def _netcdf_engine() -> str:
    if _have("h5netcdf", "h5py"):
        return "h5netcdf"
    if _have("netCDF4"):
        return "netcdf4"
    raise ImportError(f"writing netCDF needs h5netcdf or netCDF4: {INSTALL_HINT}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _place(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` to ``out``, replacing what was there only once the new copy is whole."""
    if not out.exists():
        tmp.rename(out)
        return
    old = out.with_name(f".{out.name}.floe-old-{uuid.uuid4().hex[:8]}")
    out.rename(old)
    tmp.rename(out)
    _remove(old)


def _open_export_repo(client: Client, name: str) -> icechunk.Repository:
    try:
        return client.get_repo(name, read_only=True)
    except PermissionDeniedError:  # no read-only keys for this bucket: writers read with their own
        return client.get_repo(name)


def export(
    client: Client,
    name: str,
    out: str | os.PathLike[str],
    *,
    ref: str | None = None,
    group: str | None = None,
    overwrite: bool = False,
    zarr_format: int = 3,
    progress: Progress | None = None,
) -> ExportResult:
    """Write one group of repo ``name`` at ``ref`` to ``out``: a netCDF-4 file (``.nc``) or a Zarr store (``.zarr``).

    - ``ref``: a branch, a tag or a snapshot id (default: ``main``).
    - ``group``: the group to write (default: the root); its subgroups are not included.
    - ``zarr_format``: 3 (default) or 2, for ``.zarr`` outputs.
    - ``overwrite``: replace an existing ``out``; without it an existing ``out`` is refused.

    The copy is written next to ``out`` under a temporary name and moved into place when complete,
    so a failed export leaves no partial file. The repo's codecs do not carry across (netCDF gets
    zlib, Zarr the zarr library's defaults); values, coordinates, attributes, CF encodings (units,
    calendars, packing, fill values) and, for Zarr, the chunking do.
    """
    _need("xarray", "export")
    import xarray as xr

    from floe import inspection

    target = Path(out).expanduser()
    fmt = _out_format(target)
    if zarr_format not in (2, 3):
        raise IngestError(f"--zarr-format must be 2 or 3, not {zarr_format}")
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise IngestError(f"{target} exists: use --overwrite to replace it")
    if not target.parent.is_dir():
        raise IngestError(f"no such folder: {target.parent}")
    engine = _netcdf_engine() if fmt == "netcdf" else None
    path = _group_path(group)
    label = "/" + (path or "")

    repo = _open_export_repo(client, name)
    with _icechunk_errors(f"reading {name}"):
        found = inspection.resolve(repo, ref or "main")
        session = repo.readonly_session(snapshot_id=found.snapshot_id)
        node = _node(session.store, path)
        if node is None:
            raise NotFoundError(f"no group {label} in {name} at {found.name}")
        import zarr

        if isinstance(node, zarr.Array):
            raise IngestError(f"{label} in {name} is an array, not a group: export its group")
        chunks: dict[str, int] | None = {} if _have("dask") else None  # without dask, read arrays whole
        ds = xr.open_zarr(session.store, group=path, consolidated=False, chunks=chunks)
        if not ds.variables:
            subgroups = sorted(k for k, _ in node.groups())
            hint = f" (its groups: {', '.join(subgroups)}; use --group)" if subgroups else ""
            raise IngestError(f"nothing to export: {label} in {name} at {found.name} has no arrays{hint}")
        tmp = target.with_name(f".{target.name}.floe-partial-{uuid.uuid4().hex[:8]}")
        try:
            with _dask_progress(progress if chunks is not None else None, "export"):
                if fmt == "netcdf":
                    _for_netcdf(ds).to_netcdf(tmp, engine=engine, format="NETCDF4")  # type: ignore[call-overload]
                else:
                    _for_zarr(ds).to_zarr(
                        tmp, mode="w-", zarr_format=zarr_format, consolidated=zarr_format == 2
                    )
            _place(tmp, target)
        except (ValueError, TypeError) as exc:
            raise IngestError(f"cannot write {target.name}: {_first_line(exc)}") from None
        finally:
            if tmp.exists():
                _remove(tmp)
            ds.close()
    return ExportResult(
        repo=name,
        path=str(target),
        format=fmt,
        zarr_format=zarr_format if fmt == "zarr" else None,
        ref=found.name,
        ref_kind=found.kind,
        snapshot_id=found.snapshot_id,
        group=label,
        variables=[str(v) for v in ds.data_vars],
        sizes={str(k): int(v) for k, v in ds.sizes.items()},
    )
