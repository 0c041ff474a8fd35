"""Start and stop the real services the test suite runs against.

Everything here is plain Python (no pytest), so the helpers can also be used from scripts or a REPL:

* :func:`start_moto` -- the moto S3 server,
* :func:`start_azurite` -- Azurite, the Azure Blob Storage emulator (a Node.js program),
* :func:`start_postgres` -- a throw-away PostgreSQL cluster,
* :func:`start_floe` -- the Floe server itself.

Each returns a handle with a ``stop()`` method.  Handles that are never stopped explicitly are stopped at
interpreter exit, so a crashed test run does not leave servers behind.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import httpx
import psycopg
from botocore.config import Config
from psycopg import sql

LOCALHOST = "127.0.0.1"
MOTO_ACCESS_KEY = "testing"
MOTO_SECRET_KEY = "testing"
MOTO_REGION = "us-east-1"
# Azurite's one built-in account and its published development key (not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
REPO_ROOT = Path(__file__).resolve().parent.parent

# Handles that are still running; stopped at interpreter exit as a last resort.
_RUNNING: set[ServiceProcess] = set()


class ServiceError(RuntimeError):
    """A service failed to start (the message includes the tail of its log)."""


# --------------------------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is currently free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


def log_tail(log_path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a log file ('' if it does not exist)."""
    try:
        text = log_path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    proc: subprocess.Popen | None = None,
    log_path: Path | None = None,
    *,
    what: str = "service",
    interval: float = 0.1,
) -> None:
    """Poll ``predicate`` until it returns true.

    Raises :class:`ServiceError` (with the tail of ``log_path``) if ``timeout`` seconds pass first, or as
    soon as ``proc`` exits.
    """

    def fail(reason: str) -> ServiceError:
        tail = log_tail(log_path) if log_path is not None else ""
        where = f" (log: {log_path})" if log_path is not None else ""
        return ServiceError(f"{what} {reason}{where}" + (f"\n--- log tail ---\n{tail}" if tail else ""))

    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise fail(f"exited with status {proc.returncode} before becoming ready")
        if predicate():
            return
        if time.monotonic() > deadline:
            raise fail(f"did not become ready within {timeout:.0f} s")
        time.sleep(interval)


def _http_ok(url: str, *, any_status: bool = False) -> bool:
    """True if ``url`` answers (with 200, or with anything when ``any_status``)."""
    try:
        # trust_env=False: never route 127.0.0.1 through an HTTP(S)_PROXY from the environment.
        response = httpx.get(url, timeout=2.0, trust_env=False)
    except httpx.HTTPError:
        return False
    return any_status or response.status_code == 200


def _popen_logged(cmd: Sequence[str], log_path: Path, **kwargs) -> subprocess.Popen:
    """Start ``cmd`` with stdout and stderr appended to ``log_path`` (after a ``$ cmd`` line)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(map(str, cmd))}\n".encode())
        log.flush()
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, **kwargs)


def _run_logged(cmd: Sequence[str], log_path: Path, timeout: float, **kwargs) -> int:
    """Run ``cmd`` to completion like :func:`_popen_logged`; return its exit status."""
    proc = _popen_logged(cmd, log_path, **kwargs)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


@dataclass(eq=False)
class ServiceProcess:
    """A running subprocess that logs to ``log_path``."""

    process: subprocess.Popen
    log_path: Path

    def __post_init__(self) -> None:
        _RUNNING.add(self)

    def log_text(self) -> str:
        """The whole log of the service so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process: SIGTERM, wait up to ``timeout`` seconds, then SIGKILL. Idempotent."""
        _RUNNING.discard(self)
        _terminate(self.process, timeout)


def _terminate(proc: subprocess.Popen, timeout: float, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@atexit.register
def _stop_all() -> None:
    for service in list(_RUNNING):
        with contextlib.suppress(Exception):
            service.stop()


# --------------------------------------------------------------------------------------------- moto


@dataclass(eq=False)
class MotoServer(ServiceProcess):
    """A moto S3 server on ``endpoint``; any credentials are accepted."""

    endpoint: str = ""

    def s3_client(self):
        """A boto3 S3 client for this server (dummy keys, path-style addressing)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=MOTO_ACCESS_KEY,
            aws_secret_access_key=MOTO_SECRET_KEY,
            region_name=MOTO_REGION,
            config=Config(s3={"addressing_style": "path"}, proxies={}),
        )

    def create_bucket(self, name: str) -> str:
        """Create bucket ``name`` and return the name."""
        self.s3_client().create_bucket(Bucket=name)
        return name


