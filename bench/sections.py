"""The benchmark sections: open overhead, data path, data services, catalog throughput, commit leases,
copy (catalog size is in ``bench.size``)."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import icechunk
import numpy as np
import zarr

import floe
from bench.stats import alternate, percentile
from floe.client.opening import LEASES_OFF_ENV, client_spec
from floe.models import OpenRepoResponse
from floe.storage import icechunk_storage
from services import free_port, start_floe, start_header_dropping_proxy, wait_until

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Context:
    work: Path
    quick: bool
    moto: Any
    postgres: Any | None

    def floe_server(
        self,
        name: str,
        *,
        database_url: str | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> Any:
        env = {"FLOE_CONFIG_DIR": str(self.work / f"cfg-{name}"), **(env or {})}
        extra = ["--workers", str(workers), "--log-level", "warning"]
        return start_floe(self.work / name, database_url=database_url, extra_args=extra, env=env)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


# --- open overhead ----------------------------------------------------------------------------


def _prepare_repo(client: floe.Client, name: str, bucket: str | None) -> None:
    repo = client.create_repo(name, bucket_config_nickname=bucket)
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="x", shape=(1024,), chunks=(1024,), dtype="f4")[:] = 1.0
    session.commit("bench data")


def open_overhead(ctx: Context) -> dict[str, Any]:
    """``Client.get_repo`` + first read against ``icechunk.Repository.open`` + first read."""
    rounds = 15 if ctx.quick else 60
    server = ctx.floe_server("open")
    out: dict[str, Any] = {}
    try:
        client = floe.Client(service_uri=server.url, token=server.token)
        bucket = ctx.moto.create_bucket(f"bench-{secrets.token_hex(4)}")
        client.create_bucket_config(
            org="default",
            nickname="moto",
            uri=f"s3://{bucket}",
            extra_config={"endpoint_url": ctx.moto.endpoint, "region_name": "us-east-1"},
            auth_config={"method": "hmac", "access_key_id": "testing", "secret_access_key": "testing"},
        )
        seen: list[str] = []
        client._http.event_hooks["request"].append(lambda r: seen.append(r.url.path))
        for label, bucket_nick in (("local", "local"), ("s3", "moto")):
            name = f"default/open-{label}"
            _prepare_repo(client, name, bucket_nick)
            opened = OpenRepoResponse.model_validate(client._http.get(f"/repos/{name}/open").json())
            storage = icechunk_storage(
                client_spec(opened.repo_bucket), opened.repo_prefix, opened.repo_credentials
            )

            def via_floe(name: str = name) -> None:
                client._info.cache.drop(name)  # a first open: one request to the catalog
                repo = client.get_repo(name)
                zarr.open_array(repo.readonly_session("main").store, path="x")[0]

            def via_floe_repeat(name: str = name) -> None:
                repo = client.get_repo(name)  # a repeat in the same process: no request
                zarr.open_array(repo.readonly_session("main").store, path="x")[0]

            def via_icechunk(storage: icechunk.Storage = storage) -> None:
                repo = icechunk.Repository.open(storage)
                zarr.open_array(repo.readonly_session("main").store, path="x")[0]

            seen.clear()
            via_floe()
            requests_per_get = len(seen)
            samples = alternate(
                {"floe": via_floe, "floe repeat": via_floe_repeat, "icechunk": via_icechunk}, rounds
            )
            bare_rtt = alternate({"health": lambda: client._http.get("/health")}, rounds)["health"]
            out[label] = {
                "floe": samples["floe"].as_dict(),
                "icechunk": samples["icechunk"].as_dict(),
                "floe_repeat": samples["floe repeat"].as_dict(),
                "ratio": samples["floe"].median / samples["icechunk"].median,
                "repeat_ratio": samples["floe repeat"].median / samples["icechunk"].median,
                "catalog_requests_per_get_repo": requests_per_get,
                "added_ms": _ms(samples["floe"].median - samples["icechunk"].median),
                "health_round_trip_ms": _ms(bare_rtt.median),
            }
        client.close()
    finally:
        server.stop()
    return out


# --- data path --------------------------------------------------------------------------------


def data_path(ctx: Context) -> dict[str, Any]:
    """Write then read a float32 array in 4 MiB chunks through Floe and through plain Icechunk."""
    mib = 64 if ctx.quick else 512
    rounds = 2 if ctx.quick else 3
    chunk = 1024 * 1024  # float32 elements per 4 MiB chunk
    data = np.random.default_rng(0).random(mib * 1024 * 1024 // 4, dtype=np.float32)
    server = ctx.floe_server("data")
    try:
        client = floe.Client(service_uri=server.url, token=server.token)
        counter = {"n": 0}

        def write_read(open_repo: Any) -> None:
            counter["n"] += 1
            repo = open_repo(counter["n"])
            session = repo.writable_session("main")
            array = zarr.create_array(
                session.store, name="big", shape=data.shape, chunks=(chunk,), dtype="f4"
            )
            array[:] = data
            session.commit("big write")
            back = zarr.open_array(repo.readonly_session("main").store, path="big")[:]
            assert back[-1] == data[-1]

        def floe_repo(n: int) -> icechunk.Repository:
            return client.create_repo(f"default/data-floe-{n}")

        plain_root = ctx.work / "plain-data"

        def plain_repo(n: int) -> icechunk.Repository:
            return icechunk.Repository.create(icechunk.local_filesystem_storage(str(plain_root / str(n))))

        samples = alternate(
            {"floe": lambda: write_read(floe_repo), "icechunk": lambda: write_read(plain_repo)},
            rounds,
            warmup=0,
        )
        client.close()
    finally:
        server.stop()
    return {
        "size_mib": mib,
        "storage": "local folder",
        "floe": samples["floe"].as_dict(),
        "icechunk": samples["icechunk"].as_dict(),
        "throughput_ratio": samples["icechunk"].median / samples["floe"].median,
        "floe_mib_per_s": round(2 * mib / samples["floe"].median, 1),
        "icechunk_mib_per_s": round(2 * mib / samples["icechunk"].median, 1),
    }


# --- catalog throughput -------------------------------------------------------------------------


async def _load(url: str, headers: dict[str, str], concurrency: int, duration: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as http:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await http.get(url)
                if response.status_code != 200:
                    errors += 1
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return {
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": _ms(percentile(latencies, 50)),
        "p99_ms": _ms(percentile(latencies, 99)),
        "errors": errors,
    }


def _wrk(url: str, headers: dict[str, str], concurrency: int, duration: float) -> dict[str, float] | None:
    """Load with wrk (C, far lighter than a Python client on the same cores), if it is installed."""
    if shutil.which("wrk") is None:
        return None
    cmd = [
        "wrk",
        "-t",
        str(min(2, concurrency)),
        "-c",
        str(concurrency),
        "-d",
        f"{duration:.0f}s",
        "--latency",
    ]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 60).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
        "tool": "wrk",
    }


def _measure(url: str, headers: dict[str, str], concurrency: int, duration: float) -> dict[str, Any]:
    return _wrk(url, headers, concurrency, duration) or {
        **asyncio.run(_load(url, headers, concurrency, duration)),
        "tool": "httpx",
    }


def _start_bare(ctx: Context, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = (ctx.work / f"bare-{port}.log").open("w")
    cmd = [sys.executable, "-m", "uvicorn", "bench.bare_app:make_app", "--factory"]
    cmd += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/bare"

    def answers() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, 30, proc, Path(log.name), what="bare Starlette app")
    return proc, url


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure per measure from several runs of the same load: the median of each, errors summed."""
    merged: dict[str, Any] = {}
    for key in ("rps", "p50_ms", "p99_ms"):
        merged[key] = round(statistics.median(float(r[key]) for r in runs), 3)
    merged["errors"] = sum(int(r["errors"]) for r in runs)
    merged["tool"] = runs[0]["tool"]
    merged["rounds"] = len(runs)
    merged["round_rps"] = [round(float(r["rps"]), 1) for r in runs]  # in round order, for paired ratios
    return merged


