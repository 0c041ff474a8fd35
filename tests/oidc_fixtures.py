"""A real OpenID Connect provider for the sign-in tests, and a Floe server that trusts it.

The provider is panva/node-oidc-provider (OpenID certified), run by ``tests/oidc_provider/server.mjs``
with one confidential client and its development login and consent pages. ``scripts/test.sh``
installs the npm package (version pinned in ``tests/oidc_provider/package.json``) into
``$FLOE_NPM_PREFIX/oidc-provider`` (default ``.cache/npm/oidc-provider``); the fixture installs it
there itself when it is missing. Tests using it are skipped only when ``node`` is not installed.

Fixtures:

* ``oidc_floe``: an :class:`OidcSetup` -- a Floe server (SQLite) configured with ``--oidc-issuer``,
  ``--oidc-client-id``, ``--oidc-client-secret-file`` and ``--oidc-name``, and the provider it trusts.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services import (
    LOCALHOST,
    REPO_ROOT,
    FloeServer,
    ServiceError,
    ServiceProcess,
    _http_ok,
    _popen_logged,
    free_port,
    wait_until,
)

PROVIDER_DIR = REPO_ROOT / "tests" / "oidc_provider"
CLIENT_ID = "floe-tests"
CLIENT_SECRET = "floe-tests-client-secret"  # a test fixture, not a secret
PROVIDER_NAME = "Test Identity Provider"


@dataclass(eq=False)
class OidcProvider(ServiceProcess):
    """oidc-provider on ``issuer`` with one client (``client_id`` / ``client_secret``)."""

    issuer: str = ""
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET


@dataclass
class OidcSetup:
    floe: FloeServer
    provider: OidcProvider


def oidc_provider_prefix() -> Path:
    """Where the npm package is installed: ``$FLOE_NPM_PREFIX/oidc-provider`` (as scripts/test.sh does)."""
    prefix = Path(os.environ.get("FLOE_NPM_PREFIX") or REPO_ROOT / ".cache/npm")
    if not prefix.is_absolute():
        prefix = REPO_ROOT / prefix
    return prefix / "oidc-provider"


def ensure_oidc_provider() -> Path:
    """The node_modules directory holding oidc-provider at the pinned version; npm-installed if missing."""
    target = oidc_provider_prefix()
    modules = target / "node_modules"
    wanted = PROVIDER_DIR / "package.json"
    installed = target / "package.json"
    if (
        (modules / "oidc-provider" / "package.json").is_file()
        and installed.is_file()
        and filecmp.cmp(wanted, installed, shallow=False)
    ):
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise ServiceError(
            f"oidc-provider is not installed in {target} and npm is missing: run scripts/test.sh"
        )
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(wanted, installed)
    done = subprocess.run(
        [npm, "install", "--prefix", str(target), "--no-audit", "--no-fund", "--loglevel=error"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not (modules / "oidc-provider").is_dir():
        installed.unlink(missing_ok=True)
        raise ServiceError(
            f"`npm install` of oidc-provider into {target} failed:\n{done.stdout}\n{done.stderr}"
        )
    return modules


def start_oidc_provider(
    log_dir: Path, *, port: int, redirect_uris: list[str], timeout: float = 30.0
) -> OidcProvider:
    """Start ``tests/oidc_provider/server.mjs`` on ``port``, logging to ``log_dir/oidc-provider-PORT.log``."""
    node = shutil.which("node")
    if node is None:
        raise ServiceError("node is not installed")
    modules = ensure_oidc_provider()
    log_path = Path(log_dir) / f"oidc-provider-{port}.log"
    cmd = [node, str(PROVIDER_DIR / "server.mjs"), "--port", str(port), "--client-id", CLIENT_ID]
    for uri in redirect_uris:
        cmd += ["--redirect-uri", uri]
    env = {**os.environ, "OIDC_PROVIDER_MODULES": str(modules), "OIDC_CLIENT_SECRET": CLIENT_SECRET}
    provider = OidcProvider(
        _popen_logged(cmd, log_path, env=env), log_path, issuer=f"http://{LOCALHOST}:{port}"
    )
    try:
        wait_until(
            lambda: _http_ok(f"{provider.issuer}/.well-known/openid-configuration"),
            timeout,
            provider.process,
            log_path,
            what="oidc-provider",
        )
    except BaseException:
        provider.stop()
        raise
    return provider


@pytest.fixture
def oidc_floe(floe_factory, tmp_path: Path) -> Iterator[OidcSetup]:
    """A Floe server whose people may sign in with a local oidc-provider (skipped without node)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the OpenID Connect tests run oidc-provider (a Node.js program)")
    port = free_port()
    issuer = f"http://{LOCALHOST}:{port}"
    secret_file = tmp_path / "oidc-client-secret"
    secret_file.write_text(CLIENT_SECRET + "\n")
    floe = floe_factory(
        extra_args=[
            "--oidc-issuer",
            issuer,
            "--oidc-client-id",
            CLIENT_ID,
            "--oidc-client-secret-file",
            str(secret_file),
            "--oidc-name",
            PROVIDER_NAME,
        ],
        env={"FLOE_DEVICE_INTERVAL_SECONDS": "1"},
    )
    provider = start_oidc_provider(tmp_path, port=port, redirect_uris=[f"{floe.url}/auth/oidc/callback"])
    try:
        yield OidcSetup(floe=floe, provider=provider)
    finally:
        provider.stop()
