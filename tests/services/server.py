"""The Floe server for the tests: as a ``floe serve`` process, or as the app on a thread of this process.

* :func:`start_floe` / :func:`running_floe` -- ``python -m floe serve`` in its own process, for tests
  of process behaviour (signals, restarts, several workers, start-up output, ``--forwarded-allow-ips``)
  and for callers that must be outside the test process.
* :func:`start_floe_in_process` / :func:`running_floe_in_process` -- the same app (``create_app``,
  first-start bootstrap and housekeeping, as ``floe serve`` does them) served by uvicorn on a thread of
  the test process, on a real port: everything that talks HTTP (``floe.Client``, icechunk's credential
  refresh, CLI subprocesses, dask workers) works against it, and it starts in a fraction of a second
  instead of seconds. :meth:`InProcessFloe.transport` also gives an ASGI transport that calls the app
  without any socket.

Both kinds of handle have ``url``, ``token`` (an admin token of org ``default``), ``data_dir``,
``database_url``, ``env`` (with ``FLOE_CONFIG_DIR``, where the first-start site-admin token is saved),
``log_path`` / ``log_text()``, ``catalog()`` and ``stop()``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ._base import (
    _RUNNING,
    LOCALHOST,
    ServiceError,
    ServiceProcess,
    _http_ok,
    _popen_logged,
    free_port,
    log_tail,
    wait_until,
)
from .tokens import admin_token, database_args

# What ``start_floe`` adds to the environment: the test stores (moto, Azurite, the GCS emulator,
# proxies) listen on loopback, so allow it, as an operator allows the networks of their own stores.
LOOPBACK_NETWORKS = "127.0.0.0/8,::1/128"

_ENVIRON_LOCK = threading.Lock()


@contextlib.contextmanager
def _environ(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is ``env`` inside the block (Settings.from_options reads FLOE_* from it)."""
    with _ENVIRON_LOCK:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _settings(data_dir: Path, database_url: str | None, env: Mapping[str, str]) -> Any:
    """The Settings ``floe serve --data-dir DATA_DIR [--database-url URL]`` builds in environment ``env``."""
    from floe.server.settings import Settings

    with _environ(env):
        return Settings.from_options(data_dir=data_dir, database_url=database_url)


def _open_catalog(settings: Any) -> Any:
    """A catalog on the (already migrated) database of ``settings``, as ``floe admin`` opens it."""
    from floe.server.catalog import Catalog
    from floe.server.db.engine import create_engine
    from floe.server.keys import SecretBox

    engine = create_engine(settings.database_url)
    return Catalog(
        engine=engine,
        box=SecretBox(settings.secret_keys, source=settings.secret_key_file),
        policy=settings.storage_policy,
    )


def _server_env(data_dir: Path, port: int, env: Mapping[str, str] | None) -> dict[str, str]:
    config_dir = data_dir.parent / f"floe-config-{port}"
    config_dir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "FLOE_CONFIG_DIR": str(config_dir),
        "FLOE_ALLOWED_ENDPOINT_NETWORKS": LOOPBACK_NETWORKS,
        **(env or {}),
    }


# --------------------------------------------------------------------------------------------- a process


@dataclass(eq=False)
class FloeServer(ServiceProcess):
    """A running ``floe serve`` with an admin token for org ``default``."""

    url: str = ""
    token: str = ""
    data_dir: Path = field(default_factory=Path)
    database_url: str | None = None
    env: dict[str, str] = field(default_factory=dict, repr=False)
    _catalog: Any = field(default=None, repr=False)

    def catalog(self) -> Any:
        """A catalog on the server's database, opened in this process (as ``floe admin`` opens it)."""
        if self._catalog is None:
            self._catalog = _open_catalog(_settings(self.data_dir, self.database_url, self.env))
        return self._catalog

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        if self._catalog is not None:
            self._catalog.engine.dispose()
            self._catalog = None


