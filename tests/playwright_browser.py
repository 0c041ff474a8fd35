"""Drive Floe's web app in a real browser: Playwright (sync API) with Debian's Chromium, and a demo org
to look at. Plain Python (no pytest), shared by ``tests/test_web_browser.py`` and ``scripts/screenshots.py``.

* :func:`launch` -- Chromium at ``/usr/bin/chromium``, headless (never ``playwright install``);
* :func:`fill_demo` -- people (an org admin and a viewer) and repos with data in org ``default`` of a
  running server: ``era5`` holds a CF-like ``t2m`` (time, lat, lon) beside its coordinates, a group
  ``analysis`` with a pattern array, several commits, a tag ``v1`` and a branch ``dev``;
* :func:`sign_in` -- through the sign-in form, as a person would;
* :func:`login_link` -- ``floe admin login-link`` run against the server's data dir.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np
import zarr

import floe
from browser import PASSWORD, admin, create_user, site_admin_token

CHROMIUM = "/usr/bin/chromium"
ORG = "default"
REPO = "era5"
ADMIN = "ann@example.org"  # an admin of the org: sees every control
VIEWER = "vic@example.org"  # a viewer of the org: sees no control that changes anything
INITIAL = "Repository initialized"  # icechunk's first commit

# The commits on main, oldest first (after icechunk's own first one).
GRID = "Create the latitude-longitude grid"
T2M = "Add 2 m temperature"
ANALYSIS = "Add the analysis group"
WARM = "Warm the last time step"
DEV = "Try a new title on dev"
MAIN_MESSAGES = [WARM, ANALYSIS, T2M, GRID, INITIAL]  # as the history shows them: newest first

TIMES, LATS, LONS = 4, 18, 36
HALVES_SHAPE = (20, 40)  # analysis/halves: left half 0, right half 1, no coordinates


def chromium_path() -> str | None:
    """Debian's Chromium, if it is installed."""
    return CHROMIUM if os.access(CHROMIUM, os.X_OK) else None


