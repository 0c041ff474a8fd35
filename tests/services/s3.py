"""S3 for the tests: the moto server, and a proxy in front of it that drops conditional-write headers."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from ._base import LOCALHOST, TESTS_DIR, ServiceProcess, _http_ok, _popen_logged, free_port, wait_until

MOTO_ACCESS_KEY = "testing"
MOTO_SECRET_KEY = "testing"
MOTO_REGION = "us-east-1"
# IAM actions of a key pair that may list and read, but not write. moto 5.2 checks ListObjectsV2 and
# HeadObject under those names, where AWS checks s3:ListBucket and s3:GetObject, so both are granted.
S3_READ_ACTIONS = ["s3:GetObject", "s3:ListBucket", "s3:ListObjectsV2", "s3:HeadObject"]


# --------------------------------------------------------------------------------------------- moto


@dataclass(eq=False)
class MotoServer(ServiceProcess):
    """A moto S3 server on ``endpoint``; any credentials are accepted."""

    endpoint: str = ""

    def bucket_config(self, bucket: str, *, reader_key: str = "reader") -> dict[str, Any]:
        """Arguments of ``floe.Client.create_bucket_config`` (with ``org`` and ``nickname``) for a bucket
        config on this server under a fresh prefix of ``bucket``: HMAC keys, and a read-only pair
        (``reader_key`` as id and secret), so opening a repo on it vends credentials."""
        return {
            "uri": f"s3://{bucket}/{secrets.token_hex(4)}",
            "extra_config": {"endpoint_url": self.endpoint, "region_name": MOTO_REGION},
            "auth_config": {
                "method": "hmac",
                "access_key_id": MOTO_ACCESS_KEY,
                "secret_access_key": MOTO_SECRET_KEY,
                "read_access_key_id": reader_key,
                "read_secret_access_key": reader_key,
            },
        }

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
    script = TESTS_DIR / "dropping_proxy.py"
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
