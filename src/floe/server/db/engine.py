"""Database engines for SQLite (default, WAL) and PostgreSQL, and schema migration at start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from floe.files import create_private_file

if TYPE_CHECKING:
    from alembic.config import Config

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
    (and a new database file is made 0600). Database errors never carry the statement's parameters
    (``hide_parameters``): they hold names, descriptions and hashes that do not belong in a log."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        _create_sqlite_file(url)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )

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
    return sa.create_engine(url, pool_recycle=1800, pool_size=10, max_overflow=20, hide_parameters=True)


# pg_advisory_xact_lock key for schema migrations: any constant shared by every Floe process ("floe" in ASCII)
MIGRATION_LOCK_KEY = 0x666C6F65


# The newest migration revision. A new database is made at it directly (below); the test of the
# migrations checks that this is the head of the migrations folder.
HEAD_REVISION = "0011"

# Alembic's own bookkeeping table, as Alembic makes it: one row, the revision the schema is at.
_VERSION_TABLE = sa.Table(
    "alembic_version",
    sa.MetaData(),
    sa.Column("version_num", sa.String(32), primary_key=True),
)


def _alembic_config(conn: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def known_revisions() -> set[str]:
    """Every migration revision this Floe knows."""
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def current_revision(engine: sa.Engine) -> str | None:
    """The Alembic revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def pending_revisions(engine: sa.Engine) -> list[tuple[str, str]]:
    """The migrations an upgrade to the newest revision would run, oldest first: (revision, title)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    current = current_revision(engine)
    steps = list(script.iterate_revisions("heads", current))
    return [(rev.revision, (rev.doc or "").strip().splitlines()[0]) for rev in reversed(steps)]


class SchemaOutOfDate(RuntimeError):
    """The catalog database is not at the newest revision (and the server may not migrate it)."""


def check_schema_current(engine: sa.Engine) -> None:
    """Raise SchemaOutOfDate, saying what to run, unless the schema is at the newest revision."""
    pending = pending_revisions(engine)
    if pending:
        raise SchemaOutOfDate(
            f"the catalog database is at revision {current_revision(engine) or '(empty)'} and this Floe needs "
            f"{pending[-1][0]}: run `floe admin migrate` (or start without --no-migrate)"
        )


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that will write. On SQLite it takes the write lock when it begins (BEGIN
    IMMEDIATE): it waits its turn behind other writers (the busy timeout) instead of failing with
    "database is locked" when another process commits between its first read and its first write."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


@contextmanager
def read_connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection that only reads. On PostgreSQL each statement runs on its own (autocommit): at READ
    COMMITTED, PostgreSQL's default, every statement sees a snapshot of its own anyway, and this saves the
    two round trips of a BEGIN and a ROLLBACK around every read. On SQLite the statements share one
    snapshot (a deferred BEGIN, which costs nothing there: the database is in this process)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (the newest by default), in one transaction.

    An empty database is made at the newest revision from the table definitions (``_made_at_head``);
    one at an older revision runs the migrations it lacks. On PostgreSQL, a transaction-scoped advisory
    lock serializes processes that start at once on the same database: the first migrates, the others
    wait, then find nothing left to do; on SQLite the write transaction does the same.
    """
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        if revision in ("head", HEAD_REVISION) and _made_at_head(conn):
            return
        from alembic import command

        command.upgrade(_alembic_config(conn), revision)


def _made_at_head(conn: sa.Connection) -> bool:
    """True when the schema is at the newest revision already, or was empty and has just been made
    there: the tables created from their definitions and the revision stamped, as Alembic's "building
    an up to date database from scratch" recipe does -- a tenth of the time of running every migration,
    with no Alembic to load."""
    existing = set(sa.inspect(conn).get_table_names())
    if _VERSION_TABLE.name in existing:
        return conn.execute(sa.select(_VERSION_TABLE.c.version_num)).scalars().all() == [HEAD_REVISION]
    from floe.server.db.tables import metadata

    if existing & set(metadata.tables):
        return False  # tables without a revision: not ours to guess at; Alembic will say what is wrong
    metadata.create_all(conn)
    _VERSION_TABLE.create(conn)
    conn.execute(_VERSION_TABLE.insert().values(version_num=HEAD_REVISION))
    return True
