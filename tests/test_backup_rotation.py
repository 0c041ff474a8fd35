"""``floe admin backup`` / ``restore`` and ``floe admin rotate-secret-key`` beside a running server,
on SQLite and PostgreSQL: the server keeps answering, and its bucket secrets stay readable."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from cli_runner import Floe, error_line
from floe.server.db import tables as t
from services import wait_until

SECRET = "s3cr3t-key-for-rotation"


def _api(server) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {server.token}"}, timeout=60)


def _db_args(server) -> list[str]:
    """The options that point ``floe admin`` at the server's catalog."""
    return [
        "--data-dir",
        str(server.data_dir),
        *(["--database-url", server.database_url] if server.database_url else []),
    ]


@pytest.fixture
def on_s3(floe_server, moto, s3_bucket):
    """The server with a bucket config ``moto`` (an access key pair, sealed at rest) and repo ``default/kept`` on it."""
    with _api(floe_server) as api:
        body = {
            "nickname": "moto",
            "platform": "s3-compatible",
            "name": s3_bucket,
            "prefix": "",
            "extra_config": {"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
            "auth_config": {"method": "hmac", "access_key_id": "testing", "secret_access_key": SECRET},
        }
        made = api.post("/orgs/default/buckets", json=body)
        assert made.status_code == 201, made.text
        repo = api.post("/orgs/default/repos", json={"name": "kept", "bucket_nickname": "moto"})
        assert repo.status_code == 201, repo.text
        assert _secret_of(api) == SECRET
    return floe_server


def _secret_of(api: httpx.Client, repo: str = "kept") -> str:
    creds = api.get(f"/repos/default/{repo}/bucket-credentials")
    assert creds.status_code == 200 and creds.json(), (creds.text, creds.headers)
    return creds.json()["aws_secret_access_key"]


def _sealed(server) -> list[str]:
    with server.catalog().engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(t.buckets.c.auth_secret).where(t.buckets.c.auth_secret.is_not(None))
            ).scalars()
        )


def test_backup_and_restore_round_trip_while_the_server_runs(on_s3, tmp_path):
    server = on_s3
    floe = Floe(server, tmp_path / "cfg", in_process=True)
    folder = tmp_path / "backups" / "monday"
    done = floe.ok("admin", "backup", str(folder), *_db_args(server))
    assert "Backed up" in done.out
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "secret.key").stat().st_mode) == 0o600
    key = (server.data_dir / "secret.key").read_bytes().strip()
    assert (folder / "secret.key").read_bytes().strip() == key
    manifest = (folder / "backup.json").read_text()
    assert key.decode() not in manifest and SECRET not in manifest
    assert '"revision"' in manifest and server.catalog().engine.dialect.name in manifest

    # a second backup into the same folder is refused, in one line
    assert "not an empty folder" in error_line(floe("admin", "backup", str(folder), *_db_args(server)), 1)

    with _api(server) as api:  # changes after the backup
        assert api.post("/orgs/default/repos", json={"name": "later"}).status_code == 201
        assert api.delete("/orgs/default/kept").status_code == 204
        assert api.get("/repos/default/kept").status_code == 404

        restored = floe.ok("admin", "restore", str(folder), "--yes", *_db_args(server))
        assert "Restored the catalog" in restored.out

        # the same running server answers from the restored catalog
        assert api.get("/repos/default/kept").status_code == 200
        assert api.get("/repos/default/later").status_code == 404
        assert _secret_of(api) == SECRET
        assert api.post("/orgs/default/repos", json={"name": "after-restore"}).status_code == 201


def test_restore_refuses_what_is_not_a_backup(floe_server_sqlite, tmp_path):
    floe = Floe(floe_server_sqlite, tmp_path / "cfg", in_process=True)
    (tmp_path / "empty").mkdir()
    line = error_line(
        floe("admin", "restore", str(tmp_path / "empty"), "--yes", *_db_args(floe_server_sqlite)), 2
    )
    assert "is not a Floe backup" in line


def test_rotating_the_key_keeps_a_running_server_decrypting(on_s3, tmp_path):
    server = on_s3
    floe = Floe(server, tmp_path / "cfg", in_process=True)
    key_file: Path = server.data_dir / "secret.key"
    old_key = key_file.read_bytes().strip()
    statuses: list[int] = []
    stop = threading.Event()

    def read_secrets() -> None:
        with _api(server) as api:
            while not stop.is_set():
                creds = api.get("/repos/default/kept/bucket-credentials")
                ok = creds.status_code == 200 and creds.json()["aws_secret_access_key"] == SECRET
                statuses.append(200 if ok else creds.status_code or 0)

    reader = threading.Thread(target=read_secrets)
    reader.start()
    try:
        wait_until(lambda: len(statuses) >= 3, 30, what="reads before the rotation")
        done = floe.ok("admin", "rotate-secret-key", *_db_args(server))
        during = len(statuses)
        wait_until(lambda: len(statuses) >= during + 3, 30, what="reads after the rotation")
    finally:
        stop.set()
        reader.join(60)
    assert "re-encrypted 1 bucket secret" in done.out, done.out
    assert statuses and set(statuses) == {200}, statuses

    ring = key_file.read_bytes().split()
    assert len(ring) == 2 and ring[1] == old_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    (sealed,) = _sealed(server)
    Fernet(ring[0]).decrypt(sealed.encode())  # now under the new key
    with pytest.raises(InvalidToken):
        Fernet(old_key).decrypt(sealed.encode())

    with _api(server) as api:
        assert _secret_of(api) == SECRET  # the server learned the new key from its key file
        # a secret saved now is sealed under the new key by the running server
        body = {"auth_config": {"method": "hmac", "access_key_id": "testing", "secret_access_key": "n3w"}}
        assert api.patch("/orgs/default/buckets/moto", json=body).status_code == 200
    (sealed,) = _sealed(server)
    Fernet(ring[0]).decrypt(sealed.encode())

    dropped = floe.ok("admin", "rotate-secret-key", "--drop-old-keys", *_db_args(server))
    assert "holds that key only" in dropped.out
    assert key_file.read_bytes().split() == [ring[0]]
    with _api(server) as api:
        assert _secret_of(api) == "n3w"