def throughput(ctx: Context) -> dict[str, Any]:
    """Requests/s and latency of ``open`` at 1, 8, 32 clients, against a bare Starlette route.

    For each worker count, every server (the bare app, Floe on SQLite, Floe on PostgreSQL, and with one
    worker both again without the open cache) is up at once, and the measurements take turns between
    them for a few rounds, each round starting with another server; each figure is the median round.
    A slow moment of the machine (another process, a timer) then lands on every server alike instead
    of on whichever ran at the time, which is what a ratio between two of them needs.
    """
    rounds = 3 if ctx.quick else 5
    duration = 1.0 if ctx.quick else 3.0  # per round
    levels = (1, 8, 32)
    backends: list[tuple[str, bool]] = [("sqlite", False)] + ([("postgresql", True)] if ctx.postgres else [])
    out: dict[str, Any] = {}
    for workers in (1, 2):
        targets: dict[str, tuple[str, dict[str, str], tuple[int, ...]]] = {}  # name -> url, headers, levels
        floe_servers: list[Any] = []
        proc, bare_url = _start_bare(ctx, workers)
        try:
            targets[f"bare/{workers}w"] = (bare_url, {}, levels)
            for backend, on_postgres in backends:
                # one token, one repo: the open cache answers repeats; with one worker, also without it
                # (an audit window of 0 turns it off), as when every request came from another caller
                variants = [("", {})] + (
                    [(" no cache", {"FLOE_AUDIT_VEND_WINDOW_SECONDS": "0"})] if workers == 1 else []
                )
                for label, env in variants:
                    database = None
                    if on_postgres:
                        assert ctx.postgres is not None
                        database = ctx.postgres.create_database(f"bench_{secrets.token_hex(4)}")
                    server = ctx.floe_server(
                        f"tp-{backend}-{workers}{label.replace(' ', '-')}",
                        database_url=database,
                        workers=workers,
                        env=env,
                    )
                    floe_servers.append(server)
                    headers = {"authorization": f"Bearer {server.token}"}
                    with httpx.Client(base_url=server.url, headers=headers) as http:
                        made = http.post("/orgs/default/repos", json={"name": "hot", "create_mode": "create"})
                        made.raise_for_status()
                    url = f"{server.url}/repos/default/hot/open"
                    targets[f"open {backend}{label}/{workers}w"] = (
                        url,
                        headers,
                        levels if not label else (8,),
                    )
            for level in levels:
                here = [name for name, target in targets.items() if level in target[2]]
                # the servers compared in the goals first; the no-cache runs after them, since they
                # leave work behind (an audit row per open, which the database then vacuums)
                for group in ([n for n in here if "no cache" not in n], [n for n in here if "no cache" in n]):
                    if not group:
                        continue
                    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in group}
                    for turn in range(rounds):  # each round starts with another server
                        for name in group[turn % len(group) :] + group[: turn % len(group)]:
                            url, headers, _levels = targets[name]
                            runs[name].append(_measure(url, headers, level, duration))
                    for name, measured in runs.items():
                        out.setdefault(name, {})[str(level)] = _median_run(measured)
        finally:
            proc.terminate()
            proc.wait(10)
            for server in floe_servers:
                server.stop()
    return out


