"""No lost commits on a store that ignores conditional headers (JASMIN stands in: a proxy to moto).

8 writer processes make 10 commits each on `main`. With commit leases the branch history
holds all 80 and the data every writer's changes; with leases turned off, commits get lost,
which shows the test can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr

import floe
from floe.client.opening import LEASES_OFF_ENV

WRITERS, COMMITS = 8, 10
WRITER_SCRIPT = Path(__file__).with_name("lease_writer.py")


def _setup(client: floe.Client, name: str) -> floe.FloeRepository:
    repo = client.create_repo(name, bucket_config_nickname="jasmin")
    session = repo.writable_session("main")
    zarr.create_array(
        session.store, name="cells", shape=(WRITERS, COMMITS), chunks=(1, 1), dtype="i4", fill_value=0
    )
    session.commit("empty cells")
    return repo


def _run_writers(server, name: str, *, leases: bool) -> tuple[list[str], list[str]]:
    """Run the writers; return the snapshot ids they reported committed, and the errors of any that failed."""
    env = {**os.environ}
    env.pop(LEASES_OFF_ENV, None)
    if not leases:
        env[LEASES_OFF_ENV] = "1"
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER_SCRIPT), server.url, server.token, name, str(w), str(COMMITS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(WRITERS)
    ]
    snapshots, failures = [], []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        snapshots += out.split()
        if proc.returncode != 0:
            failures.append(err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}")
    return snapshots, failures


def _history(client: floe.Client, name: str) -> tuple[list[str], np.ndarray]:
    repo = client.get_repo(name)
    messages = [s.message for s in repo.ancestry(branch="main")]
    cells = zarr.open_array(repo.readonly_session("main").store, path="cells")[:]
    return messages, cells


@pytest.fixture
def jasmin_client(floe_server_sqlite, jasmin_like, moto, s3_bucket) -> floe.Client:
    client = floe.Client(service_uri=floe_server_sqlite.url, token=floe_server_sqlite.token)
    config = client.create_bucket_config(
        org="default",
        nickname="jasmin",
        uri=f"s3://{s3_bucket}",
        extra_config={"endpoint_url": jasmin_like, "region_name": "us-east-1"},
        auth_config={"method": "hmac", "access_key_id": "testing", "secret_access_key": "testing"},
    )
    assert config.capabilities.conditional_update is False
    return client


def test_leases_keep_every_commit(jasmin_client, floe_server_sqlite):
    repo = _setup(jasmin_client, "default/protected")
    assert repo.commit_protection == "leases"
    assert jasmin_client.get_repo_object("default/protected").commit_protection == "leases"
    snapshots, failures = _run_writers(floe_server_sqlite, "default/protected", leases=True)
    assert failures == []
    assert len(snapshots) == WRITERS * COMMITS
    messages, cells = _history(jasmin_client, "default/protected")
    writer_commits = [m for m in messages if m.startswith("writer ")]
    assert len(writer_commits) == WRITERS * COMMITS, f"lost {WRITERS * COMMITS - len(writer_commits)} commits"
    expected = np.array([[w * 1000 + i + 1 for i in range(COMMITS)] for w in range(WRITERS)])
    np.testing.assert_array_equal(cells, expected)


def test_without_leases_commits_are_lost(jasmin_client, floe_server_sqlite):
    """The control: the same writers with leases turned off lose commits on this store."""
    lost = 0
    for attempt in range(3):
        name = f"default/unprotected-{attempt}"
        _setup(jasmin_client, name)
        snapshots, failures = _run_writers(floe_server_sqlite, name, leases=False)
        repo = jasmin_client.get_repo(name)
        in_history = {s.id for s in repo.ancestry(branch="main")}
        # commits a writer was told had landed, but that the branch does not hold
        lost = len([s for s in snapshots if s not in in_history])
        print(f"attempt {attempt}: {len(snapshots)} reported, {lost} lost, {len(failures)} writers failed")
        if lost:
            break
    assert lost > 0, "no commit was lost without leases: the store must be honouring conditional writes"
