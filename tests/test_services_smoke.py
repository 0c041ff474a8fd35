"""Quick checks that the service fixtures themselves work (moto S3, PostgreSQL, the database backends)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import httpx
import pytest

from services import MotoServer, PostgresServer


def test_moto_put_get(moto: MotoServer, s3_bucket: str) -> None:
    s3 = moto.s3_client()
    s3.put_object(Bucket=s3_bucket, Key="hello/world.txt", Body=b"hello floe")
    body = s3.get_object(Bucket=s3_bucket, Key="hello/world.txt")["Body"].read()
    assert body == b"hello floe"
    assert s3_bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_s3_buckets_are_fresh(moto: MotoServer, s3_bucket: str) -> None:
    assert s3_bucket.startswith("floe-test-")
    assert moto.s3_client().list_objects_v2(Bucket=s3_bucket)["KeyCount"] == 0


def test_postgres_select_1(postgres: PostgresServer) -> None:
    with postgres.connect() as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_postgres_create_database(postgres: PostgresServer) -> None:
    import psycopg

    url = postgres.create_database("floe_smoke_db")
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("select current_database()").fetchone() == ("floe_smoke_db",)
    finally:
        postgres.drop_database("floe_smoke_db")


def test_database_url(request: pytest.FixtureRequest, database_url: str | None, floe_server) -> None:
    """Each case of the ``database_url`` fixture is its backend: ``sqlite`` gives None, which puts the
    server on its embedded SQLite (``DATA_DIR/floe.db``); ``postgresql`` gives the URL of a fresh
    PostgreSQL database, which the server then uses. Checked against the case's id, from what the server
    reports, and where its catalog actually is."""
    backend = request.node.callspec.params["database_url"]
    assert backend in ("sqlite", "postgresql")
    health = httpx.get(f"{floe_server.url}/health", timeout=30, trust_env=False).json()
    tables_query = "select name from orgs order by name"
    if backend == "sqlite":
        assert database_url is None
        assert health["database"] == "sqlite"
        catalog = Path(floe_server.data_dir) / "floe.db"
        assert catalog.is_file()
        with contextlib.closing(sqlite3.connect(catalog)) as conn:
            assert conn.execute(tables_query).fetchall() == [("default",)]
        return
    import psycopg

    assert health["database"] == "postgresql"
    assert database_url.startswith("postgresql://") and "/floe_test_" in database_url
    assert not (Path(floe_server.data_dir) / "floe.db").exists()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        assert conn.execute(tables_query).fetchall() == [("default",)]