def throughput_goals(tp: dict[str, dict[str, dict[str, Any]]]) -> list[tuple[str, str, str, bool]]:
    """The throughput goals of issue 17 as (what, measured, target, met), from one run's figures."""
    goals: list[tuple[str, str, str, bool]] = []

    def rps(server: str, level: str) -> float | None:
        r = tp.get(server, {}).get(level)
        return float(r["rps"]) if r and r.get("rps") else None

    def paired(server: str, other: str, level: str) -> list[float]:
        """The ratio of two servers' requests/s in each round (measured one after the other)."""
        a, b = tp.get(server, {}).get(level) or {}, tp.get(other, {}).get(level) or {}
        pairs = zip(a.get("round_rps") or [a.get("rps")], b.get("round_rps") or [b.get("rps")], strict=False)
        return [float(x) / float(y) for x, y in pairs if x and y]

    for workers in ("1w", "2w"):
        sqlite, pg = rps(f"open sqlite/{workers}", "8"), rps(f"open postgresql/{workers}", "8")
        ratios = paired(f"open postgresql/{workers}", f"open sqlite/{workers}", "8")
        if ratios:
            # "at least as fast": the median of the rounds' ratios is at least 1, or PostgreSQL was not
            # slower in every round. A cached open runs the same code on both databases, so the ratio
            # sits at 1 give or take the noise of a round; slower in all rounds is a one-sided sign test
            # (with 5 rounds, a chance of 1 in 32 for two servers that are equally fast)
            ratio = statistics.median(ratios)
            goals.append(
                (
                    f"open, PostgreSQL / SQLite, 8 clients, {workers}",
                    f"{ratio:.2f}x (rounds {min(ratios):.2f}x to {max(ratios):.2f}x)",
                    ">= 1.00x, or not slower in every round",
                    ratio >= 1 or max(ratios) >= 1,
                )
            )
        bare = rps(f"bare/{workers}", "8")
        for backend, got in (("sqlite", sqlite), ("postgresql", pg)):
            if bare and got:
                share = got / bare
                goals.append(
                    (
                        f"open {backend} / bare route, 8 clients, {workers}",
                        f"{share:.0%}",
                        ">= 25%",
                        share >= 0.25,
                    )
                )
    for backend in ("sqlite", "postgresql"):
        r = tp.get(f"open {backend}/2w", {}).get("32")
        if r and r.get("p99_ms") is not None:
            p99 = float(r["p99_ms"])
            goals.append((f"open {backend} p99, 32 clients, 2w", f"{p99:.1f} ms", "< 50 ms", p99 < 50))
    return goals


