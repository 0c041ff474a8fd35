"""Database engines for SQLite (default, WAL) and PostgreSQL, and schema migration at start."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from floe.files import create_private_file

MIGRATIONS = Path(__file__).parent / "migrations"

# Execution option of a connection that will write: SQLite begins its transaction IMMEDIATE.
WRITE_OPTION = "floe_write"


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` URLs and use the psycopg 3 driver for them."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'floe.db'}"


def describe_url(url: str) -> str:
    """The URL with any password hidden, fit for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def _create_sqlite_file(url: str) -> None:
    """Create a missing SQLite database file with mode 0600 before SQLite does: SQLite gives its
    ``-wal`` and ``-shm`` files the database file's mode, so all three are the owner's only."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        if path.parent.is_dir():
            create_private_file(path)


def create_engine(url: str) -> sa.Engine:
    """An engine for the catalog database; SQLite gets WAL, foreign keys and a busy timeout
    (and a new database file is made 0600)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        _create_sqlite_file(url)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # the driver begins nothing itself: _sqlite_begin does
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            # Write transactions (Catalog.tx) take SQLite's write lock at BEGIN, so a transaction that
            # checks an invariant and then writes cannot interleave with another one doing the same.
            immediate = conn.get_execution_options().get(WRITE_OPTION)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # pool_recycle rather than pre-ping: a ping would add a round trip to every checkout (twice per request)
    return sa.create_engine(url, pool_recycle=1800, pool_size=10, max_overflow=20)


def migrate(engine: sa.Engine) -> None:
    """Bring the schema up to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