def start_moto(
    log_dir: Path, timeout: float = 30.0, *, unauthenticated_requests: int | None = None
) -> MotoServer:
    """Start ``python -m moto.server`` on a free port, logging to ``log_dir/moto-PORT.log``.

    With ``unauthenticated_requests`` moto enforces IAM (keys and their policies) after that many
    requests, which the caller spends on setting up users (see :func:`enforce_iam`).
    """
    port = free_port()
    log_path = Path(log_dir) / f"moto-{port}.log"
    cmd = [sys.executable, "-m", "moto.server", "-H", LOCALHOST, "-p", str(port)]
    env = None
    if unauthenticated_requests is not None:
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(unauthenticated_requests)}
    server = MotoServer(
        _popen_logged(cmd, log_path, env=env), log_path, endpoint=f"http://{LOCALHOST}:{port}"
    )
    try:
        wait_until(
            lambda: _http_ok(f"{server.endpoint}/moto-api/", any_status=True),
            timeout,
            server.process,
            log_path,
            what="moto server",
        )
    except BaseException:
        server.stop()
        raise
    return server


# --------------------------------------------------------------------------------------------- a store without conditional writes


@dataclass(eq=False)
class ProxyServer(ServiceProcess):
    """``tests/dropping_proxy.py`` on ``endpoint``: S3 in front of ``upstream``, minus If-Match / If-None-Match."""

    endpoint: str = ""
    upstream: str = ""

    def dropped(self) -> list[str]:
        """The ``dropped <header> on <METHOD> <path>`` lines logged so far."""
        return [line for line in self.log_text().splitlines() if line.startswith("dropped ")]


def start_header_dropping_proxy(upstream: str, log_dir: Path, timeout: float = 30.0) -> ProxyServer:
    """Start a reverse proxy to ``upstream`` that drops conditional-write headers (like JASMIN's store
    ignores them), logging to ``log_dir/dropping-proxy-PORT.log``."""
    port = free_port()
    log_path = Path(log_dir) / f"dropping-proxy-{port}.log"
    script = Path(__file__).with_name("dropping_proxy.py")
    cmd = [sys.executable, str(script), "--upstream", upstream, "--host", LOCALHOST, "--port", str(port)]
    server = ProxyServer(
        _popen_logged(cmd, log_path), log_path, endpoint=f"http://{LOCALHOST}:{port}", upstream=upstream
    )
    try:
        wait_until(
            lambda: _http_ok(f"{server.endpoint}/", any_status=True),
            timeout,
            server.process,
            log_path,
            what="header-dropping proxy",
        )
    except BaseException:
        server.stop()
        raise
    return server


# --------------------------------------------------------------------------------------------- azurite