# --- commit leases ------------------------------------------------------------------------------


def leases(ctx: Context) -> dict[str, Any]:
    """What a commit lease costs per commit, and how many commits 8 concurrent writers lose without one,
    on a store that ignores conditional headers (a proxy in front of the S3 test server)."""
    rounds = 20 if ctx.quick else 80
    proxy = start_header_dropping_proxy(ctx.moto.endpoint, ctx.work)
    server = ctx.floe_server("leases")
    out: dict[str, Any] = {}
    try:
        client = floe.Client(service_uri=server.url, token=server.token)
        client.create_bucket_config(
            org="default",
            nickname="jasmin",
            uri=f"s3://{ctx.moto.create_bucket(f'bench-leases-{secrets.token_hex(4)}')}",
            extra_config={"endpoint_url": proxy.endpoint, "region_name": "us-east-1"},
            auth_config={"method": "hmac", "access_key_id": "testing", "secret_access_key": "testing"},
        )
        repo = client.create_repo("default/commits", bucket_config_nickname="jasmin")
        session = repo.writable_session("main")
        zarr.create_array(session.store, name="cells", shape=(8, 10), chunks=(1, 1), dtype="i4", fill_value=0)
        session.commit("cells")
        leased = client.get_repo("default/commits")
        os.environ[LEASES_OFF_ENV] = "1"
        try:
            plain = floe.Client(service_uri=server.url, token=server.token).get_repo("default/commits")
        finally:
            os.environ.pop(LEASES_OFF_ENV)
        assert leased.commit_protection == "leases" and plain.lease_client is None
        counter = {"n": 0}

        def commit(repo: floe.FloeRepository) -> None:
            counter["n"] += 1
            s = repo.writable_session("main")
            zarr.open_array(s.store, path="cells")[counter["n"] % 8, counter["n"] % 10] = counter["n"]
            s.commit(f"bench {counter['n']}")

        samples = alternate({"with lease": lambda: commit(leased), "without": lambda: commit(plain)}, rounds)
        out["commit"] = {name: sample.as_dict() for name, sample in samples.items()}
        out["commit"]["added_ms"] = _ms(samples["with lease"].median - samples["without"].median)
        for mode in ("with leases", "without leases"):
            name = f"default/race-{mode.split()[0]}"
            race = client.create_repo(name, bucket_config_nickname="jasmin")
            s = race.writable_session("main")
            zarr.create_array(s.store, name="cells", shape=(8, 10), chunks=(1, 1), dtype="i4", fill_value=0)
            s.commit("cells")
            reported, failed = _race(server, name, leases=mode == "with leases")
            history = {snap.id for snap in client.get_repo(name).ancestry(branch="main")}
            out[mode] = {
                "commits_reported": len(reported),
                "lost": len([r for r in reported if r not in history]),
                "writers_failed": failed,
            }
        client.close()
    finally:
        server.stop()
        proxy.stop()
    return out


