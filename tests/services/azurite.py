"""Azurite, the Azure Blob Storage emulator (a Node.js program)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ._base import (
    LOCALHOST,
    REPO_ROOT,
    ServiceError,
    ServiceProcess,
    _http_ok,
    _popen_logged,
    free_port,
    unique_name,
    wait_until,
)

# Azurite's one built-in account and its published development key (not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


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
