"""Bench section ``soak``: a bounded mixed load for a while (ten minutes by default) on SQLite and on
PostgreSQL -- opens, lists, creates and deletes, commits through commit leases -- reporting errors,
p50/p99 per operation and the server's memory (RSS) over time, against the goals: 0 errors and memory
growth after warm-up under 10 %."""

from __future__ import annotations

import contextlib
import random
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import psutil
import zarr

import floe
from bench.stats import percentile
from services import start_header_dropping_proxy

WORKERS = 4
WARM_UP = 0.2  # the first fifth of the run
# operation -> weight; a commit (through a lease, to a store without conditional writes) is the slowest
MIX = {"open": 50, "list": 25, "create+delete": 15, "commit": 10}
GROWTH_GOAL = 0.10


def _rss_mib(pid: int) -> float:
    """Resident memory of the server process and its children (workers), in MiB."""
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return total / 2**20


def _setup(server: Any, ctx: Any, proxy: Any) -> None:
    """Bucket configs on the S3 test server (``moto``) and behind a proxy that drops conditional
    headers (``jasmin``: commits need leases); ``default/soak-open``; one commit repo per worker."""
    with floe.Client(service_uri=server.url, token=server.token) as client:
        for nickname, endpoint in (("moto", ctx.moto.endpoint), ("jasmin", proxy.endpoint)):
            client.create_bucket_config(
                org="default",
                nickname=nickname,
                uri=f"s3://{ctx.moto.create_bucket(f'bench-soak-{secrets.token_hex(4)}')}",
                extra_config={"endpoint_url": endpoint, "region_name": "us-east-1"},
                auth_config={"method": "hmac", "access_key_id": "testing", "secret_access_key": "testing"},
            )
        client.create_repo("default/soak-open", bucket_config_nickname="moto")
        for w in range(WORKERS):
            repo = client.create_repo(f"default/soak-commits-{w}", bucket_config_nickname="jasmin")
            session = repo.writable_session("main")
            zarr.create_array(session.store, name="cells", shape=(64,), chunks=(1,), dtype="i4", fill_value=0)
            session.commit("cells")