def _race(server: Any, name: str, *, leases: bool) -> tuple[list[str], int]:
    env = {k: v for k, v in os.environ.items() if k != LEASES_OFF_ENV}
    if not leases:
        env[LEASES_OFF_ENV] = "1"
    script = ROOT / "tests" / "lease_writer.py"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), server.url, server.token, name, str(w), "10"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        for w in range(8)
    ]
    reported, failed = [], 0
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        reported += out.split()
        failed += proc.returncode != 0
    return reported, failed


# --- report -------------------------------------------------------------------------------------


# --- data services -------------------------------------------------------------------------------


def data_services(ctx: Context) -> dict[str, Any]:
    """An EDR point query and a Zarr-over-HTTP read through Floe's data services, against reading the
    same repo directly through icechunk (``floe.Client.get_repo``, then xarray), alternating."""
    import xarray as xr

    rounds = 7 if ctx.quick else 21
    server = ctx.floe_server("services")
    try:
        client = floe.Client(service_uri=server.url, token=server.token)
        repo = client.create_repo("default/svc")
        times, lats, lons = 24, 90, 180
        ds = xr.Dataset(
            {
                "temp": (
                    ("time", "lat", "lon"),
                    np.random.default_rng(0).random((times, lats, lons), dtype="f4"),
                )
            },
            coords={
                "time": np.arange(times, dtype="f8"),
                "lat": np.linspace(-89, 89, lats),
                "lon": np.linspace(0, 358, lons),
            },
        )
        ds.lat.attrs.update(units="degrees_north", standard_name="latitude", axis="Y")
        ds.lon.attrs.update(units="degrees_east", standard_name="longitude", axis="X")
        ds.time.attrs.update(units="hours since 2020-01-01", standard_name="time", axis="T")
        ds.temp.attrs.update(units="K")
        session = repo.writable_session("main")
        encoding = {"temp": {"chunks": (1, lats, lons)}}
        ds.to_zarr(session.store, consolidated=False, zarr_format=3, encoding=encoding)
        session.commit("bench dataset")
        headers = {"authorization": f"Bearer {server.token}"}
        urls = {}
        for protocol in ("edr", "zarr"):
            body = {"service_type": protocol, "org": "default", "is_public": False}
            answer = httpx.post(
                f"{server.url}/compute/orgs/default/services", json=body, headers=headers, timeout=60
            )
            answer.raise_for_status()
            urls[protocol] = answer.json()["url"]
        http = httpx.Client(headers=headers, timeout=60)
        point = {"coords": "POINT(100 10)", "parameter-name": "temp"}

        def edr_point() -> None:
            got = http.get(f"{urls['edr']}/svc/main/edr/position", params=point)
            got.raise_for_status()
            assert got.json()["ranges"]["temp"]["values"]

        def direct_point() -> None:
            opened = client.get_repo("default/svc")
            data = xr.open_zarr(opened.readonly_session("main").store, consolidated=False)
            assert data.temp.sel(lat=10, lon=100, method="nearest").values.size == times

        def zarr_http() -> None:
            store = zarr.storage.FsspecStore.from_url(
                f"{urls['zarr']}/svc/main/zarr", storage_options={"headers": headers}, read_only=True
            )
            assert xr.open_zarr(store).temp.values.shape == (times, lats, lons)

        def direct_read() -> None:
            opened = client.get_repo("default/svc")
            data = xr.open_zarr(opened.readonly_session("main").store, consolidated=False)
            assert data.temp.values.shape == (times, lats, lons)

        samples = alternate(
            {"edr": edr_point, "direct point": direct_point, "zarr": zarr_http, "direct read": direct_read},
            rounds,
            warmup=2,
        )
        http.close()
        client.close()
    finally:
        server.stop()
    return {
        "dataset": f"temp float32 {times}x{lats}x{lons} ({times * lats * lons * 4 / 2**20:.1f} MiB), local folder",
        **{label: sample.as_dict() for label, sample in samples.items()},
        "edr_point_ratio": samples["edr"].median / samples["direct point"].median,
        "zarr_read_ratio": samples["zarr"].median / samples["direct read"].median,
    }


# --- copy ---------------------------------------------------------------------------------------


