"""Bench section ``audit``: audit rows and database growth per 10,000 opens, with repeated vends
recorded once per window (the default) and with a window of 0 (an event per vend)."""

from __future__ import annotations

import secrets
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import sqlalchemy as sa

import floe
from floe.server.catalog.audit import VEND_ACTIONS
from floe.server.db import tables as t

OPENS = 10_000
CLIENTS = 8


def _database_bytes(server: Any) -> int:
    """The catalog database's size: the SQLite file after a WAL checkpoint, or PostgreSQL's own count."""
    if server.database_url is None:
        path = server.data_dir / "floe.db"
        with sqlite3.connect(path, timeout=30) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return path.stat().st_size
    with server.catalog().engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()


def _vend_rows(server: Any) -> int:
    col = t.audit_events.c
    query = sa.select(sa.func.count()).where(col.action.in_(VEND_ACTIONS))
    with server.catalog().engine.connect() as conn:
        return conn.execute(query).scalar_one()


def _one(ctx: Any, backend: str, database_url: str | None, window: int, opens: int) -> dict[str, Any]:
    env = {"FLOE_AUDIT_VEND_WINDOW_SECONDS": str(window)}
    server = ctx.floe_server(f"audit-{backend}-{window}", database_url=database_url, env=env)
    try:
        rows_before = _vend_rows(server)  # before creating the repo: floe.Client opens it once
        with floe.Client(service_uri=server.url, token=server.token) as client:
            client.create_bucket_config(
                org="default",
                nickname="moto",
                uri=f"s3://{ctx.moto.create_bucket(f'bench-audit-{secrets.token_hex(4)}')}",
                extra_config={"endpoint_url": ctx.moto.endpoint, "region_name": "us-east-1"},
                auth_config={"method": "hmac", "access_key_id": "testing", "secret_access_key": "testing"},
            )
            client.create_repo("default/hot", bucket_config_nickname="moto")
        bytes_before = _database_bytes(server)
        headers = {"authorization": f"Bearer {server.token}"}
        clients = [httpx.Client(base_url=server.url, headers=headers) for _ in range(CLIENTS)]
        errors = 0

        def opener(i: int) -> None:
            nonlocal errors
            http = clients[i]
            for _ in range(opens // CLIENTS):
                errors += http.get("/repos/default/hot/open").status_code != 200

        started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(opener, range(CLIENTS)))
        elapsed = time.monotonic() - started
        for http in clients:
            http.close()
        scale = OPENS / (opens // CLIENTS * CLIENTS)
        return {
            "opens": opens // CLIENTS * CLIENTS,
            "errors": errors,
            "opens_per_s": round(opens / elapsed, 1),
            "vend_rows_per_10k_opens": round((_vend_rows(server) - rows_before) * scale, 1),
            "db_kib_per_10k_opens": round((_database_bytes(server) - bytes_before) * scale / 1024, 1),
        }
    finally:
        server.stop()


def audit_trail(ctx: Any) -> dict[str, Any]:
    """Audit rows and database growth per 10,000 opens of one repo by one principal (8 clients)."""
    opens = 2_000 if ctx.quick else OPENS
    backends = ["sqlite", *(["postgresql"] if ctx.postgres is not None else [])]
    out: dict[str, Any] = {}
    for backend in backends:
        for window in (600, 0):
            url = None
            if backend == "postgresql":
                url = ctx.postgres.create_database(f"bench_audit_{secrets.token_hex(4)}")
            label = f"{backend}, window {window} s" + (" (default)" if window == 600 else "")
            out[label] = _one(ctx, backend, url, window, opens)
    return out


def markdown(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Audit trail: rows and database growth per 10,000 opens (one principal, one repo, 8 clients)",
        "",
        "| database, vend window | opens | errors | opens/s | credential-vend rows per 10k opens "
        "| database KiB per 10k opens |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {r['opens']} | {r['errors']} | {r['opens_per_s']} | {r['vend_rows_per_10k_opens']} "
            f"| {r['db_kib_per_10k_opens']} |"
        )
    return [*lines, ""]
