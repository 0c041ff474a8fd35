"""Pytest fixtures that run the real services (moto S3, PostgreSQL, Floe).

The stores (moto, the GCS emulator, Azurite) and PostgreSQL run as subprocesses, started once per
session. The Floe server of ``floe_server`` / ``floe_server_sqlite`` is the app served on a thread of
the test process (:func:`services.start_floe_in_process`: real HTTP on a real port, starts in a
fraction of a second); ``floe_factory`` starts ``floe serve`` processes, for tests of process
behaviour or with extra options.

Fixtures:

* ``moto`` (session): a :class:`MotoServer`.
* ``s3_bucket``: name of a fresh bucket in ``moto``.
* ``gcs_emulator`` (session), ``gcs_bucket``, ``gcs_token_endpoint`` (session): a GCS emulator, a fresh
  bucket in it, and a stand-in for Google's OAuth2 token endpoint.
* ``azurite`` (session): an :class:`AzuriteServer` (Azure Blob Storage emulator); skipped when Azurite is not
  installed, unless ``FLOE_REQUIRE_AZURITE=1`` (then the test errors instead).
* ``postgres`` (session): a :class:`PostgresServer`; skipped when PostgreSQL is not installed, unless
  ``FLOE_REQUIRE_POSTGRES=1`` (then the test errors instead).
* ``database_url``: parametrized ``sqlite`` / ``postgresql`` -- None (the server's embedded SQLite) or the
  URL of a fresh PostgreSQL database. The ``postgresql`` case carries the ``postgres`` marker.
* ``floe_factory``: a callable ``(data_dir=None, *, database_url=None, extra_args=(), env=None)`` that
  starts extra Floe server processes (``floe serve``), all stopped at teardown.
* ``floe_in_process_factory``: a callable ``(data_dir=None, *, database_url=None, env=None)`` that
  starts in-process Floe servers, all stopped at teardown.
* ``floe_server``: an :class:`InProcessFloe` on ``tmp_path/"data"`` using ``database_url`` (so: both
  backends), fresh for each test.
* ``floe_server_sqlite``: an :class:`InProcessFloe` on ``tmp_path/"data"`` using SQLite only.
* ``approve_device``: acts as a person's browser for the device sign-in (``floe auth login``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
import sqlalchemy as sa

# Make `services` importable whatever pytest's import mode (and even if tests/ becomes a package).
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from oidc_fixtures import oidc_floe  # noqa: F401  (fixture: a Floe server with a local OpenID provider)
from services import (
    AzuriteServer,
    FloeServer,
    GcsEmulator,
    GcsTokenEndpoint,
    InProcessFloe,
    MotoServer,
    PostgresServer,
    find_azurite,
    find_postgres_bindir,
    log_tail,
    start_azurite,
    start_floe,
    start_floe_in_process,
    start_gcs_emulator,
    start_gcs_token_endpoint,
    start_moto,
    start_postgres,
    unique_name,
)

# Catalog.read() runs its PostgreSQL statements in autocommit (floe.server.db.engine.read_connection):
# a write through it would commit alone, outside any transaction. Every engine in a test process (the
# in-process servers) refuses one, and the test that caused it fails even if the server hid the error.
_WRITES_ON_READS: list[str] = []


@sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
def _no_write_through_a_read_connection(conn, cursor, statement, parameters, context, executemany) -> None:
    if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE") and (
        conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    ):
        _WRITES_ON_READS.append(statement[:200])
        raise AssertionError(f"a write through Catalog.read(): {statement[:200]}")


@pytest.fixture(autouse=True)
def _check_no_write_through_a_read_connection() -> Iterator[None]:
    del _WRITES_ON_READS[:]
    yield
    assert not _WRITES_ON_READS, f"writes through Catalog.read(): {_WRITES_ON_READS}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: test runs against the PostgreSQL backend")


# The files that take longest (each runs whole in one pytest-xdist worker, --dist loadfile), longest
# first: handed out first, so the run does not end with one worker finishing a long file while the
# others wait. Measured with --durations on a 2-core machine; a file missing here only runs later.
SLOW_FILES_FIRST = (
    "test_docs.py",
    "test_access_matrix.py",
    "test_server_process.py",
    "test_open_cache.py",
    "test_cli_access.py",
    "test_signin.py",
    "test_lost_commits.py",
    "test_cli.py",
    "test_races.py",
    "test_arraylake_client.py",
    "test_leases.py",
    "test_oidc.py",
    "test_api_fuzz.py",
    "test_typing.py",
    "test_hardening.py",
    "test_arraylake_signin.py",
    "test_creation.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slowest files first (the order of tests within a file is kept)."""
    rank = {name: i for i, name in enumerate(SLOW_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Remember each phase's report on the item (``item.rep_call`` ...) so fixtures can see failures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _test_failed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "rep_call", None)
    return report is None or report.failed


# --------------------------------------------------------------------------------------------- S3


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto S3 server for the whole session."""
    server = start_moto(tmp_path_factory.mktemp("moto"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(moto: MotoServer) -> str:
    """Name of a fresh, empty bucket in the moto server."""
    return moto.create_bucket(unique_name("floe-test-"))


@pytest.fixture(scope="session")
def jasmin_like(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint of a store that ignores conditional writes, as JASMIN's does: a proxy in front of
    ``moto`` that drops If-Match / If-None-Match (``tests/dropping_proxy.py``). Buckets are moto's."""
    from services import start_header_dropping_proxy

    proxy = start_header_dropping_proxy(moto.endpoint, tmp_path_factory.mktemp("dropping-proxy"))
    try:
        yield proxy.endpoint
    finally:
        proxy.stop()


# --------------------------------------------------------------------------------------------- GCS


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsEmulator]:
    """A GCS emulator (gcp-storage-emulator, JSON API) for the whole session."""
    server = start_gcs_emulator(tmp_path_factory.mktemp("gcs"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gcs_bucket(gcs_emulator: GcsEmulator) -> str:
    """Name of a fresh, empty bucket in the GCS emulator."""
    return gcs_emulator.create_bucket(unique_name("floe-test-"))


@pytest.fixture(scope="session")
def gcs_token_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsTokenEndpoint]:
    """A stand-in for Google's OAuth2 token endpoint (issues 1-hour tokens to registered keys)."""
    server = start_gcs_token_endpoint(tmp_path_factory.mktemp("gcs-oauth"))
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------- Azure


def _azurite_unavailable(reason: str) -> NoReturn:
    if os.environ.get("FLOE_REQUIRE_AZURITE") == "1":
        pytest.fail(f"FLOE_REQUIRE_AZURITE=1 but Azurite is unavailable: {reason}", pytrace=False)
    pytest.skip(f"Azurite (Azure Blob Storage emulator) unavailable: {reason}")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """Azurite's blob service for the whole session (skipped or failed when unavailable)."""
    if find_azurite() is None:
        _azurite_unavailable(
            "not installed; run scripts/test.sh (needs node and npm), or "
            "`npm install --prefix .cache/npm azurite@3`, or set FLOE_AZURITE to the azurite-blob executable"
        )
    try:
        server = start_azurite(tmp_path_factory.mktemp("azurite"))
    except Exception as exc:
        _azurite_unavailable(f"it failed to start: {exc}")
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------- PostgreSQL


def _postgres_unavailable(reason: str) -> NoReturn:
    if os.environ.get("FLOE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"FLOE_REQUIRE_POSTGRES=1 but PostgreSQL is unavailable: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not installed: {reason}")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A private PostgreSQL cluster for the whole session (skipped or failed when unavailable)."""
    if find_postgres_bindir() is None:
        _postgres_unavailable("no initdb/postgres in `pg_config --bindir` or /usr/lib/postgresql/*/bin")
    try:
        server = start_postgres(tmp_path_factory.mktemp("postgres"))
    except Exception as exc:
        _postgres_unavailable(f"the server failed to start: {exc}")
    if server is None:
        _postgres_unavailable("running as root and there is no 'postgres' system user (or no runuser)")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], ids=["sqlite", "postgresql"]
)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the server's embedded SQLite, or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = unique_name("floe_test_")
    url = server.create_database(name)
    yield url
    # Runs after floe_server's teardown (it depends on this fixture), so the server is already gone.
    server.drop_database(name)


# --------------------------------------------------------------------------------------------- Floe


FloeFactory = Callable[..., FloeServer]


@contextlib.contextmanager
def _stopped_at_exit(request: pytest.FixtureRequest, servers: list) -> Iterator[None]:
    """Stop every server in ``servers`` afterwards; if the test failed, print the tail of each log
    (shown under "Captured stderr teardown")."""
    try:
        yield
    finally:
        for server in servers:
            server.stop()
        if _test_failed(request):
            for server in servers:
                print(f"--- {server.log_path} (tail) ---\n{log_tail(server.log_path)}", file=sys.stderr)


@pytest.fixture
def floe_factory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FloeFactory]:
    """Start Floe server processes: ``floe_factory(data_dir=None, *, database_url=None, extra_args=(),
    env=None)`` runs ``floe serve``; ``data_dir`` defaults to ``tmp_path/"data"``. All are stopped at
    teardown."""
    servers: list[FloeServer] = []

    def start(data_dir: Path | None = None, **kwargs) -> FloeServer:
        server = start_floe(data_dir if data_dir is not None else tmp_path / "data", **kwargs)
        servers.append(server)
        return server

    with _stopped_at_exit(request, servers):
        yield start


