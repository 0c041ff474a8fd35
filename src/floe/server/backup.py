"""Backing up and restoring a catalog while its servers run: the database, the key ring, the settings.

A backup folder holds:

* ``catalog.sqlite`` (SQLite's online backup API) or ``catalog.dump`` (``pg_dump --format=custom``);
* ``secret.key`` -- the key ring that decrypts the bucket secrets in that database (mode 0600);
* ``backup.json`` -- Floe's version, the schema revision, the database kind, when, and the settings
  (secrets left out).

Not in a backup: the repos' data (object stores, and ``DATA_DIR/storage`` for ``file`` configs).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from floe import __version__
from floe.files import make_private_dirs, open_private
from floe.server.db.engine import current_revision, describe_url, normalize_url
from floe.server.keys import read_key_ring, write_key_ring

MANIFEST = "backup.json"
KEY_FILE = "secret.key"
SQLITE_FILE = "catalog.sqlite"
PG_FILE = "catalog.dump"
_SECRET_SETTINGS = ("FLOE_SECRET_KEY", "FLOE_OIDC_CLIENT_SECRET")


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass
class Manifest:
    floe_version: str
    created: str
    database: str  # sqlite | postgresql
    revision: str | None
    settings: dict[str, str]

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        try:
            raw = json.loads(path.read_text())
            return cls(**{k: raw[k] for k in cls.__dataclass_fields__})
        except FileNotFoundError:
            raise BackupError(f"{folder} is not a Floe backup: it has no {MANIFEST}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"{path} is damaged ({exc}); use another backup") from None


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"cannot back up the SQLite database {url!r}: it is not a file")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for pg_dump / pg_restore, and the environment carrying its password
    (so the password never shows in a process listing)."""
    parsed = make_url(normalize_url(url))
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str], what: str, stdin: str | None = None) -> str:
    """Run a PostgreSQL client program; its stdout, or a BackupError with its last line of errors."""
    exe = shutil.which(cmd[0])
    if exe is None:
        raise BackupError(
            f"{cmd[0]} not found: install the PostgreSQL client programs (Debian: postgresql-client)"
        )
    done = subprocess.run([exe, *cmd[1:]], env=env, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else f'exit status {done.returncode}'}")
    return done.stdout


def _write_private(path: Path, data: bytes) -> None:
    with os.fdopen(open_private(path, os.O_WRONLY | os.O_EXCL), "wb") as fh:
        fh.write(data)


def backup(engine: sa.Engine, settings: Any, folder: Path) -> Manifest:
    """Write a backup of the catalog of ``settings`` into the new or empty ``folder`` (mode 0700)."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{folder} exists and is not an empty folder; give a new folder for the backup")
    make_private_dirs(folder)
    kind = engine.dialect.name
    revision = current_revision(engine)
    if kind == "sqlite":
        target = folder / SQLITE_FILE
        _write_private(target, b"")
        with sqlite3.connect(_sqlite_path(settings.database_url)) as src, sqlite3.connect(target) as dst:
            src.backup(dst)  # online: a consistent copy while servers read and write
        src.close()
        dst.close()
    elif kind == "postgresql":
        uri, env = _libpq(settings.database_url)
        cmd = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={folder / PG_FILE}"]
        _run([*cmd, uri], env, "pg_dump")
        os.chmod(folder / PG_FILE, 0o600)
    else:
        raise BackupError(f"cannot back up a {kind} database (SQLite and PostgreSQL only)")
    _write_private(folder / KEY_FILE, b"".join(k + b"\n" for k in settings.secret_keys))
    shown = {k: v for k, v in settings.export_env().items() if k not in _SECRET_SETTINGS}
    shown["FLOE_DATABASE_URL"] = describe_url(settings.database_url)
    manifest = Manifest(
        floe_version=__version__,
        created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        database=kind,
        revision=revision,
        settings=shown,
    )
    _write_private(folder / MANIFEST, json.dumps(manifest.__dict__, indent=2).encode() + b"\n")
    return manifest


def restore(engine: sa.Engine, settings: Any, folder: Path, known_revisions: set[str]) -> Manifest:
    """Replace the catalog of ``settings`` with the backup in ``folder``, while servers may run.

    The backup's keys join the key ring (after the keys in use, so new secrets stay under the
    current key); running servers read the ring again when they meet a secret they cannot open.
    The caller migrates the restored database to the newest revision.
    """
    manifest = Manifest.read(folder)
    kind = engine.dialect.name
    if manifest.database != kind:
        raise BackupError(
            f"the backup is of a {manifest.database} catalog and this one is {kind}: restore it onto a "
            f"{manifest.database} catalog (--database-url)"
        )
    if manifest.revision and manifest.revision not in known_revisions:
        raise BackupError(
            f"the backup was made by Floe {manifest.floe_version} (schema {manifest.revision}), newer than "
            f"this Floe {__version__}: upgrade Floe first"
        )
    try:
        backup_keys = read_key_ring(folder / KEY_FILE)
    except FileNotFoundError:
        raise BackupError(
            f"{folder} has no {KEY_FILE}: without it the bucket secrets cannot be read"
        ) from None
    missing = [k for k in backup_keys if k not in settings.secret_keys]
    if missing and settings.secret_key_file is None:
        raise BackupError(
            "the keys come from FLOE_SECRET_KEY and the backup's key ring is not in it: append the keys in "
            f"{folder / KEY_FILE} to FLOE_SECRET_KEY (comma-separated) for every server, then restore"
        )
    if missing:
        write_key_ring(settings.secret_key_file, [*read_key_ring(settings.secret_key_file), *missing])
    if kind == "sqlite":
        source = folder / SQLITE_FILE
        if not source.is_file():
            raise BackupError(f"{folder} has no {SQLITE_FILE}")
        engine.dispose()
        with sqlite3.connect(source) as src, sqlite3.connect(_sqlite_path(settings.database_url)) as dst:
            dst.execute("PRAGMA busy_timeout = 30000")
            src.backup(dst)  # page by page into the live database, under SQLite's locks
        src.close()
        dst.close()
    else:
        source = folder / PG_FILE
        if not source.is_file():
            raise BackupError(f"{folder} has no {PG_FILE}")
        tables = sa.inspect(engine).get_table_names()
        engine.dispose()
        uri, env = _libpq(settings.database_url)
        script = _run(
            ["pg_restore", "--no-owner", "--no-privileges", "--file=-", str(source)], env, "pg_restore"
        )
        # one transaction: drop what is there now (a newer schema may have more tables), load the backup
        drops = "".join(f'DROP TABLE IF EXISTS "{name}" CASCADE;\n' for name in tables)
        psql = ["psql", "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "--single-transaction"]
        _run([*psql, f"--dbname={uri}"], env, "loading the backup with psql", stdin=drops + script)
    return manifest