def copy_repo(ctx: Context) -> dict[str, Any]:
    """``Client.copy_repo`` (verified, journaled, refs last) vs a plain object-for-object copy of the
    same repo between the same two locations (local folder -> S3 test server), same concurrency."""
    import concurrent.futures as cf

    import obstore

    from floe.client.objects import ObjectLocation, open_store

    mib = 32 if ctx.quick else 256
    rounds = 3 if ctx.quick else 5
    concurrency = 8
    server = ctx.floe_server("copy")
    try:
        client = floe.Client(service_uri=server.url, token=server.token)
        bucket = ctx.moto.create_bucket(f"bench-copy-{secrets.token_hex(4)}")
        client.create_bucket_config(
            org="default",
            nickname="moto",
            uri=f"s3://{bucket}",
            extra_config={"endpoint_url": ctx.moto.endpoint, "region_name": "us-east-1"},
            auth_config={"method": "hmac", "access_key_id": "testing", "secret_access_key": "testing"},
        )
        repo = client.create_repo("default/copy-src")
        rng = np.random.default_rng(0)
        per_commit = mib // 4
        for i in range(4):  # four commits of 256 KiB chunks
            session = repo.writable_session("main")
            data = rng.random(per_commit * 1024 * 1024 // 8)
            zarr.create_array(session.store, name=f"v{i}", shape=data.shape, chunks=(32768,), dtype="f8")[
                :
            ] = data
            session.commit(f"part {i}")
        opened = OpenRepoResponse.model_validate(client._http.get("/repos/default/copy-src/open").json())
        source = ObjectLocation.from_open(opened)
        src = open_store(source)
        moto_bucket = client.get_bucket_config(org="default", nickname="moto")
        creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        from floe.models import S3Credentials

        counter = {"n": 0}
        summaries: list[Any] = []

        def via_floe() -> None:
            counter["n"] += 1
            result = client.copy_repo(
                "default/copy-src",
                f"default/copy-{counter['n']}",
                bucket_config_nickname="moto",
                prefix=f"floe-{counter['n']}",
                concurrency=concurrency,
            )
            summaries.append(result)

        def plain() -> None:
            counter["n"] += 1
            dst = open_store(ObjectLocation(moto_bucket, f"plain-{counter['n']}", S3Credentials(**creds)))
            keys = [m["path"] for batch in obstore.list(src) for m in batch]

            def one(key: str) -> None:
                obstore.put(dst, key, obstore.get(src, key).bytes(), use_multipart=False)

            with cf.ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(one, keys))

        samples = alternate({"copy_repo": via_floe, "plain copy": plain}, rounds)
        last = summaries[-1]
        total = last.bytes
        out = {
            "size_mib": round(total / 2**20, 1),
            "objects": last.objects,
            "concurrency": concurrency,
            "storage": "local folder -> S3 test server (moto)",
            "copy_repo": samples["copy_repo"].as_dict(),
            "plain": samples["plain copy"].as_dict(),
            "copy_repo_mb_per_s": round(total / 1e6 / samples["copy_repo"].median, 1),
            "plain_mb_per_s": round(total / 1e6 / samples["plain copy"].median, 1),
            "throughput_ratio": samples["plain copy"].median / samples["copy_repo"].median,
        }
        client.close()
    finally:
        server.stop()
    return out


