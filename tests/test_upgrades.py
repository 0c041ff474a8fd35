"""Upgrades: a catalog at every earlier schema revision, with data in it, upgraded to the newest one;
``floe admin migrate``; ``floe serve --no-migrate``; processes starting at once on one PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from cli_runner import Floe, error_line
from floe.server.db import tables as t
from floe.server.db.engine import create_engine, current_revision, known_revisions, migrate, sqlite_url
from floe.server.keys import hash_token
from services import free_port, unique_name

HEAD = max(known_revisions())
EARLIER = sorted(known_revisions() - {HEAD})
WHEN = dt.datetime(2025, 3, 1, 12, 30, tzinfo=dt.UTC)
LATER = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
ORG, BUCKET, REPO, USER = (
    "00000000-0000-0000-0000-000000000001",
    "b0000000-0000-0000-0000-000000000001",
    "repo00000000000000000001",
    "c0000000-0000-0000-0000-000000000001",
)
TOKEN = "ema_upgrade-test-token-0123456789abcdefghijklmnopq"
SECRET = {"method": "hmac", "access_key_id": "AKIAUPGRADE", "secret_access_key": "kept-through-upgrades"}


def _rows(key: bytes) -> dict[str, list[dict]]:
    """One or two rows for every table, in foreign-key order; a table is filled when the revision has it,
    and only with the columns that revision has."""
    return {
        "orgs": [{"id": ORG, "name": "lab", "description": "an old org", "created": WHEN}],
        "api_clients": [
            {
                "id": "d0000000-0000-0000-0000-000000000001",
                **{"org_id": ORG, "name": "old-admin", "email": "old@lab.example.org", "role": "admin"},
                **{"is_site_admin": False, "token_hash": hash_token(TOKEN), "created": WHEN},
            }
        ],
        "buckets": [
            {
                **{"id": BUCKET, "org_id": ORG, "nickname": "store", "platform": "s3", "name": "lab-bucket"},
                **{"prefix": "data", "extra_config": {"region_name": "eu-west-2"}, "auth_method": "hmac"},
                "auth_public": {"method": "hmac", "access_key_id": "AKIAUPGRADE"},
                "auth_secret": Fernet(key).encrypt(json.dumps(SECRET, sort_keys=True).encode()).decode(),
                **{"created": WHEN, "updated": WHEN, "created_by": "old@lab.example.org"},
                "capabilities": None,
            }
        ],
        "repos": [
            {
                **{"id": REPO, "org_id": ORG, "name": "era5", "bucket_id": BUCKET, "prefix": "era5"},
                **{"kind": "icechunk", "description": "reanalysis", "metadata": {"source": "ecmwf"}},
                **{"status_mode": "online", "status_initiated_by": {}, "created": WHEN, "updated": WHEN},
            }
        ],
        "repo_metadata": [{"repo_id": REPO, "key": "source", "value": "ecmwf"}],
        "ref_leases": [
            {
                **{"repo_id": REPO, "ref": "main", "lease_id": "l" * 32, "holder": "pipeline-1"},
                **{"principal_id": "d0000000-0000-0000-0000-000000000001", "principal_name": "old-admin"},
                **{"acquired": WHEN, "renewed": WHEN, "expires": LATER},
            }
        ],
        "virtual_containers": [
            {"repo_id": REPO, "url_prefix": "s3://lab-bucket/raw/", "bucket_id": BUCKET, "created": WHEN}
        ],
        "users": [
            {
                **{"id": USER, "email": "ada@lab.example.org", "name": "Ada", "password_hash": None},
                **{"is_site_admin": True, "created": WHEN},
            }
        ],
        "memberships": [{"org_id": ORG, "user_id": USER, "role": "owner", "added": WHEN}],
        "sessions": [
            {
                **{"id": "e0000000-0000-0000-0000-000000000001", "user_id": USER, "token_hash": "a" * 64},
                **{"kind": "cli", "created": WHEN, "expires": LATER},
            }
        ],
        "repo_grants": [
            {
                **{"repo_id": REPO, "principal_id": USER, "principal_kind": "user", "level": "write"},
                "created": WHEN,
            }
        ],
        "audit_events": [
            {
                **{"at": WHEN, "org_id": ORG, "org_name": "lab", "actor_name": "Ada"},
                **{"action": "repo.create", "resource": "lab/era5", "detail": {"bucket": "store"}},
            }
        ],
        "shared_locations": [
            {
                **{"id": "f0000000-0000-0000-0000-000000000001", "org_id": ORG, "platform": "s3"},
                **{"name": "shared-bucket", "prefix": "lab", "extra_config": {}, "created": WHEN},
            }
        ],
        "services": [
            {
                **{"id": "a0000000-0000-0000-0000-000000000001", "org_id": ORG, "name": "zarr"},
                **{"protocol": "zarr", "is_public": False, "config": {"repos": ["era5"]}, "created": WHEN},
            }
        ],
    }


def _comparable(value):
    if isinstance(value, dt.datetime):  # SQLite keeps no time zone
        return (
            value.replace(tzinfo=None)
            if value.tzinfo is None
            else value.astimezone(dt.UTC).replace(tzinfo=None)
        )
    return value


def _database(tmp_path: Path, database_url: str | None) -> tuple[Path, str]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return data_dir, database_url or sqlite_url(data_dir)


@pytest.mark.parametrize("start", EARLIER)
def test_a_catalog_at_every_earlier_revision_upgrades_with_its_data(
    start, database_url, tmp_path, floe_in_process_factory
):
    data_dir, url = _database(tmp_path, database_url)
    key = Fernet.generate_key()
    (data_dir / "secret.key").write_bytes(key + b"\n")
    engine = create_engine(url)
    try:
        migrate(engine, start)
        assert current_revision(engine) == start
        present = sa.MetaData()
        present.reflect(engine)
        inserted = {}
        with engine.begin() as conn:
            for name, rows in _rows(key).items():
                if name not in present.tables:
                    continue
                table = present.tables[name]
                rows = [{k: v for k, v in row.items() if k in table.c} for row in rows]
                conn.execute(table.insert(), rows)
                inserted[name] = rows
        assert {"orgs", "repos", "buckets", "api_clients"} <= set(inserted)
        migrate(engine)
        assert current_revision(engine) == HEAD
        with engine.connect() as conn:
            for name, rows in inserted.items():
                stored = [dict(r._mapping) for r in conn.execute(sa.select(t.metadata.tables[name]))]
                for row in rows:
                    assert any(
                        all(_comparable(s[k]) == _comparable(v) for k, v in row.items()) for s in stored
                    ), f"{name}: {row} not kept through the upgrade from {start}; found {stored}"
            # metadata filter rows know their repo's org (migration 0011)
            assert conn.execute(sa.select(t.repo_metadata.c.org_id)).scalars().all() == [ORG]
    finally:
        engine.dispose()

    # the upgraded catalog serves its old data, with the old token and the old secret key
    server = floe_in_process_factory(data_dir, database_url=database_url)
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=30) as api:
        repo = api.get("/repos/lab/era5")
        assert repo.status_code == 200, repo.text
        assert repo.json()["description"] == "reanalysis"
        bucket = api.get("/orgs/lab/buckets/store")
        assert bucket.status_code == 200, bucket.text
        assert "kept-through-upgrades" not in bucket.text
    with server.catalog().engine.connect() as conn:
        sealed = conn.execute(sa.select(t.buckets.c.auth_secret).where(t.buckets.c.id == BUCKET)).scalar()
    assert server.catalog().box.open(sealed) == SECRET


def test_admin_migrate_lists_then_runs_the_pending_migrations(database_url, tmp_path, floe_server_sqlite):
    data_dir = tmp_path / "catalog"
    data_dir.mkdir()
    db_args = ["--data-dir", str(data_dir), *(["--database-url", database_url] if database_url else [])]
    url = database_url or sqlite_url(data_dir)
    engine = create_engine(url)
    try:
        migrate(engine, EARLIER[-2])
        floe = Floe(floe_server_sqlite, tmp_path / "cfg", in_process=True)
        dry = floe.ok("admin", "migrate", "--dry-run", *db_args)
        assert f"at revision {EARLIER[-2]}" in dry.out and "Would run 2 migration(s)" in dry.out, dry.out
        assert current_revision(engine) == EARLIER[-2]
        done = floe.ok("admin", "migrate", *db_args)
        assert f"Migrated to revision {HEAD}" in done.out, done.out
        assert current_revision(engine) == HEAD
        again = floe.ok("admin", "migrate", *db_args)
        assert "Nothing to migrate" in again.out
    finally:
        engine.dispose()


def test_serve_without_migrating_refuses_an_old_schema(tmp_path, floe_server_sqlite):
    data_dir = tmp_path / "old"
    data_dir.mkdir()
    engine = create_engine(sqlite_url(data_dir))
    migrate(engine, EARLIER[0])
    engine.dispose()
    floe = Floe(floe_server_sqlite, tmp_path / "cfg", in_process=True)
    line = error_line(
        floe("serve", "--data-dir", str(data_dir), "--port", str(free_port()), "--no-migrate"), 1
    )
    assert f"at revision {EARLIER[0]}" in line and "floe admin migrate" in line, line


@pytest.mark.postgres
def test_processes_starting_at_once_on_postgresql_do_not_race_on_migrations(postgres, tmp_path):
    url = postgres.create_database(unique_name("floe_race_"))
    # each process imports and connects first; all migrate once all four are ready (a file barrier)
    code = (
        "import sys, time, pathlib; from floe.server.db.engine import create_engine, migrate; "
        "engine = create_engine(sys.argv[1]); engine.connect().close(); d = pathlib.Path(sys.argv[2]); "
        "(d / sys.argv[3]).touch()\n"
        "while len(list(d.iterdir())) < 4: time.sleep(0.01)\n"
        "migrate(engine)"
    )
    (tmp_path / "ready").mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url, str(tmp_path / "ready"), str(n)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, "\n".join(errors)
    engine = create_engine(url)
    try:
        assert current_revision(engine) == HEAD
    finally:
        engine.dispose()