def start_floe(
    data_dir: Path,
    *,
    database_url: str | None = None,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    tls: tuple[Path, Path, Path] | None = None,
) -> FloeServer:
    """Start ``python -m floe serve`` on a free port and make an admin token of org ``default``.

    The log goes to ``data_dir.parent/floe-PORT.log`` and ``FLOE_CONFIG_DIR`` points at a fresh
    ``data_dir.parent/floe-config-PORT`` (both overridable through ``env``). Waits up to ``timeout``
    seconds for ``GET /health`` to return 200 (over https with ``tls``: a certificate, its key and the CA
    file that signed it) and, with ``--workers N`` in ``extra_args``, for all N processes to start;
    then makes the token in this process, straight in the database (:func:`admin_token`, what
    ``floe admin token --org default`` does).
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = data_dir.parent / f"floe-{port}.log"
    full_env = _server_env(data_dir, port, env)
    cmd = [sys.executable, "-m", "floe", "serve", "--host", LOCALHOST, "--port", str(port)]
    cmd += ["--data-dir", str(data_dir), *database_args(database_url), *extra_args]
    verify: str | bool = True
    if tls is not None:
        cmd += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
        verify = str(tls[2])
    server = FloeServer(
        _popen_logged(cmd, log_path, env=full_env),
        log_path,
        url=f"{'https' if tls else 'http'}://{LOCALHOST}:{port}",
        data_dir=data_dir,
        database_url=database_url,
        env=full_env,
    )
    try:
        wait_until(
            lambda: _http_ok(f"{server.url}/health", verify=verify),
            timeout,
            server.process,
            log_path,
            what="floe server",
        )
        workers = _workers(extra_args)
        if workers > 1:  # /health answers once one process is up: wait for all of them
            wait_until(
                lambda: server.log_text().count("Application startup complete") >= workers,
                timeout,
                server.process,
                log_path,
                what=f"all {workers} floe server processes",
            )
        server.token = admin_token(server)
    except BaseException:
        server.stop()
        raise
    return server


def _workers(extra_args: Sequence[str]) -> int:
    """The ``--workers N`` of a ``floe serve`` command line (1 without one)."""
    args = list(extra_args)
    for i, arg in enumerate(args):
        if arg == "--workers" and i + 1 < len(args):
            return int(args[i + 1])
        if arg.startswith("--workers="):
            return int(arg.split("=", 1)[1])
    return 1


@contextlib.contextmanager
def running_floe(base: Path, **kwargs) -> Iterator[FloeServer]:
    """A Floe server process with its data under ``base``, stopped afterwards (its log tail printed to stderr)."""
    server = start_floe(base / "data", **kwargs)
    try:
        yield server
    finally:
        server.stop()
        print(f"--- {server.log_path} (tail) ---\n{log_tail(server.log_path)}", file=sys.stderr)


# --------------------------------------------------------------------------------------------- in this process


class _ServerLog(logging.Handler):
    """Appends the records of the server's threads to its log file (uvicorn's access and error logs,
    ``floe.*`` warnings), as ``floe serve`` writes them to its stdout. Records of the test's own
    (main) thread are left out once the server has started."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.INFO)
        self.path = path
        self.started = False
        self.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if self.started and record.thread == threading.main_thread().ident:
            return
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        with self.lock_file(), open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    @contextlib.contextmanager
    def lock_file(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def write(self, text: str) -> None:
        with self.lock_file(), open(self.path, "a", encoding="utf-8") as fh:
            fh.write(text)


class SyncASGITransport(httpx.BaseTransport):
    """A sync ``httpx`` transport that calls an ASGI app in this process (each request on an event loop
    of its own, bodies buffered), like ``httpx.ASGITransport`` does for async clients."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        import anyio

        body = request.read()
        buffered = httpx.Request(request.method, request.url, headers=request.headers, content=body)

        async def call() -> httpx.Response:
            response = await self._inner.handle_async_request(buffered)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return anyio.run(call)


_UVICORN_LOGGERS = ("uvicorn.error", "uvicorn.access")


@dataclass(eq=False)
class InProcessFloe:
    """The Floe app served by uvicorn on a thread of the test process, with an admin token of ``default``."""

    url: str
    data_dir: Path
    database_url: str | None
    env: dict[str, str] = field(repr=False)
    log_path: Path
    app: Any = field(repr=False)
    settings: Any = field(repr=False)
    token: str = ""
    _server: Any = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _log: _ServerLog | None = field(default=None, repr=False)
    _sock: socket.socket | None = field(default=None, repr=False)

    def catalog(self) -> Any:
        """The app's own catalog (its database engine)."""
        return self.app.state.catalog

    def log_text(self) -> str:
        """The server's log so far: start-up lines, access log, warnings."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport that calls the app directly, without a socket (for ``httpx.Client`` or
        ``floe.Client(..., transport=...)``)."""
        return SyncASGITransport(self.app)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An httpx async transport that calls the app directly (for ``floe.AsyncClient(..., transport=...)``)."""
        return httpx.ASGITransport(app=self.app)

    def stop(self, timeout: float = 15.0) -> None:
        """Shut uvicorn down (graceful, then forced), close the database engine. Idempotent."""
        _RUNNING.discard(self)
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout)
            self._server = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._log is not None:
            for name in ("", *_UVICORN_LOGGERS):
                logging.getLogger(name).removeHandler(self._log)
            self._log = None
        with contextlib.suppress(Exception):
            self.app.state.catalog.engine.dispose()


def start_floe_in_process(
    data_dir: Path,
    *,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> InProcessFloe:
    """Serve the Floe app on a thread of this process, on a free port of 127.0.0.1.

    Does what ``floe serve --data-dir DATA_DIR [--database-url URL]`` does before serving -- settings
    from options and ``FLOE_*`` variables (``env`` adds to the environment, as for :func:`start_floe`),
    ``create_app`` (migrating the database), first-start bootstrap (org ``default``, bucket config
    ``local``, the site-admin token saved to ``FLOE_CONFIG_DIR/config.toml``), housekeeping -- then
    serves it with uvicorn and makes an admin token of ``default``. The log goes to
    ``data_dir.parent/floe-PORT.log``.
    """
    import tomli_w
    import uvicorn

    from floe.server.app import create_app
    from floe.server.bootstrap import bootstrap, housekeeping
    from floe.server.db.engine import describe_url

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOCALHOST, 0))
    port = sock.getsockname()[1]
    url = f"http://{LOCALHOST}:{port}"
    full_env = _server_env(data_dir, port, env)
    log_path = data_dir.parent / f"floe-{port}.log"
    log = _ServerLog(log_path)
    for name in ("", *_UVICORN_LOGGERS):
        logging.getLogger(name).addHandler(log)
    for name in _UVICORN_LOGGERS:  # uvicorn's loggers only propagate to the handler above
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        settings = _settings(data_dir, database_url, full_env)
        app = create_app(settings)
        first_token = bootstrap(app.state.catalog, settings)
        housekeeping(app.state.catalog)
    except BaseException:
        sock.close()
        for name in ("", *_UVICORN_LOGGERS):
            logging.getLogger(name).removeHandler(log)
        raise
    log.write(f"Floe catalog: {describe_url(settings.database_url)}\nData dir:     {settings.data_dir}\n")
    if first_token:
        config = Path(full_env["FLOE_CONFIG_DIR"]) / "config.toml"
        config.write_text(
            tomli_w.dumps({"service_uri": url, "token": first_token, "data_dir": str(data_dir)})
        )
        config.chmod(0o600)
        log.write("Created org default with bucket config local (its default).\n")
    log.write(f"Serving on {url} (in the test process)\n")
    config = uvicorn.Config(app, log_config=None, log_level="info", timeout_graceful_shutdown=5)
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(
        target=uvicorn_server.run, kwargs={"sockets": [sock]}, name=f"floe-{port}", daemon=True
    )
    server = InProcessFloe(
        url=url,
        data_dir=data_dir,
        database_url=database_url,
        env=full_env,
        log_path=log_path,
        app=app,
        settings=settings,
        _server=uvicorn_server,
        _thread=thread,
        _log=log,
        _sock=sock,
    )
    _RUNNING.add(server)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not uvicorn_server.started:
            if not thread.is_alive():
                raise ServiceError(f"in-process floe server exited before starting\n{log_tail(log_path)}")
            if time.monotonic() > deadline:
                raise ServiceError(f"in-process floe server did not start within {timeout:.0f} s")
            time.sleep(0.01)
        log.started = True
        server.token = admin_token(server)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def running_floe_in_process(base: Path, **kwargs) -> Iterator[InProcessFloe]:
    """An in-process Floe server with its data under ``base``, stopped afterwards (log tail to stderr)."""
    server = start_floe_in_process(base / "data", **kwargs)
    try:
        yield server
    finally:
        server.stop()
        print(f"--- {server.log_path} (tail) ---\n{log_tail(server.log_path)}", file=sys.stderr)


def bootstrap_token(server: FloeServer | InProcessFloe) -> str:
    """The site-admin token that the server saved to its config file on first start."""
    with (Path(server.env["FLOE_CONFIG_DIR"]) / "config.toml").open("rb") as fh:
        return tomllib.load(fh)["token"]