def find_azurite() -> str | None:
    """The Azurite blob-service executable, or None.

    Looked for in order: ``$FLOE_AZURITE`` (the executable, or a directory holding it), the npm
    prefix ``$FLOE_NPM_PREFIX`` (default ``.cache/npm`` in the repo, where ``scripts/test.sh``
    installs it), then ``azurite-blob`` / ``azurite`` on ``PATH``. Azurite needs ``node``.
    """
    candidates: list[Path] = []
    given = os.environ.get("FLOE_AZURITE")
    if given:
        path = Path(given)
        candidates += (
            [path / "azurite-blob", path / "node_modules/.bin/azurite-blob"] if path.is_dir() else [path]
        )
    prefix = Path(os.environ.get("FLOE_NPM_PREFIX") or REPO_ROOT / ".cache/npm")
    if not prefix.is_absolute():
        prefix = REPO_ROOT / prefix
    candidates.append(prefix / "node_modules/.bin/azurite-blob")
    candidates += [Path(p) for p in (shutil.which("azurite-blob"), shutil.which("azurite")) if p]
    return next((str(c) for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


@dataclass(eq=False)
class AzuriteServer(ServiceProcess):
    """Azurite's blob service on ``blob_endpoint`` (path-style: ``http://127.0.0.1:PORT/devstoreaccount1``)."""

    port: int = 0
    account_name: str = AZURITE_ACCOUNT
    account_key: str = AZURITE_KEY

    @property
    def blob_endpoint(self) -> str:
        return f"http://{LOCALHOST}:{self.port}/{self.account_name}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};AccountKey={self.account_key};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    def service_client(self):
        """An azure-storage-blob ``BlobServiceClient`` with the account key."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(
            self.blob_endpoint,
            credential={"account_name": self.account_name, "account_key": self.account_key},
        )

    def create_container(self, name: str | None = None, *, public: bool = False) -> str:
        """Create container ``name`` (default: a fresh unique name) and return the name."""
        name = name or unique_name("floe-test-")
        self.service_client().create_container(name, public_access="container" if public else None)
        return name

    def list_blobs(self, container: str, prefix: str = "") -> list[str]:
        """Names of the blobs in ``container`` that start with ``prefix``."""
        client = self.service_client().get_container_client(container)
        return list(client.list_blob_names(name_starts_with=prefix or None))

    def container_sas(self, container: str, permission: str = "racwdl", hours: float = 2.0) -> str:
        """A container SAS signed with the account key (``permission`` in Azure's letters)."""
        import datetime as dt

        from azure.storage.blob import generate_container_sas

        now = dt.datetime.now(dt.UTC)
        return generate_container_sas(
            self.account_name,
            container,
            account_key=self.account_key,
            permission=permission,
            start=now - dt.timedelta(minutes=5),
            expiry=now + dt.timedelta(hours=hours),
        )


def start_azurite(log_dir: Path, timeout: float = 60.0, *, executable: str | None = None) -> AzuriteServer:
    """Start Azurite's blob service on a free port, in memory, logging to ``log_dir/azurite-PORT.log``.

    Raises :class:`ServiceError` if Azurite cannot be found (see :func:`find_azurite`) or does not start.
    """
    executable = executable or find_azurite()
    if executable is None:
        raise ServiceError(
            "Azurite not found: run scripts/test.sh, or `npm install --prefix .cache/npm azurite@3`, "
            "or set FLOE_AZURITE to the azurite-blob executable"
        )
    port = free_port()
    log_dir = Path(log_dir)
    workspace = log_dir / f"azurite-{port}"
    workspace.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"azurite-{port}.log"
    cmd = [executable, "--blobHost", LOCALHOST, "--blobPort", str(port)]
    if Path(executable).name == "azurite":  # the all-services launcher: keep queue and table off fixed ports
        cmd += ["--queueHost", LOCALHOST, "--queuePort", str(free_port())]
        cmd += ["--tableHost", LOCALHOST, "--tablePort", str(free_port())]
    # in memory (Azurite refuses --location with it); the workspace is only its working directory
    cmd += ["--inMemoryPersistence", "--skipApiVersionCheck", "--loose"]
    cmd += ["--disableTelemetry"]
    server = AzuriteServer(_popen_logged(cmd, log_path, cwd=workspace), log_path, port=port)
    try:
        wait_until(
            lambda: _http_ok(f"{server.blob_endpoint}?comp=list", any_status=True),
            timeout,
            server.process,
            log_path,
            what="azurite",
        )
    except BaseException:
        server.stop()
        raise
    return server


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


# --------------------------------------------------------------------------------------------- GCS emulator


@dataclass(eq=False)
class GcsEmulator(ServiceProcess):
    """``gcp-storage-emulator`` (in memory) on ``endpoint``: the GCS JSON API, any credentials accepted.

    It does not enforce ``ifGenerationMatch`` preconditions and does not serve the XML API's
    listing, HEAD or DELETE, which Icechunk's GCS client (Rust ``object_store``) uses.
    """

    endpoint: str = ""

    def create_bucket(self, name: str) -> str:
        """Create bucket ``name`` and return the name."""
        response = httpx.post(f"{self.endpoint}/storage/v1/b", json={"name": name}, trust_env=False)
        response.raise_for_status()
        return name

    def list_keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Names of the objects in ``bucket`` under ``prefix``."""
        response = httpx.get(
            f"{self.endpoint}/storage/v1/b/{bucket}/o", params={"prefix": prefix}, trust_env=False
        )
        response.raise_for_status()
        return sorted(item["name"] for item in response.json().get("items", []))

    def put(self, bucket: str, name: str, data: bytes) -> None:
        """Store one object (a plain media upload)."""
        response = httpx.post(
            f"{self.endpoint}/upload/storage/v1/b/{bucket}/o",
            params={"uploadType": "media", "name": name},
            content=data,
            trust_env=False,
        )
        response.raise_for_status()


def start_gcs_emulator(log_dir: Path, timeout: float = 30.0) -> GcsEmulator:
    """Start ``python -m gcp_storage_emulator start --in-memory`` on a free port (log in ``log_dir``)."""
    port = free_port()
    log_path = Path(log_dir) / f"gcs-emulator-{port}.log"
    cmd = [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", LOCALHOST, "--port", str(port)]
    cmd.append("--in-memory")
    server = GcsEmulator(_popen_logged(cmd, log_path), log_path, endpoint=f"http://{LOCALHOST}:{port}")
    try:
        wait_until(
            lambda: _http_ok(f"{server.endpoint}/"), timeout, server.process, log_path, what="GCS emulator"
        )
    except BaseException:
        server.stop()
        raise
    return server


# --------------------------------------------------------------------------------------------- OAuth token endpoint

# Stands in for Google's OAuth2 server (https://oauth2.googleapis.com): POST /token takes the
# RS256-signed JWT a service account sends (grant type jwt-bearer), checks its signature against
# the registered public keys, and answers {"access_token", "expires_in", "token_type"};
# GET /tokeninfo?access_token=... says whose token it is and for which scope, like Google's.
_TOKEN_ENDPOINT_SRC = r"""
import base64, json, secrets, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

PORT, KEYS_PATH, EXPIRES_IN = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
TOKENS, LOCK = {}, threading.Lock()
GOOGLE = "https://oauth2.googleapis.com/token"


def b64(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check(assertion, token_url):
    head, body, sig = assertion.split(".")
    header, claims = json.loads(b64(head)), json.loads(b64(body))
    with open(KEYS_PATH) as fh:
        known = json.load(fh).get(header.get("kid", ""))
    if header.get("alg") != "RS256" or known is None:
        return None, "Invalid JWT: unknown key id"
    public = serialization.load_pem_public_key(known["public_key"].encode())
    try:
        public.verify(b64(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return None, "Invalid JWT Signature."
    now = time.time()
    # google-auth always sends Google's token URL as the audience, whatever the key's token_uri
    if claims.get("iss") != known["client_email"] or claims.get("aud") not in (token_url, GOOGLE):
        return None, "Invalid JWT: wrong iss or aud"
    if not claims.get("iat", 0) - 60 <= now < claims.get("exp", 0) or not claims.get("scope"):
        return None, "Invalid JWT: expired, not yet valid, or no scope"
    return claims, None


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/health":
            return self.reply(200, {"ok": True})
        if url.path != "/tokeninfo":
            return self.reply(404, {"error": "not_found"})
        token = parse_qs(url.query).get("access_token", [""])[0]
        with LOCK:
            info = TOKENS.get(token)
        if info is None or info["exp"] <= time.time():
            return self.reply(400, {"error": "invalid_token", "error_description": "Invalid Value"})
        remaining = str(int(info["exp"] - time.time()))
        self.reply(200, {"azp": info["email"], "email": info["email"], "scope": info["scope"], "expires_in": remaining})

    def do_POST(self):
        if urlparse(self.path).path != "/token":
            return self.reply(404, {"error": "not_found"})
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return self.reply(400, {"error": "unsupported_grant_type"})
        try:
            claims, problem = check(form.get("assertion", [""])[0], f"http://127.0.0.1:{PORT}/token")
        except (ValueError, KeyError):
            claims, problem = None, "Invalid JWT"
        if claims is None:
            print(f"refused: {problem}", flush=True)
            return self.reply(400, {"error": "invalid_grant", "error_description": problem})
        token = "ya29.test-" + secrets.token_urlsafe(24)
        with LOCK:
            TOKENS[token] = {"email": claims["iss"], "scope": claims["scope"], "exp": time.time() + EXPIRES_IN}
        print(f"issued a token for {claims['iss']} scope {claims['scope']}", flush=True)
        self.reply(200, {"access_token": token, "expires_in": EXPIRES_IN, "token_type": "Bearer"})

    def log_message(self, fmt, *args):
        print(fmt % args, flush=True)


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
"""


@dataclass(eq=False)
class GcsTokenEndpoint(ServiceProcess):
    """A stand-in for Google's OAuth2 token endpoint at ``token_uri``; keys are registered in ``keys_path``."""

    url: str = ""
    keys_path: Path = field(default_factory=Path)
    expires_in: int = 3600

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def service_account_key(self, client_email: str, *, register: bool = True) -> dict[str, str]:
        """A new service-account key file (dict) whose ``token_uri`` is this endpoint.

        With ``register`` its public key is known here, so tokens are issued for it; without,
        the endpoint refuses it as Google refuses a deleted key.
        """
        import json

        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_id = uuid.uuid4().hex
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        if register:
            public = private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            keys = json.loads(self.keys_path.read_text())
            keys[key_id] = {"client_email": client_email, "public_key": public.decode()}
            staged = self.keys_path.with_suffix(".tmp")
            staged.write_text(json.dumps(keys))
            staged.replace(self.keys_path)
        return {
            "type": "service_account",
            "project_id": "floe-test",
            "private_key_id": key_id,
            "private_key": pem,
            "client_email": client_email,
            "client_id": str(uuid.uuid4().int)[:21],
            "token_uri": self.token_uri,
        }

    def token_info(self, access_token: str) -> dict | None:
        """What the endpoint knows of a token it issued (``email``, ``scope``, ``expires_in``), or None."""
        response = httpx.get(f"{self.url}/tokeninfo", params={"access_token": access_token}, trust_env=False)
        return response.json() if response.status_code == 200 else None


def start_gcs_token_endpoint(
    log_dir: Path, *, expires_in: int = 3600, timeout: float = 30.0
) -> GcsTokenEndpoint:
    """Start the OAuth2 token endpoint stand-in on a free port; tokens live ``expires_in`` seconds."""
    port = free_port()
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    keys_path = log_dir / f"gcs-token-keys-{port}.json"
    keys_path.write_text("{}")
    log_path = log_dir / f"gcs-token-endpoint-{port}.log"
    cmd = [sys.executable, "-c", _TOKEN_ENDPOINT_SRC, str(port), str(keys_path), str(expires_in)]
    server = GcsTokenEndpoint(
        _popen_logged(cmd, log_path),
        log_path,
        url=f"http://{LOCALHOST}:{port}",
        keys_path=keys_path,
        expires_in=expires_in,
    )
    try:
        wait_until(
            lambda: _http_ok(f"{server.url}/health"), timeout, server.process, log_path, what="token endpoint"
        )
    except BaseException:
        server.stop()
        raise
    return server


# --------------------------------------------------------------------------------------------- floe


@dataclass(eq=False)
class FloeServer(ServiceProcess):
    """A running ``floe serve`` with an admin token for org ``default``."""

    url: str = ""
    token: str = ""
    data_dir: Path = field(default_factory=Path)
    database_url: str | None = None
    env: dict[str, str] = field(default_factory=dict, repr=False)


def _database_args(database_url: str | None) -> list[str]:
    return ["--database-url", database_url] if database_url else []


def start_floe(
    data_dir: Path,
    *,
    database_url: str | None = None,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> FloeServer:
    """Start ``python -m floe serve`` on a free port and obtain an admin token.

    The log goes to ``data_dir.parent/floe-PORT.log`` and ``FLOE_CONFIG_DIR`` points at a fresh
    ``data_dir.parent/floe-config-PORT`` (both overridable through ``env``). Waits up to ``timeout``
    seconds for ``GET /health`` to return 200, then runs ``floe admin token --org default``.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config_dir = data_dir.parent / f"floe-config-{port}"
    config_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"floe-{port}.log"
    # The test stores (moto, Azurite, the GCS emulator, proxies) listen on loopback: allow it, as an
    # operator allows the networks of their own stores.
    full_env = {
        **os.environ,
        "FLOE_CONFIG_DIR": str(config_dir),
        "FLOE_ALLOWED_ENDPOINT_NETWORKS": "127.0.0.0/8,::1/128",
        **(env or {}),
    }
    db_args = _database_args(database_url)

    cmd = [sys.executable, "-m", "floe", "serve", "--host", LOCALHOST, "--port", str(port)]
    cmd += ["--data-dir", str(data_dir), *db_args, *extra_args]
    server = FloeServer(
        _popen_logged(cmd, log_path, env=full_env),
        log_path,
        url=f"http://{LOCALHOST}:{port}",
        data_dir=data_dir,
        database_url=database_url,
        env=full_env,
    )
    try:
        wait_until(
            lambda: _http_ok(f"{server.url}/health"), timeout, server.process, log_path, what="floe server"
        )
        server.token = admin_token(server)
    except BaseException:
        server.stop()
        raise
    return server


def admin_token(server: FloeServer, *, org: str = "default", site_admin: bool = False) -> str:
    """A new admin token of ``org`` (or a site-admin token) from ``floe admin token`` on the server's database."""
    cmd = [sys.executable, "-m", "floe", "admin", "token", "--data-dir", str(server.data_dir)]
    cmd += [*_database_args(server.database_url), "--org", org, *(["--site-admin"] if site_admin else [])]
    done = subprocess.run(cmd, env=server.env, capture_output=True, text=True, timeout=60)
    token = done.stdout.strip()
    if done.returncode != 0 or not token:
        raise ServiceError(
            f"`floe admin token` failed with status {done.returncode}\n"
            f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
        )
    return token


@contextlib.contextmanager
def running_floe(base: Path, **kwargs) -> Iterator[FloeServer]:
    """A Floe server with its data under ``base``, stopped afterwards (its log tail printed to stderr)."""
    server = start_floe(base / "data", **kwargs)
    try:
        yield server
    finally:
        server.stop()
        print(f"--- {server.log_path} (tail) ---\n{log_tail(server.log_path)}", file=sys.stderr)


def bootstrap_token(server: FloeServer) -> str:
    """The site-admin token that ``floe serve`` wrote to its config file on first start."""
    with (Path(server.env["FLOE_CONFIG_DIR"]) / "config.toml").open("rb") as fh:
        return tomllib.load(fh)["token"]


def unique_name(prefix: str) -> str:
    """``prefix`` followed by 8 random lower-case hex digits."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


__all__ = [
    "AzuriteServer",
    "FloeServer",
    "MotoServer",
    "PostgresServer",
    "ServiceError",
    "ServiceProcess",
    "admin_token",
    "bootstrap_token",
    "find_azurite",
    "find_postgres_bindir",
    "free_port",
    "log_tail",
    "running_floe",
    "start_azurite",
    "start_floe",
    "start_moto",
    "start_postgres",
    "unique_name",
    "wait_until",
]
