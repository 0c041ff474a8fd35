"""A throw-away PostgreSQL cluster (one per test session)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from ._base import (
    _RUNNING,
    LOCALHOST,
    ServiceError,
    ServiceProcess,
    _popen_logged,
    _run_logged,
    _terminate,
    free_port,
    log_tail,
    wait_until,
)

# --------------------------------------------------------------------------------------------- postgres


def _pg_version_key(bindir: str) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<version>/bin."""
    version = Path(bindir).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _is_pg_bindir(bindir: str | Path) -> bool:
    return all(os.access(Path(bindir) / exe, os.X_OK) for exe in ("initdb", "postgres", "pg_ctl"))


def find_postgres_bindir() -> Path | None:
    """The directory holding the PostgreSQL server binaries (initdb, postgres, pg_ctl), or None.

    ``pg_config --bindir`` wins if it has them; otherwise the newest ``/usr/lib/postgresql/*/bin``.
    """
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_pg_version_key, reverse=True)
    return next((Path(c) for c in candidates if _is_pg_bindir(c)), None)


@dataclass(eq=False)
class PostgresServer(ServiceProcess):
    """A private PostgreSQL cluster listening on 127.0.0.1 (trust auth, superuser ``floe``)."""

    port: int = 0
    bindir: Path = field(default_factory=Path)
    pgdata: Path = field(default_factory=Path)
    user: str = "floe"
    run_as: list[str] = field(default_factory=list)  # e.g. ["runuser", "-u", "postgres", "--"]
    cleanup_dir: Path | None = None  # removed on stop (the /tmp work dir used when running as root)

    @property
    def url(self) -> str:
        """URL of the default ``postgres`` database."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        """URL of database ``name`` on this server."""
        return f"postgresql://{self.user}@{LOCALHOST}:{self.port}/{name}"

    def connect(self, dbname: str = "postgres", **kwargs) -> psycopg.Connection:
        """A psycopg connection (autocommit) to database ``dbname``."""
        return psycopg.connect(self.database_url(dbname), autocommit=True, **kwargs)

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its URL."""
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` (if it exists), disconnecting any remaining sessions."""
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown via ``pg_ctl stop -m fast``, falling back to signals; removes the temp dir."""
        _RUNNING.discard(self)
        if self.process.poll() is None:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                pg_ctl = [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast", "-w"]
                subprocess.run(
                    [*self.run_as, *pg_ctl, "-t", str(int(timeout))],
                    cwd=self.pgdata.parent,
                    capture_output=True,
                    timeout=timeout + 5,
                )
        # Fallback: SIGINT is postgres' own "fast shutdown"; runuser only forwards SIGTERM to its child.
        _terminate(self.process, timeout, signal.SIGTERM if self.run_as else signal.SIGINT)
        if self.cleanup_dir is not None:
            shutil.rmtree(self.cleanup_dir, ignore_errors=True)
            self.cleanup_dir = None


def _postgres_work_dir(base_dir: Path) -> tuple[Path, list[str], Path | None]:
    """Where the cluster lives and how to run its binaries: (work_dir, run_as prefix, dir to clean up).

    PostgreSQL refuses to run as root, so as root the binaries run as the ``postgres`` system user via
    ``runuser`` in a world-traversable directory under /tmp owned by that user (pytest's tmp dirs are 0700).
    Raises LookupError when running as root and that user (or runuser) does not exist.
    """
    if os.geteuid() != 0:
        return base_dir, [], None
    try:
        pg_user = pwd.getpwnam("postgres")
    except KeyError:
        raise LookupError("running as root and there is no 'postgres' system user") from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise LookupError("running as root and `runuser` is not available")
    work_dir = Path(tempfile.mkdtemp(prefix="floe-pg-", dir="/tmp" if os.path.isdir("/tmp") else None))
    work_dir.chmod(0o755)
    os.chown(work_dir, pg_user.pw_uid, pg_user.pw_gid)
    return work_dir, [runuser, "-u", "postgres", "--"], work_dir


def _pg_accepts_connections(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def start_postgres(base_dir: Path, timeout: float = 60.0) -> PostgresServer | None:
    """Create and start a private PostgreSQL cluster; None if PostgreSQL is not usable here.

    The cluster's log goes to ``base_dir/postgres.log``. Its data lives in ``base_dir/pgdata`` -- or, when
    running as root, in a ``/tmp/floe-pg-*`` directory owned by the ``postgres`` user that ``stop()``
    removes. Returns None when no server binaries are found, or when running as root without a
    ``postgres`` system user. Raises :class:`ServiceError` if the cluster fails to initialise or start.
    """
    bindir = find_postgres_bindir()
    if bindir is None:
        return None
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    try:
        work_dir, run_as, cleanup_dir = _postgres_work_dir(base_dir)
    except LookupError:
        return None
    pgdata = work_dir / "pgdata"
    log_path = base_dir / "postgres.log"
    try:
        initdb = [str(bindir / "initdb"), "-D", str(pgdata), "--auth=trust", "-U", "floe"]
        initdb += ["--encoding=UTF8", "--locale=C", "--no-sync"]
        status = _run_logged([*run_as, *initdb], log_path, timeout=120, cwd=work_dir)
        if status != 0:
            raise ServiceError(f"initdb failed with status {status} (log: {log_path})\n{log_tail(log_path)}")
        port = free_port()
        postgres = [str(bindir / "postgres"), "-D", str(pgdata), "-p", str(port), "-h", LOCALHOST]
        postgres += ["-k", str(work_dir), "-c", "fsync=off", "-c", "synchronous_commit=off"]
        postgres += ["-c", "full_page_writes=off", "-c", "max_connections=300"]
        server = PostgresServer(
            _popen_logged([*run_as, *postgres], log_path, cwd=work_dir),
            log_path,
            port=port,
            bindir=bindir,
            pgdata=pgdata,
            run_as=run_as,
            cleanup_dir=cleanup_dir,
        )
    except BaseException:
        if cleanup_dir is not None:
            shutil.rmtree(cleanup_dir, ignore_errors=True)
        raise
    try:
        wait_until(
            lambda: _pg_accepts_connections(server.url),
            timeout,
            server.process,
            log_path,
            what="postgres",
            interval=0.2,
        )
    except BaseException:
        server.stop()
        raise
    return server