class _Worker:
    """One client of the load: a random operation from :data:`MIX` after another until the deadline."""

    def __init__(self, server: Any, index: int, deadline: float, seed: int) -> None:
        self.index, self.deadline = index, deadline
        self.rng = random.Random(seed)
        self.http = httpx.Client(
            base_url=server.url, headers={"authorization": f"Bearer {server.token}"}, timeout=120
        )
        self.client = floe.Client(service_uri=server.url, token=server.token)
        self.repo = self.client.get_repo(f"default/soak-commits-{index}")
        assert self.repo.commit_protection == "leases", "the soak's commits must go through commit leases"
        self.samples: dict[str, list[float]] = {op: [] for op in MIX}
        self.errors: list[str] = []
        self.made = 0

    def _ok(self, answer: httpx.Response) -> None:
        if answer.status_code >= 400:
            raise RuntimeError(f"{answer.request.method} {answer.request.url.path} -> {answer.status_code}")

    def open(self) -> None:
        self._ok(self.http.get("/repos/default/soak-open/open"))

    def list(self) -> None:
        self._ok(self.http.get("/orgs/default/repos/paginated", params={"page": 1, "size": 50}))

    def create_delete(self) -> None:
        self.made += 1
        name = f"soak-tmp-{self.index}-{self.made}"
        self._ok(self.http.post("/orgs/default/repos", json={"name": name}))
        self._ok(self.http.delete(f"/orgs/default/{name}"))

    def commit(self) -> None:
        session = self.repo.writable_session("main")
        zarr.open_array(session.store, path="cells")[self.made % 64] = self.made
        self.made += 1
        session.commit(f"soak {self.made}")

    def run(self) -> None:
        ops: dict[str, Callable[[], None]] = {
            "open": self.open,
            "list": self.list,
            "create+delete": self.create_delete,
            "commit": self.commit,
        }
        names, weights = list(MIX), list(MIX.values())
        while time.monotonic() < self.deadline:
            op = self.rng.choices(names, weights)[0]
            started = time.perf_counter()
            try:
                ops[op]()
            except Exception as exc:  # every failure counts; the load goes on
                self.errors.append(f"{op}: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            self.samples[op].append(time.perf_counter() - started)
        self.http.close()
        self.client.close()


def _ms(values: list[float], q: float) -> float | None:
    return round(percentile(sorted(values), q) * 1000, 1) if values else None


def _one(ctx: Any, backend: str, database_url: str | None, seconds: float) -> dict[str, Any]:
    proxy = start_header_dropping_proxy(ctx.moto.endpoint, ctx.work)
    server = ctx.floe_server(f"soak-{backend}", database_url=database_url)
    try:
        _setup(server, ctx, proxy)
        started = time.monotonic()
        deadline = started + seconds
        workers = [_Worker(server, w, deadline, seed=w) for w in range(WORKERS)]
        threads = [threading.Thread(target=w.run, name=f"soak-{w.index}") for w in workers]
        for thread in threads:
            thread.start()
        memory: list[tuple[float, float]] = []
        every = max(1.0, seconds / 60)
        while any(thread.is_alive() for thread in threads):
            memory.append((round(time.monotonic() - started, 1), round(_rss_mib(server.process.pid), 1)))
            time.sleep(every)
        for thread in threads:
            thread.join()
    finally:
        server.stop()
        proxy.stop()
    samples = {op: [s for w in workers for s in w.samples[op]] for op in MIX}
    every_op = [s for values in samples.values() for s in values]
    errors = [e for w in workers for e in w.errors]
    after_warm_up = [mib for at, mib in memory if at >= seconds * WARM_UP] or [memory[-1][1]]
    baseline, tail = after_warm_up[0], after_warm_up[-max(1, len(after_warm_up) // 10) :]
    growth = (sum(tail) / len(tail) - baseline) / baseline
    return {
        "seconds": seconds,
        "operations": len(every_op) + len(errors),
        "errors": len(errors),
        "error_samples": errors[:10],
        "p50_ms": _ms(every_op, 50),
        "p99_ms": _ms(every_op, 99),
        "by_operation": {
            op: {"count": len(v), "p50_ms": _ms(v, 50), "p99_ms": _ms(v, 99)} for op, v in samples.items()
        },
        "rss_mib": memory,
        "rss_after_warm_up_mib": baseline,
        "rss_end_mib": memory[-1][1],
        "growth_after_warm_up": round(growth, 4),
        "goal_errors": "pass" if not errors else "miss",
        "goal_memory": "pass" if growth < GROWTH_GOAL else "miss",
    }


def soak(ctx: Any, seconds: float) -> dict[str, Any]:
    """The mixed load for ``seconds`` on SQLite, then on PostgreSQL (when there is one)."""
    out: dict[str, Any] = {"sqlite": _one(ctx, "sqlite", None, seconds)}
    if ctx.postgres is not None:
        url = ctx.postgres.create_database(f"bench_soak_{secrets.token_hex(4)}")
        out["postgresql"] = _one(ctx, "postgresql", url, seconds)
    return out


def markdown(results: dict[str, Any]) -> list[str]:
    mix = ", ".join(f"{op} {weight} %" for op, weight in MIX.items())
    lines = [
        f"## Soak: {WORKERS} clients, a mixed load ({mix}); goals 0 errors, memory growth after warm-up < 10 %",
        "",
        "| database | seconds | operations | errors | p50 ms | p99 ms | RSS after warm-up MiB | RSS at end MiB "
        "| growth | errors goal | memory goal |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for backend, r in results.items():
        lines.append(
            f"| {backend} | {r['seconds']:g} | {r['operations']} | {r['errors']} | {r['p50_ms']} | {r['p99_ms']} "
            f"| {r['rss_after_warm_up_mib']} | {r['rss_end_mib']} | {r['growth_after_warm_up']:+.1%} "
            f"| {r['goal_errors']} | {r['goal_memory']} |"
        )
    lines += ["", "| database | operation | count | p50 ms | p99 ms |", "|---|---|---|---|---|"]
    for backend, r in results.items():
        for op, o in r["by_operation"].items():
            lines.append(f"| {backend} | {op} | {o['count']} | {o['p50_ms']} | {o['p99_ms']} |")
    lines.append("")
    for backend, r in results.items():
        points = ", ".join(
            f"{at:g} s {mib:g}" for at, mib in r["rss_mib"][:: max(1, len(r["rss_mib"]) // 12)]
        )
        lines.append(f"RSS over time ({backend}, MiB): {points}")
        for sample in r["error_samples"]:
            lines.append(f"- error ({backend}): {sample}")
    return [*lines, ""]