def launch(playwright, **kwargs):
    """A headless Chromium (``/usr/bin/chromium``) driven by ``playwright`` (``sync_playwright()``)."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox"], **kwargs
    )


@dataclass
class Demo:
    """What :func:`fill_demo` wrote."""

    org: str = ORG
    repo: str = REPO
    snapshots: dict[str, str] = field(default_factory=dict)  # commit message -> snapshot id
    other_repos: list[str] = field(default_factory=list)

    def t2m(self) -> np.ndarray:
        """The values of ``t2m`` on main (after the last commit)."""
        return t2m_values(warmed=True)


def lat_values() -> np.ndarray:
    return np.linspace(-85.0, 85.0, LATS, dtype="f4")


def t2m_values(*, warmed: bool) -> np.ndarray:
    """Warm at the equator, cold at the poles, a wave along longitude, 1 K warmer each time step."""
    lat = np.deg2rad(lat_values())[None, :, None]
    lon = np.deg2rad(np.linspace(0.0, 350.0, LONS))[None, None, :]
    step = np.arange(TIMES)[:, None, None]
    values = (250.0 + 40.0 * np.cos(lat) + 3.0 * np.sin(2 * lon) + step).astype("f4")
    if warmed:
        values[-1] += 5.0
    return values


def halves_values() -> np.ndarray:
    values = np.zeros(HALVES_SHAPE, dtype="f4")
    values[:, HALVES_SHAPE[1] // 2 :] = 1.0
    return values


def _write_era5(repo) -> dict[str, str]:
    ids: dict[str, str] = {}
    session = repo.writable_session("main")
    root = zarr.open_group(session.store, mode="a")
    root.attrs.update({"title": "ERA5 sample", "Conventions": "CF-1.8"})
    lat = root.create_array(
        "lat", shape=(LATS,), chunks=(LATS,), dtype="f4", dimension_names=("lat",),
        attributes={"units": "degrees_north", "long_name": "latitude", "standard_name": "latitude"},
    )  # fmt: skip
    lat[:] = lat_values()
    lon = root.create_array(
        "lon", shape=(LONS,), chunks=(LONS,), dtype="f4", dimension_names=("lon",),
        attributes={"units": "degrees_east", "long_name": "longitude", "standard_name": "longitude"},
    )  # fmt: skip
    lon[:] = np.linspace(0.0, 350.0, LONS, dtype="f4")
    time = root.create_array(
        "time", shape=(TIMES,), chunks=(TIMES,), dtype="i4", dimension_names=("time",),
        attributes={"units": "days since 2024-01-01", "long_name": "time", "calendar": "standard"},
    )  # fmt: skip
    time[:] = np.arange(TIMES, dtype="i4")
    ids[GRID] = session.commit(GRID)

    session = repo.writable_session("main")
    t2m = zarr.open_group(session.store, mode="a").create_array(
        "t2m", shape=(TIMES, LATS, LONS), chunks=(1, LATS, LONS), dtype="f4",
        dimension_names=("time", "lat", "lon"), fill_value=float("nan"),
        attributes={"units": "K", "long_name": "2 m temperature", "standard_name": "air_temperature"},
    )  # fmt: skip
    t2m[:] = t2m_values(warmed=False)
    ids[T2M] = session.commit(T2M)

    session = repo.writable_session("main")
    group = zarr.open_group(session.store, mode="a").create_group(
        "analysis", attributes={"description": "derived fields and test patterns"}
    )
    halves = group.create_array("halves", shape=HALVES_SHAPE, chunks=(10, 20), dtype="f4")
    halves[:] = halves_values()
    ids[ANALYSIS] = session.commit(ANALYSIS)
    repo.create_tag("v1", ids[ANALYSIS])
    repo.create_branch("dev", ids[ANALYSIS])

    session = repo.writable_session("main")
    zarr.open_array(session.store, path="t2m")[TIMES - 1] = t2m_values(warmed=True)[TIMES - 1]
    ids[WARM] = session.commit(WARM)

    session = repo.writable_session("dev")
    zarr.open_group(session.store, mode="a").attrs["title"] = "ERA5 sample (dev)"
    ids[DEV] = session.commit(DEV)
    return ids


def fill_demo(server) -> Demo:
    """People and repos in org ``default`` of ``server`` (a running ``floe serve``); returns what it wrote."""
    with admin(server) as site:
        create_user(site, ADMIN, "Ann Admin")
        create_user(site, VIEWER, "Vic Viewer")
        for email, role in ((ADMIN, "admin"), (VIEWER, "viewer")):
            response = site.put(f"/orgs/{ORG}/members/{email}", json={"role": role})
            assert response.status_code == 200, response.text
    demo = Demo()
    with floe.Client(service_uri=server.url, token=site_admin_token(server)) as client:
        repo = client.create_repo(
            f"{ORG}/{REPO}",
            description="ERA5 2 m temperature, a small sample on a 10 degree grid",
            metadata={"project": "era5", "kind": "reanalysis"},
        )
        demo.snapshots = _write_era5(repo)
        for name, description, metadata in (
            ("cmip6-tas", "CMIP6 near-surface air temperature", {"project": "cmip6", "kind": "model"}),
            ("ocean-sst", "Sea surface temperature, daily", {"project": "ocean", "kind": "observations"}),
        ):
            client.create_repo(f"{ORG}/{name}", description=description, metadata=metadata)
            demo.other_repos.append(name)
    return demo


def sign_in(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form on ``/login``; waits for the home page."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")


def login_link(server, email: str) -> str:
    """The URL ``floe admin login-link --email EMAIL`` prints for the server's data dir."""
    cmd = [sys.executable, "-m", "floe", "admin", "login-link", "--email", email]
    cmd += ["--data-dir", str(server.data_dir)]  # the URL: where `floe serve` said it serves that dir
    if server.database_url:
        cmd += ["--database-url", server.database_url]
    done = subprocess.run(cmd, env=server.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"floe admin login-link failed:\n{done.stdout}\n{done.stderr}"
    urls = [line for line in done.stdout.splitlines() if "/login/link?token=" in line]
    assert len(urls) == 1, done.stdout
    return urls[0].strip()


__all__ = [
    "ADMIN",
    "CHROMIUM",
    "INITIAL",
    "MAIN_MESSAGES",
    "ORG",
    "REPO",
    "VIEWER",
    "Demo",
    "chromium_path",
    "fill_demo",
    "halves_values",
    "lat_values",
    "launch",
    "login_link",
    "sign_in",
    "t2m_values",
]