def markdown(results: dict[str, Any]) -> str:
    lines = [f"# Floe benchmarks ({'quick' if results.get('quick') else 'full'} run)", ""]
    if "open" in results:
        lines += [
            "## Open overhead: `Client.get_repo` + first read vs `icechunk.Repository.open` + first read",
            "",
            "| storage | floe first open, median ms (IQR) | floe repeat | icechunk median ms (IQR) | ratio first / repeat | added ms (first) | /health round trip ms | catalog requests per first get_repo |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for label, r in results["open"].items():
            f, i, rep = r["floe"], r["icechunk"], r["floe_repeat"]
            lines.append(
                f"| {label} | {_ms(f['median_s'])} ({_ms(f['p25_s'])}-{_ms(f['p75_s'])}) | {_ms(rep['median_s'])} | "
                f"{_ms(i['median_s'])} ({_ms(i['p25_s'])}-{_ms(i['p75_s'])}) | "
                f"{r['ratio']:.2f}x / {r['repeat_ratio']:.2f}x | {r['added_ms']} | {r['health_round_trip_ms']} | "
                f"{r['catalog_requests_per_get_repo']} |"
            )
        lines.append("")
    if "data" in results:
        d = results["data"]
        lines += [
            f"## Data path: write then read {d['size_mib']} MiB float32 in 4 MiB chunks ({d['storage']})",
            "",
            "| contender | median s (IQR) | MiB/s |",
            "|---|---|---|",
            f"| floe | {d['floe']['median_s']:.2f} ({d['floe']['p25_s']:.2f}-{d['floe']['p75_s']:.2f}) | {d['floe_mib_per_s']} |",
            f"| icechunk | {d['icechunk']['median_s']:.2f} ({d['icechunk']['p25_s']:.2f}-{d['icechunk']['p75_s']:.2f}) | {d['icechunk_mib_per_s']} |",
            f"| floe / icechunk throughput | {d['throughput_ratio']:.3f}x | |",
            "",
        ]
    if "throughput" in results:
        lines += [
            "## Catalog throughput: `open` route vs a bare Starlette JSON route (same uvicorn setup)",
            "",
            "| server | clients | req/s | p50 ms | p99 ms | errors | load tool |",
            "|---|---|---|---|---|---|---|",
        ]
        for server, levels in results["throughput"].items():
            for level, r in levels.items():
                lines.append(
                    f"| {server} | {level} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} "
                    f"| {r['tool']} |"
                )
        lines.append("")
        goals = throughput_goals(results["throughput"])
        if goals:
            lines += ["| goal | measured | target | |", "|---|---|---|---|"]
            lines += [
                f"| {what} | {got} | {want} | {'pass' if ok else 'miss'} |" for what, got, want, ok in goals
            ]
            lines.append("")
    if "leases" in results:
        le = results["leases"]
        c = le["commit"]
        lines += [
            "## Commit leases on a store without conditional writes",
            "",
            "| | median ms (IQR) |",
            "|---|---|",
            f"| commit with lease | {_ms(c['with lease']['median_s'])} ({_ms(c['with lease']['p25_s'])}-{_ms(c['with lease']['p75_s'])}) |",
            f"| commit without | {_ms(c['without']['median_s'])} ({_ms(c['without']['p25_s'])}-{_ms(c['without']['p75_s'])}) |",
            f"| added by the lease | {c['added_ms']} |",
            "",
            "| 8 writers x 10 commits | commits reported | lost | writers that failed |",
            "|---|---|---|---|",
        ]
        for mode in ("with leases", "without leases"):
            r = le[mode]
            lines.append(f"| {mode} | {r['commits_reported']} | {r['lost']} | {r['writers_failed']} |")
        lines.append("")
    if "services" in results:
        sv = results["services"]
        lines += [
            f"## Data services vs reading the repo directly: {sv['dataset']}",
            "",
            "| contender | median ms (IQR) |",
            "|---|---|",
        ]
        for label in ("edr", "direct point", "zarr", "direct read"):
            r = sv[label]
            lines.append(f"| {label} | {_ms(r['median_s'])} ({_ms(r['p25_s'])}-{_ms(r['p75_s'])}) |")
        lines += [
            f"| EDR point / direct point | {sv['edr_point_ratio']:.2f}x |",
            f"| Zarr over HTTP / direct read | {sv['zarr_read_ratio']:.2f}x |",
            "",
        ]
    if "copy" in results:
        cp = results["copy"]
        lines += [
            f"## Copy: `Client.copy_repo` vs a plain object copy, {cp['size_mib']} MiB in {cp['objects']} objects ({cp['storage']}, {cp['concurrency']} in flight)",
            "",
            "| contender | median s (IQR) | MB/s |",
            "|---|---|---|",
            f"| copy_repo (checksums, journal, refs last, verify, register) | {cp['copy_repo']['median_s']:.2f} ({cp['copy_repo']['p25_s']:.2f}-{cp['copy_repo']['p75_s']:.2f}) | {cp['copy_repo_mb_per_s']} |",
            f"| plain object copy | {cp['plain']['median_s']:.2f} ({cp['plain']['p25_s']:.2f}-{cp['plain']['p75_s']:.2f}) | {cp['plain_mb_per_s']} |",
            f"| copy_repo / plain throughput | {cp['throughput_ratio']:.3f}x | |",
            "",
        ]
    return "\n".join(lines)
