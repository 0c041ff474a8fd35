"""Tokens for a test server, made in this process straight in the server's database.

:func:`admin_token` does what ``floe admin token`` does, without a Python subprocess per token (a
few seconds each on a busy machine). The command itself is tested, as a subprocess, in
``tests/test_server_process.py`` through :func:`admin_token_cli`.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

from ._base import ServiceError

if TYPE_CHECKING:
    from .server import FloeServer, InProcessFloe


def admin_token(server: FloeServer | InProcessFloe, *, org: str = "default", site_admin: bool = False) -> str:
    """A new admin token of ``org`` (created if missing), or a site-admin token, in the server's database.

    The same as ``floe admin token --org ORG [--site-admin]`` run beside the server: the org name is
    checked the same way, and the token is recorded in the audit trail as made by the operator.
    """
    from floe.models import check_name
    from floe.server.bootstrap import admin_token as make_token

    check_name(org, entity="org", max_length=64)
    return make_token(server.catalog(), org, site_admin=site_admin)


def database_args(database_url: str | None) -> list[str]:
    return ["--database-url", database_url] if database_url else []


def admin_token_cli(
    server: FloeServer | InProcessFloe, *, org: str = "default", site_admin: bool = False
) -> str:
    """A new admin token from ``python -m floe admin token`` run as a subprocess on the server's database."""
    cmd = [sys.executable, "-m", "floe", "admin", "token", "--data-dir", str(server.data_dir)]
    cmd += [*database_args(server.database_url), "--org", org, *(["--site-admin"] if site_admin else [])]
    done = subprocess.run(cmd, env=server.env, capture_output=True, text=True, timeout=60)
    token = done.stdout.strip()
    if done.returncode != 0 or not token:
        raise ServiceError(
            f"`floe admin token` failed with status {done.returncode}\n"
            f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
        )
    return token
