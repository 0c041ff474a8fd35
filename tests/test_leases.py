"""Commit leases: the catalog routes, expiry and takeover, several server processes, a killed holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from floe.client.leases import LeaseClient


def _http(server, token: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"authorization": f"Bearer {token or server.token}"}, timeout=30
    )


@pytest.fixture
def repo_and_member(floe_server):
    with _http(floe_server) as admin:
        assert admin.post("/orgs/default/repos", json={"name": "leased"}).status_code == 201
        member = admin.post("/orgs/default/api-clients", json={"name": "writer", "role": "member"}).json()[
            "token"
        ]
    return floe_server, member


def test_lease_routes(repo_and_member):
    server, member = repo_and_member
    base = "/repos/default/leased/leases"
    with _http(server) as admin, _http(server, member) as writer:
        held = writer.post(f"{base}/branch.main", json={"holder": "job 1", "ttl_seconds": 60})
        assert held.status_code == 201
        lease = held.json()
        refused = admin.post(f"{base}/branch.main", json={"holder": "job 2"})
        assert (
            refused.status_code == 409
            and "job 1" in refused.json()["detail"]
            and "writer" in refused.json()["detail"]
        )
        assert admin.post(f"{base}/branch.dev", json={"holder": "other branch"}).status_code == 201
        listed = {item["ref"]: item["holder"] for item in writer.get(base).json()}
        assert listed == {"branch.main": "job 1", "branch.dev": "other branch"}
        renewed = writer.put(
            f"{base}/branch.main/{lease['lease_id']}", json={"holder": "job 1", "ttl_seconds": 120}
        )
        assert renewed.status_code == 200 and renewed.json()["expires"] > lease["expires"]
        assert writer.delete(f"{base}/branch.main/{lease['lease_id']}").status_code == 204
        assert admin.post(f"{base}/branch.main", json={"holder": "job 2"}).status_code == 201
        assert writer.delete(f"{base}/branch.main").status_code == 403  # only repo admins break leases
        broken = admin.delete(f"{base}/branch.main")
        assert broken.status_code == 200 and broken.json()["holder"] == "job 2"
        assert admin.delete(f"{base}/branch.main").status_code == 404
        bad = admin.post(f"{base}/refs..main", json={"holder": "x"})
        assert bad.status_code == 422 and "branch.NAME" in bad.json()["detail"]


def test_expired_lease_is_taken_over_and_its_holder_told(repo_and_member):
    server, member = repo_and_member
    base = "/repos/default/leased/leases"
    with _http(server) as admin, _http(server, member) as writer:
        first = writer.post(f"{base}/branch.main", json={"holder": "slow", "ttl_seconds": 1}).json()
        time.sleep(1.5)
        taken = admin.post(f"{base}/branch.main", json={"holder": "fast", "ttl_seconds": 60})
        assert taken.status_code == 201
        lost = writer.put(f"{base}/branch.main/{first['lease_id']}", json={"holder": "slow"})
        assert lost.status_code == 409 and "lost" in lost.json()["detail"]


def test_leases_are_shared_by_two_server_processes(floe_factory, database_url, tmp_path):
    first = floe_factory(tmp_path / "shared", database_url=database_url)
    second = floe_factory(tmp_path / "shared", database_url=database_url)
    with _http(first) as one, _http(second, first.token) as two:
        assert one.post("/orgs/default/repos", json={"name": "shared"}).status_code == 201
        assert two.get("/repos/default/shared").status_code == 200  # written by one, served by the other
        assert (
            one.post("/repos/default/shared/leases/branch.main", json={"holder": "on server 1"}).status_code
            == 201
        )
        refused = two.post("/repos/default/shared/leases/branch.main", json={"holder": "on server 2"})
        assert refused.status_code == 409 and "on server 1" in refused.json()["detail"]


def test_a_killed_holder_does_not_block_others_past_the_ttl(repo_and_member):
    server, member = repo_and_member
    code = f"""
import time
from floe.client.leases import LeaseClient
client = LeaseClient(service_uri={server.url!r}, token={member!r}, org="default", repo="leased", ttl_seconds=2)
with client.hold("branch.main", "doomed writer"):
    print("holding", flush=True)
    time.sleep(600)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "holding"
        time.sleep(2.5)  # it renews while alive: the lease outlives its first ttl
        with _http(server) as admin:
            assert (
                admin.post("/repos/default/leased/leases/branch.main", json={"holder": "x"}).status_code
                == 409
            )
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        waiter = LeaseClient(
            service_uri=server.url, token=server.token, org="default", repo="leased", max_wait_seconds=10
        )
        started = time.monotonic()
        with waiter.hold("branch.main", "survivor") as lease:
            assert lease.holder.endswith("survivor")
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
