"""Icechunk's local-filesystem warning: once per process, only when writing, never in colour."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import numpy as np, zarr, floe
client = floe.Client()
repo = client.create_repo("default/quiet")
session = repo.writable_session("main")
zarr.create_array(session.store, name="x", shape=(4,), dtype="i4")[:] = np.arange(4)
session.commit("one")
for _ in range(3):
    session = client.get_repo("default/quiet").writable_session("main")
    zarr.open_array(session.store, path="x")[:] = np.arange(4) + 1
    session.commit("again")
print(zarr.open_array(client.get_repo("default/quiet", read_only=True).readonly_session("main").store, path="x")[:])
"""


def _run(server, script: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("FLOE_", "ICECHUNK_"))}
    full.update(FLOE_SERVICE_URI=server.url, FLOE_TOKEN=server.token, NO_PROXY="127.0.0.1", **env)
    return subprocess.run(
        [sys.executable, "-c", script], env=full, capture_output=True, text=True, timeout=120
    )


def test_local_warning_once_plain_and_only_for_writers(floe_server_sqlite) -> None:
    done = _run(floe_server_sqlite, SCRIPT)
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert done.stdout.strip() == "[1 2 3 4]"  # nothing from Icechunk on stdout
    assert "LocalFileSystem" not in out and "\x1b[" not in out
    assert done.stderr.count("is in a local folder") == 1, done.stderr
    assert done.stderr.strip() == (
        "default/quiet is in a local folder: Icechunk's local storage is not safe for concurrent commits, "
        "so let one process commit to it at a time (object stores do not have this limit)"
    )
    only_read = (
        'import floe\nfloe.Client().get_repo("default/quiet", read_only=True).readonly_session("main")\n'
    )
    read = _run(floe_server_sqlite, only_read)
    assert read.returncode == 0 and read.stdout == "" and read.stderr == "", read.stdout + read.stderr


def test_icechunk_log_set_by_the_user_wins(floe_server_sqlite) -> None:
    done = _run(floe_server_sqlite, SCRIPT.replace("default/quiet", "default/loud"), ICECHUNK_LOG="warn")
    assert done.returncode == 0, done.stderr
    assert "LocalFileSystem storage is not safe" in done.stdout + done.stderr
