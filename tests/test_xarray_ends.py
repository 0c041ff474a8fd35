"""The xarray paths of the docs work with the oldest and the newest xarray Floe allows.

Each end is installed (wheel only, no dependencies: xarray is pure Python) into a folder that a
client process puts first on its path; the process writes through a real Floe server with the
quickstart's ``to_zarr`` and with ``floe.write_dataset`` (dask), and reads both back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from services import REPO_ROOT

CLIENT = """
import numpy as np, pandas as pd, xarray as xr, floe
print(xr.__version__)
client = floe.Client()
ds = xr.Dataset(
    {"t2m": (("time", "lat"), np.arange(12, dtype="f4").reshape(4, 3))},
    coords={"time": pd.date_range("2024-01-01", periods=4), "lat": [10.0, 20.0, 30.0]},
)
for name, write in [
    ("plain", lambda s: ds.to_zarr(s.store, mode="w", consolidated=False)),
    ("dask", lambda s: floe.write_dataset(ds.chunk({"time": 2}), s, mode="w")),
]:
    repo = client.create_repo(f"default/{name}")
    session = repo.writable_session("main")
    write(session)
    session.commit(name)
    back = xr.open_zarr(client.get_repo(f"default/{name}").readonly_session("main").store, consolidated=False)
    assert back.t2m.values.tolist() == ds.t2m.values.tolist(), name
    assert back.time.equals(ds.time), (name, back.time.values, ds.time.values)
print("ok")
"""


def _lowest_allowed() -> str:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    spec = next(d for d in project["dependencies"] if re.match(r"xarray\b", d))
    assert "<" not in spec, f"xarray is capped again: {spec}"
    return re.search(r">=\s*([\d.]+)", spec).group(1)


@pytest.mark.parametrize("end", ["oldest", "newest"])
def test_docs_xarray_paths_work_at_both_ends(end: str, tmp_path: Path, floe_server_sqlite) -> None:
    low = _lowest_allowed()
    wanted = f"xarray=={low}.*" if end == "oldest" else f"xarray>={low}"
    target = tmp_path / "xarray"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps"]
    subprocess.run([*pip, "--target", str(target), wanted], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOE_")}
    env.update(
        PYTHONPATH=str(target),
        FLOE_SERVICE_URI=floe_server_sqlite.url,
        FLOE_TOKEN=floe_server_sqlite.token,
        NO_PROXY="127.0.0.1,localhost",
    )
    done = subprocess.run(
        [sys.executable, "-c", CLIENT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout + done.stderr
    version = done.stdout.split()[0]
    if end == "oldest":
        assert version.startswith(low), version
    else:
        assert int(version.split(".")[0]) >= 2026, f"the newest xarray found was {version}"
