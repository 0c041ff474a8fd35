"""`floe serve` and `floe admin token` as processes: first start, restarts, the schema."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from floe.server.db import tables
from floe.server.db.engine import (
    HEAD_REVISION,
    create_engine,
    current_revision,
    known_revisions,
    migrate,
    pending_revisions,
    read_connection,
    write_transaction,
)
from floe.server.db.tables import metadata
from services import admin_token_cli, start_floe, unique_name


def _floe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floe", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_first_start_bootstraps_once_and_writes_user_config(tmp_path):
    data_dir = tmp_path / "data"
    config_dir = tmp_path / "config"
    env = {"FLOE_CONFIG_DIR": str(config_dir)}
    first = start_floe(data_dir, env=env)
    try:
        log = first.log_text()
        assert log.count("Admin token (shown once") == 1
        config = tomllib.loads((config_dir / "config.toml").read_text())
        assert config["service_uri"] == first.url and config["token"].startswith("ema_")
        assert (config_dir / "config.toml").stat().st_mode & 0o777 == 0o600
        assert config["token"] in log  # printed once, on the console of whoever started it
        with httpx.Client(base_url=first.url, headers={"authorization": f"Bearer {config['token']}"}) as http:
            buckets = http.get("/orgs/default/buckets").json()
            assert [(b["nickname"], b["platform"], b["is_default"]) for b in buckets] == [
                ("local", "file", True)
            ]
            assert buckets[0]["name"] == str((data_dir / "storage" / "default").resolve())
        assert (data_dir / "floe.db").exists() and (data_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    finally:
        first.stop()

    second = start_floe(data_dir, env=env)
    try:
        assert "Admin token" not in second.log_text()
        updated = tomllib.loads((config_dir / "config.toml").read_text())
        assert updated["token"] == config["token"] and updated["service_uri"] == second.url
        with httpx.Client(
            base_url=second.url, headers={"authorization": f"Bearer {config['token']}"}
        ) as http:
            assert http.get("/user").json()["is_site_admin"] is True
    finally:
        second.stop()


def test_admin_token_prints_only_a_token_and_creates_the_org(tmp_path):
    data_dir = tmp_path / "data"
    made = _floe("admin", "token", "--data-dir", str(data_dir), "--org", "newlab")
    assert made.returncode == 0, made.stderr
    assert made.stdout.count("\n") == 1 and made.stdout.startswith("ema_")
    server = start_floe(data_dir, env={"FLOE_CONFIG_DIR": str(tmp_path / "cfg")})
    try:
        with httpx.Client(
            base_url=server.url, headers={"authorization": f"Bearer {made.stdout.strip()}"}
        ) as http:
            me = http.get("/user").json()
            assert (me["org"], me["role"], me["is_site_admin"]) == ("newlab", "admin", False)
            assert [o["name"] for o in http.get("/orgs").json()] == ["newlab"]
    finally:
        server.stop()
    bad = _floe("admin", "token", "--data-dir", str(data_dir), "--org", "no good")
    assert bad.returncode == 2 and "invalid org name" in bad.stderr and "Traceback" not in bad.stderr
    unreachable = _floe(
        "admin",
        "token",
        "--database-url",
        "postgresql://nobody@127.0.0.1:9/none",
        "--data-dir",
        str(data_dir),
    )
    assert unreachable.returncode == 1 and "cannot open the catalog database" in unreachable.stderr
    assert len(unreachable.stderr.strip().splitlines()) == 1


def test_migrations_match_the_table_definitions(tmp_path, database_url, request):
    """Every migration run in turn gives the schema the table definitions describe, and so does the
    short way a new database takes (tables made from the definitions, stamped at the newest revision)."""
    migrated = create_engine(database_url or f"sqlite:///{tmp_path / 'schema.db'}")
    every = pending_revisions(migrated)
    assert every[0][0] == "0001" and len(every) == len(known_revisions())
    assert every[-1][0] == HEAD_REVISION, (
        "HEAD_REVISION in floe/server/db/engine.py must name the newest migration"
    )
    migrate(migrated, "0001")  # the first migration, then every later one, as an old catalog would
    migrate(migrated)
    migrate(migrated)  # idempotent
    if database_url is not None:
        made = create_engine(request.getfixturevalue("postgres").create_database(unique_name("floe_made_")))
    else:
        made = create_engine(f"sqlite:///{tmp_path / 'made.db'}")
    migrate(made)
    migrate(made)  # idempotent
    for engine in (migrated, made):
        assert current_revision(engine) == HEAD_REVISION
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
            assert diff == []
            assert sa.inspect(conn).get_table_names()
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        engine.dispose()


def test_serve_refuses_an_unreachable_database_in_one_line(tmp_path):
    result = _floe(
        "serve",
        "--data-dir",
        str(tmp_path / "d"),
        "--database-url",
        "postgresql://nobody@127.0.0.1:9/none",
        "--port",
        "1",
    )
    assert result.returncode == 1
    assert "cannot open the catalog database" in result.stderr and "Traceback" not in result.stderr
    assert Path(tmp_path / "d").exists()


def test_workers_share_one_catalog(tmp_path, database_url):
    server = start_floe(
        tmp_path / "data",
        database_url=database_url,
        extra_args=["--workers", "2"],
        env={"FLOE_CONFIG_DIR": str(tmp_path / "c")},
    )
    try:
        headers = {"authorization": f"Bearer {server.token}"}
        with httpx.Client(base_url=server.url, headers=headers) as http:
            for i in range(6):
                # a new connection each time, so requests spread over both processes
                assert (
                    httpx.post(
                        f"{server.url}/orgs/default/repos", json={"name": f"w{i}x"}, headers=headers
                    ).status_code
                    == 201
                )
                assert httpx.get(f"{server.url}/repos/default/w{i}x", headers=headers).status_code == 200
            assert http.get("/orgs/default/repos/paginated").json()["total"] == 6
        assert server.log_text().count("Started server process") == 2
        # `floe admin token` beside the running server, on its database (the test fixtures make their
        # tokens in process, straight in the database; this is the command itself)
        for org, site_admin in (("default", False), ("beside", True)):
            token = admin_token_cli(server, org=org, site_admin=site_admin)
            me = httpx.get(f"{server.url}/user", headers={"authorization": f"Bearer {token}"}).json()
            assert (me["org"], me["role"], me["is_site_admin"]) == (org, "admin", site_admin)
    finally:
        server.stop()


def test_reads_on_postgresql_hold_no_transaction_open(postgres):
    """Catalog reads on PostgreSQL run each statement alone: no BEGIN and ROLLBACK round trips, and no
    session left "idle in transaction" between statements; a write transaction is still one."""
    engine = create_engine(postgres.create_database(unique_name("floe_reads_")))
    migrate(engine)
    state = sa.text("SELECT state FROM pg_stat_activity WHERE pid = :pid")
    with engine.connect() as watcher, read_connection(engine) as conn:
        watcher.execution_options(isolation_level="AUTOCOMMIT")
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.orgs)).scalar() == 0
        assert watcher.execute(state, {"pid": pid}).scalar() == "idle"
    with engine.connect() as watcher, write_transaction(engine) as conn:
        watcher.execution_options(isolation_level="AUTOCOMMIT")
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        assert watcher.execute(state, {"pid": pid}).scalar() == "idle in transaction"
    engine.dispose()