@pytest.fixture
def floe_in_process_factory(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., InProcessFloe]]:
    """Start in-process Floe servers: ``floe_in_process_factory(data_dir=None, *, database_url=None,
    env=None)``; ``data_dir`` defaults to ``tmp_path/"data"``. All are stopped at teardown."""
    servers: list[InProcessFloe] = []

    def start(data_dir: Path | None = None, **kwargs) -> InProcessFloe:
        server = start_floe_in_process(data_dir if data_dir is not None else tmp_path / "data", **kwargs)
        servers.append(server)
        return server

    with _stopped_at_exit(request, servers):
        yield start


@pytest.fixture
def floe_server(database_url: str | None, floe_in_process_factory) -> InProcessFloe:
    """A fresh in-process Floe server on ``tmp_path/"data"``, run once per database backend."""
    # database_url comes first so that it is torn down (database dropped) after the server has stopped.
    return floe_in_process_factory(database_url=database_url)


@pytest.fixture
def floe_server_sqlite(floe_in_process_factory) -> InProcessFloe:
    """A fresh in-process Floe server on ``tmp_path/"data"`` with its embedded SQLite database."""
    return floe_in_process_factory()


# --------------------------------------------------------------------------------------------- a browser


@pytest.fixture(scope="session")
def approve_device() -> Callable[..., None]:
    """Act as the person's browser for ``floe auth login``: ``approve_device(url, email, password,
    approve=True, verify=True)`` (``verify``: a CA file for https servers) opens the printed ``url`` (``/device?user_code=...``), signs in on the ``/login`` form
    it redirects to, and approves (or denies) the code, carrying the CSRF token of each form."""

    def approve(
        url: str, email: str, password: str, *, approve: bool = True, verify: str | bool = True
    ) -> None:
        from browser import form  # tests/browser.py: the forms of a page as a browser would send them

        with httpx.Client(follow_redirects=True, timeout=30, trust_env=False, verify=verify) as browser:
            page = browser.get(url)
            assert page.status_code == 200, page.text
            if page.url.path == "/login":
                fields = {**form(page, "/login")["fields"], "email": email, "password": password}
                page = browser.post(str(page.url.join("/login")), data=fields)
                assert page.status_code == 200 and page.url.path == "/device", page.text
            # the code is filled in from the URL: look it up, then approve or deny it
            page = browser.post(str(page.url.join("/device")), data=form(page, "/device")["fields"])
            assert page.status_code == 200, page.text
            fields = {**form(page, "/device")["fields"], "action": "approve" if approve else "deny"}
            done = browser.post(str(page.url.join("/device")), data=fields)
            assert done.status_code == 200, done.text
            assert ("approved" if approve else "denied") in done.text.lower(), done.text

    return approve
