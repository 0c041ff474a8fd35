"""Start and stop the real services the test suite runs against.

Everything here is plain Python (no pytest), so the helpers can also be used from scripts or a REPL:

* :mod:`.s3` -- :func:`start_moto` (the moto S3 server), :func:`start_header_dropping_proxy`,
* :mod:`.azurite` -- :func:`start_azurite` (Azure Blob Storage emulator, a Node.js program),
* :mod:`.postgres` -- :func:`start_postgres` (a throw-away PostgreSQL cluster),
* :mod:`.gcs` -- :func:`start_gcs_emulator`, :func:`start_gcs_token_endpoint`,
* :mod:`.server` -- the Floe server: :func:`start_floe` (a ``floe serve`` process) and
  :func:`start_floe_in_process` (the app on a thread of this process),
* :mod:`.tls` -- :func:`make_tls` (a CA and a certificate for 127.0.0.1, for https servers),
* :mod:`.tokens` -- :func:`admin_token` (made in this process), :func:`admin_token_cli` (``floe admin token``).

Each returns a handle with a ``stop()`` method.  Handles that are never stopped explicitly are stopped at
interpreter exit, so a crashed test run does not leave servers behind. Tests import from the package
(``from services import X``); every name is re-exported here.
"""

from ._base import (
    _RUNNING,
    LOCALHOST,
    REPO_ROOT,
    TESTS_DIR,
    ServiceError,
    ServiceProcess,
    _http_ok,
    _popen_logged,
    _run_logged,
    _terminate,
    free_port,
    log_tail,
    unique_name,
    wait_until,
)
from .azurite import AZURITE_ACCOUNT, AZURITE_KEY, AzuriteServer, find_azurite, start_azurite
from .gcs import GcsEmulator, GcsTokenEndpoint, start_gcs_emulator, start_gcs_token_endpoint
from .postgres import PostgresServer, find_postgres_bindir, start_postgres
from .s3 import (
    MOTO_ACCESS_KEY,
    MOTO_REGION,
    MOTO_SECRET_KEY,
    S3_READ_ACTIONS,
    MotoServer,
    ProxyServer,
    start_header_dropping_proxy,
    start_moto,
)
from .server import (
    FloeServer,
    InProcessFloe,
    bootstrap_token,
    running_floe,
    running_floe_in_process,
    start_floe,
    start_floe_in_process,
)
from .tls import make_tls
from .tokens import admin_token, admin_token_cli

__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_KEY",
    "LOCALHOST",
    "MOTO_ACCESS_KEY",
    "MOTO_REGION",
    "MOTO_SECRET_KEY",
    "REPO_ROOT",
    "S3_READ_ACTIONS",
    "TESTS_DIR",
    "_RUNNING",
    "AzuriteServer",
    "FloeServer",
    "GcsEmulator",
    "GcsTokenEndpoint",
    "InProcessFloe",
    "MotoServer",
    "PostgresServer",
    "ProxyServer",
    "ServiceError",
    "ServiceProcess",
    "_http_ok",
    "_popen_logged",
    "_run_logged",
    "_terminate",
    "admin_token",
    "admin_token_cli",
    "bootstrap_token",
    "find_azurite",
    "find_postgres_bindir",
    "free_port",
    "log_tail",
    "make_tls",
    "running_floe",
    "running_floe_in_process",
    "start_azurite",
    "start_floe",
    "start_floe_in_process",
    "start_gcs_emulator",
    "start_gcs_token_endpoint",
    "start_header_dropping_proxy",
    "start_moto",
    "start_postgres",
    "unique_name",
    "wait_until",
]
