"""``floe repo ingest`` / ``floe repo export`` and :mod:`floe.client.ingest` against a real Floe server.

Files are made here with xarray: one dataset split along time into netCDF files of different kinds
(netCDF-4 through h5netcdf, netCDF-3 through netCDF4, compressed and chunked netCDF-4), a Zarr store,
and files that must be refused. What the repo holds afterwards is read back with icechunk and xarray
and compared with ``xr.open_mfdataset`` of the same files.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import floe
from cli_runner import Floe, error_line
from floe.client.ingest import ExportResult, IngestError, IngestResult, export, ingest
from services import InProcessFloe, running_floe_in_process, unique_name

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")

DAYS = 16


def weather() -> xr.Dataset:
    """16 days of temperature and precipitation on a 3 x 4 grid, with units and attributes."""
    rng = np.random.default_rng(42)
    time = pd.date_range("2021-03-01", periods=DAYS, freq="D")
    return xr.Dataset(
        {
            "temp": (
                ("time", "lat", "lon"),
                (270 + 20 * rng.random((DAYS, 3, 4))).astype("f4"),
                {"units": "K", "long_name": "air temperature"},
            ),
            "precip": (("time", "lat", "lon"), rng.random((DAYS, 3, 4)), {"units": "mm/day"}),
        },
        coords={
            "time": ("time", time, {"long_name": "time", "standard_name": "time"}),
            "lat": ("lat", [50.0, 51.0, 52.0], {"units": "degrees_north", "standard_name": "latitude"}),
            "lon": ("lon", [-2.0, -1.0, 0.0, 1.0], {"units": "degrees_east"}),
        },
        attrs={"title": "test weather", "institution": "Floe tests"},
    )


@dataclass
class Files:
    parts: list[Path]  # days 0-3, 4-7, 8-11: netCDF-4 (h5netcdf), netCDF-3, compressed netCDF-4
    later: Path  # days 12-15
    no_precip: Path  # days 12-15 without precip
    text: Path  # named .nc, but text
    store: Path  # the whole dataset as a Zarr v2 store
    folder: Path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    folder = tmp_path_factory.mktemp("ingest-files")
    ds = weather()
    parts = [folder / f"part-{i}.nc" for i in range(3)]
    ds.isel(time=slice(0, 4)).to_netcdf(parts[0], engine="h5netcdf")
    ds.isel(time=slice(4, 8)).to_netcdf(parts[1], engine="netcdf4", format="NETCDF3_64BIT")
    ds.isel(time=slice(8, 12)).to_netcdf(
        parts[2], engine="netcdf4", encoding={"temp": {"zlib": True, "chunksizes": (2, 3, 4)}}
    )
    later = folder / "later.nc"
    ds.isel(time=slice(12, 16)).to_netcdf(later)
    no_precip = folder / "no-precip.nc"
    ds.isel(time=slice(12, 16)).drop_vars("precip").to_netcdf(no_precip)
    text = folder / "notes.nc"
    text.write_text("these are notes, not netCDF\n")
    store = folder / "weather.zarr"
    ds.to_zarr(store, zarr_format=2, consolidated=True)
    return Files(parts, later, no_precip, text, store, folder)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFloe]:
    with running_floe_in_process(tmp_path_factory.mktemp("ingest")) as srv:
        yield srv


@pytest.fixture(scope="module")
def floe_cli(server: InProcessFloe, tmp_path_factory: pytest.TempPathFactory) -> Floe:
    return Floe(server, tmp_path_factory.mktemp("floe-config"), in_process=True)


@pytest.fixture(scope="module")
def client(server: InProcessFloe) -> Iterator[floe.Client]:
    with floe.Client(service_uri=server.url, token=server.token) as c:
        yield c


def new_repo(client: floe.Client) -> str:
    name = f"default/{unique_name('ingest-')}"
    client.create_repo(name)
    return name


def read(client: floe.Client, name: str, *, group: str | None = None, **ref: str) -> xr.Dataset:
    """The group as the repo holds it, loaded into memory."""
    session = client.get_repo(name).readonly_session(**(ref or {"branch": "main"}))
    with xr.open_zarr(session.store, group=group, consolidated=False) as ds:
        return ds.load()


def mfdataset(paths: list[Path]) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with xr.open_mfdataset(paths) as ds:
            return ds.load()


def history(client: floe.Client, name: str) -> list[str]:
    return [s.id for s in client.get_repo(name).ancestry(branch="main")]


@dataclass
class Ingested:
    name: str
    first: dict  # the --json answer of the ingest of the three parts
    appended: dict  # ... of the --append of later.nc
    commits: list[list[str]]  # the history before, after the ingest, after the append


@pytest.fixture(scope="module")
def ingested(floe_cli: Floe, client: floe.Client, files: Files) -> Ingested:
    """Three files ingested with a quoted glob, then a fourth appended; tag ``v1`` on the first commit."""
    name = new_repo(client)
    commits = [history(client, name)]
    first = floe_cli.ok("repo", "ingest", name, str(files.folder / "part-*.nc"), "--json").json()
    commits.append(history(client, name))
    client.get_repo(name).create_tag("v1", first["snapshot_id"])
    appended = floe_cli.ok(
        "repo", "ingest", name, str(files.later), "--concat-dim", "time", "--append", "--json"
    ).json()
    commits.append(history(client, name))
    return Ingested(name, first, appended, commits)


# --- ingest ---------------------------------------------------------------------------------


def test_ingest_equals_open_mfdataset(ingested: Ingested, client: floe.Client, files: Files) -> None:
    at_v1 = read(client, ingested.name, tag="v1")
    # identical: values, dims, coordinates, and the attributes of every variable and of the dataset
    xr.testing.assert_identical(at_v1, mfdataset(files.parts))
    assert at_v1["lat"].attrs["units"] == "degrees_north"
    assert at_v1.attrs["title"] == "test weather"
    assert ingested.first["sizes"] == {"time": 12, "lat": 3, "lon": 4}
    assert sorted(ingested.first["variables"]) == ["precip", "temp"]
    assert ingested.first["sources"] == [str(p) for p in files.parts]


def test_ingest_is_one_commit_listing_the_sources(ingested: Ingested, client: floe.Client) -> None:
    before, after, _ = ingested.commits
    assert after[1:] == before and len(after) == len(before) + 1
    info = client.get_repo(ingested.name).lookup_snapshot(after[0])
    assert info.message == "ingest 3 files: part-0.nc, part-1.nc, part-2.nc" == ingested.first["message"]
    assert info.metadata["ingest"]["sources"] == ["part-0.nc", "part-1.nc", "part-2.nc"]
    assert info.metadata["author_email"]  # Floe's commit author still there


def test_append_extends_time(ingested: Ingested, client: floe.Client, files: Files) -> None:
    _, before, after = ingested.commits
    assert after[1:] == before and len(after) == len(before) + 1
    assert ingested.appended["message"] == "append 1 file along time: later.nc"
    assert ingested.appended["sizes"]["time"] == DAYS
    xr.testing.assert_identical(read(client, ingested.name), mfdataset([*files.parts, files.later]))


def test_cli_refusals_are_one_line_and_commit_nothing(
    ingested: Ingested, floe_cli: Floe, client: floe.Client, files: Files
) -> None:
    name = ingested.name
    before = history(client, name)
    cases = [
        (("repo", "ingest", name, str(files.folder / "missing.nc")), 1, "no such file or folder"),
        (("repo", "ingest", name, str(files.text)), 1, "notes.nc is not a netCDF, HDF5 or Zarr file"),
        (("repo", "ingest", name, str(files.later), "--append"), 2, "--append needs --concat-dim DIM"),
    ]
    for args, code, expected in cases:
        line = error_line(floe_cli(*args), code)
        assert expected in line, line
    assert history(client, name) == before


def test_library_refusals_commit_nothing(ingested: Ingested, client: floe.Client, files: Files) -> None:
    """The same checks in-process (each a one-line message that the CLI prints as it is)."""
    name = ingested.name
    before = history(client, name)
    cases = [
        ([files.folder / "nothing-*.nc"], {}, "no files match"),
        ([files.later], {"group": "g", "concat_dim": "depth"}, "'depth' is not a dimension of later.nc"),
        ([files.parts[0], files.no_precip], {"group": "g"},
         "no-precip.nc does not have the variables of part-0.nc: it lacks precip"),
        ([files.later], {}, "/ in " + name + " already holds data: use --append"),
        ([files.later], {"concat_dim": "time", "append": True}, "4 value(s) of 'time' are already in /"),
        ([files.later], {"group": "empty", "concat_dim": "time", "append": True}, "nothing to append to"),
        ([files.no_precip], {"concat_dim": "time", "append": True}, "the files lack precip"),
    ]  # fmt: skip
    for paths, options, expected in cases:
        with pytest.raises(IngestError) as caught:
            ingest(client, name, paths, **options)
        assert expected in str(caught.value) and "\n" not in str(caught.value), caught.value
    assert history(client, name) == before


def test_ingest_a_zarr_store_into_a_group(client: floe.Client, files: Files) -> None:
    name = new_repo(client)
    result = ingest(client, name, [files.store], group="era/daily")
    assert result.group == "/era/daily" and result.message == "ingest 1 file into /era/daily: weather.zarr"
    with xr.open_zarr(files.store) as source:
        xr.testing.assert_identical(read(client, name, group="era/daily"), source.load())
    # a second ingest replaces the group only when asked to
    again = ingest(client, name, files.parts, group="era/daily", overwrite=True)
    assert again.sizes["time"] == 12
    xr.testing.assert_identical(read(client, name, group="era/daily"), mfdataset(files.parts))


# --- export ---------------------------------------------------------------------------------


def test_export_netcdf_and_zarr_round_trip(
    ingested: Ingested, floe_cli: Floe, client: floe.Client, tmp_path: Path
) -> None:
    name = ingested.name
    latest, older = read(client, name), read(client, name, tag="v1")
    assert latest.sizes["time"] == DAYS and older.sizes["time"] == 12

    out = tmp_path / "latest.nc"
    result = floe_cli.ok("repo", "export", name, str(out), "--json").json()
    assert result["ref"] == "main" and result["format"] == "netcdf"
    with xr.open_dataset(out) as ds:
        xr.testing.assert_identical(ds.load(), latest)

    v1_zarr = tmp_path / "v1.zarr"
    floe_cli.ok("repo", "export", name, str(v1_zarr), "--ref", "v1")
    assert (v1_zarr / "zarr.json").exists()
    with xr.open_zarr(v1_zarr, consolidated=False) as ds:
        xr.testing.assert_identical(ds.load(), older)


def test_library_export(
    ingested: Ingested, client: floe.Client, server: InProcessFloe, tmp_path: Path
) -> None:
    name = ingested.name
    latest, older = read(client, name), read(client, name, tag="v1")

    by_snapshot = tmp_path / "v1-v2.zarr"
    viewer = client.create_api_client("default", name=unique_name("viewer-"), role="viewer").token
    with floe.Client(service_uri=server.url, token=viewer) as as_viewer:  # reading is enough to export
        got = export(as_viewer, name, by_snapshot, ref=ingested.first["snapshot_id"], zarr_format=2)
    assert got.ref_kind == "snapshot" and got.zarr_format == 2 and got.sizes["time"] == 12
    assert (by_snapshot / ".zgroup").exists()
    with xr.open_zarr(by_snapshot) as ds:
        xr.testing.assert_identical(ds.load(), older)

    out = tmp_path / "copy.nc"
    export(client, name, out, ref="v1")
    with pytest.raises(IngestError, match=r"copy\.nc exists: use --overwrite to replace it"):
        export(client, name, out)
    export(client, name, out, overwrite=True)  # replaced whole, once the new copy is complete
    with xr.open_dataset(out) as ds:
        xr.testing.assert_identical(ds.load(), latest)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.nc", "v1-v2.zarr"]

    for target, options, error, expected in [
        ("x.nc", {"ref": "nope"}, floe.NotFoundError, "no branch, tag or snapshot 'nope'"),
        ("x.nc", {"group": "missing"}, floe.NotFoundError, "no group /missing"),
        ("x.csv", {}, IngestError, "name it OUT.nc (netCDF-4) or OUT.zarr"),
    ]:
        with pytest.raises(error) as caught:
            export(client, name, tmp_path / target, **options)
        assert expected in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.nc", "v1-v2.zarr"]


# --- the library ----------------------------------------------------------------------------


def test_library_ingest_along_a_dim_with_progress(client: floe.Client, files: Files, tmp_path: Path) -> None:
    name = new_repo(client)
    seen: list[tuple[str, int, int | None]] = []
    result = ingest(
        client, name, [*files.parts, files.later], concat_dim="time", group="/obs/", message="four days",
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )  # fmt: skip
    assert isinstance(result, IngestResult) and result.group == "/obs" and result.message == "four days"
    assert [s for s in seen if s[0] == "open"] == [("open", i, 4) for i in range(1, 5)]
    writes = [s for s in seen if s[0] == "write"]
    assert writes and writes[-1][1] == writes[-1][2] and writes[-1][1] > 4  # dask tasks, all done
    everything = mfdataset([*files.parts, files.later])
    xr.testing.assert_identical(read(client, name, group="obs"), everything)
    info = client.get_repo(name).lookup_snapshot(result.snapshot_id)
    assert info.message == "four days"
    assert info.metadata["ingest"]["sources"] == ["part-0.nc", "part-1.nc", "part-2.nc", "later.nc"]

    deep = tmp_path / "deep.nc"
    weather().isel(time=slice(0, 2)).expand_dims(depth=[10.0]).to_netcdf(deep)
    with pytest.raises(IngestError, match="cannot append along 'depth': /obs in the repo has no such dim"):
        ingest(client, name, [deep], group="obs", concat_dim="depth", append=True)
    assert history(client, name)[0] == result.snapshot_id

    out = tmp_path / "obs.nc"
    exported = export(client, name, out, group="obs", ref=result.snapshot_id)
    assert isinstance(exported, ExportResult) and exported.sizes == {"time": DAYS, "lat": 3, "lon": 4}
    with xr.open_dataset(out) as ds:
        xr.testing.assert_identical(ds.load(), everything)
    with pytest.raises(IngestError, match=r"has no arrays .*its groups: obs; use --group"):
        export(client, name, tmp_path / "root.nc")


def test_missing_readers_name_the_extra(files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    from floe.client.ingest import engine_for

    assert engine_for(files.parts[0]) == "h5netcdf" and engine_for(files.store) == "zarr"
    for module in ("h5netcdf", "h5py", "netCDF4", "scipy"):
        monkeypatch.setitem(sys.modules, module, None)
    for path in (files.parts[0], files.parts[1]):  # netCDF-4 / HDF5, netCDF-3
        with pytest.raises(ImportError, match=r"pip install 'icefloe\[xarray\]'"):
            engine_for(path)
