"""Two-phase repo creation: entries still being created are not opened nor vended credentials, the
creator's confirmation and the reaper make them ready or remove them, and a server killed with
SIGKILL in the middle of creating repos leaves nothing half-made."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import icechunk
import sqlalchemy as sa

import floe
from floe.server.catalog import creation
from floe.server.db import tables as t
from services import admin_token


def _http(server, token: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"authorization": f"Bearer {token or server.token}"}, timeout=60
    )


def _folder(server) -> Path:
    """The folder of the ``local`` bucket config of org ``default`` (where its repos' folders are)."""
    return Path(server.data_dir) / "storage" / "default"


def _has_icechunk_repo(path: Path) -> bool:
    return icechunk.Repository.exists(icechunk.local_filesystem_storage(str(path)))


def _set_state(server, name: str, state: str) -> None:
    with server.catalog().tx() as conn:
        conn.execute(sa.update(t.repos).where(t.repos.c.name == name).values(state=state))


def _register(http: httpx.Client, name: str) -> dict:
    answer = http.post("/orgs/default/repos", json={"name": name, "create_mode": "register"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_entries_being_created_are_not_opened_until_ready(floe_server):
    server = floe_server
    creator, other = _http(server), _http(server, admin_token(server, site_admin=True))
    with creator, other:
        # server-side creation: one request, ready when it answers
        made = creator.post("/orgs/default/repos", json={"name": "made", "create_mode": "create"})
        assert made.status_code == 201 and made.json()["state"] == "ready"
        assert other.get("/repos/default/made/open").status_code == 200

        # register: only its creator opens it (to create the Icechunk repo); others are told why not
        entry = _register(creator, "pending")
        assert entry["state"] == "registered"
        refused = other.get("/repos/default/pending/open")
        assert (
            refused.status_code == 409 and "has not created the Icechunk repo yet" in refused.json()["detail"]
        )
        assert other.get("/repos/default/pending/bucket-credentials").status_code == 409
        assert creator.get("/repos/default/pending/open").status_code == 200
        early = creator.post("/repos/default/pending/created")
        assert early.status_code == 404 and "no Icechunk repo" in early.json()["detail"]

        # the creator makes the Icechunk repo and confirms: ready for everyone
        icechunk.Repository.create(icechunk.local_filesystem_storage(str(_folder(server) / entry["prefix"])))
        confirmed = creator.post("/repos/default/pending/created")
        assert confirmed.status_code == 200 and confirmed.json()["state"] == "ready"
        assert other.get("/repos/default/pending/open").status_code == 200

        # without the confirmation (the arraylake client's way), the first other open finds the repo
        quiet = _register(creator, "quiet")
        icechunk.Repository.create(icechunk.local_filesystem_storage(str(_folder(server) / quiet["prefix"])))
        assert other.get("/repos/default/quiet/open").status_code == 200
        assert creator.get("/repos/default/quiet").json()["state"] == "ready"

        # an entry the server is still creating: nobody opens it, its creator included; lists show it
        _register(creator, "midway")
        _set_state(server, "midway", creation.CREATING)
        for who in (creator, other):
            busy = who.get("/repos/default/midway/open")
            assert busy.status_code == 423 and "still being created" in busy.json()["detail"]
            assert who.get("/repos/default/midway/bucket-credentials").status_code == 423
        listed = creator.get("/orgs/default/repos/paginated").json()["items"]
        assert {r["name"]: r["state"] for r in listed} == {
            "made": "ready",
            "pending": "ready",
            "quiet": "ready",
            "midway": "creating",
        }

    # floe.Client registers, creates and confirms: the repo is ready when create_repo returns
    with floe.Client(service_uri=server.url, token=server.token) as client:
        client.create_repo("default/by-client")
        assert client.get_repo_object("default/by-client").state == "ready"


def test_reaper_finishes_or_removes_stale_entries(floe_server_sqlite):
    server = floe_server_sqlite
    folder = _folder(server)
    with _http(server) as http:
        half = _register(http, "half")  # the server died while creating it: some objects, no repo
        _set_state(server, "half", creation.CREATING)
        (folder / half["prefix"] / "snapshots").mkdir(parents=True)
        (folder / half["prefix"] / "snapshots" / "partial").write_bytes(b"x")
        whole = _register(http, "whole")  # the server died after creating it, before marking it ready
        _set_state(server, "whole", creation.CREATING)
        icechunk.Repository.create(icechunk.local_filesystem_storage(str(folder / whole["prefix"])))
        done = _register(http, "done")  # the client created it, never confirmed
        icechunk.Repository.create(icechunk.local_filesystem_storage(str(folder / done["prefix"])))
        gone = _register(http, "gone")  # the client never created it; what it wrote is its own
        (folder / gone["prefix"]).mkdir()
        (folder / gone["prefix"] / "theirs.txt").write_text("not Floe's")
        empty = _register(http, "empty")  # the client made only its folder
        (folder / empty["prefix"]).mkdir()
        assert creation.reap_stale(server.catalog(), older_than_seconds=3600) == []  # none is stale yet
        reaped = creation.reap_stale(server.catalog(), older_than_seconds=0.0)
        outcome = {r.name: r.outcome for r in reaped}
        assert outcome == {
            "default/half": "removed",
            "default/whole": "ready",
            "default/done": "ready",
            "default/gone": "removed",
            "default/empty": "removed",
        }
        assert not (folder / half["prefix"]).exists()  # the server's own objects are deleted
        assert (folder / gone["prefix"] / "theirs.txt").read_text() == "not Floe's"  # nothing else
        assert not (folder / empty["prefix"]).exists()  # an empty folder holds nobody's data
        listed = {r["name"]: r["state"] for r in http.get("/orgs/default/repos/paginated").json()["items"]}
        assert listed == {"whole": "ready", "done": "ready"}
        assert http.get("/repos/default/whole/open").status_code == 200


def test_memory_repos_are_confirmed_without_the_server_looking(floe_server_sqlite):
    """Memory storage lives in the client process: the server's own memory is another, empty store,
    so it takes the creator's word (a `floe serve` process answered 404 to every memory create_repo)."""
    server = floe_server_sqlite
    with _http(server) as http:
        made = http.post(
            "/orgs/default/buckets", json={"nickname": "scratch", "platform": "memory", "name": "x"}
        )
        assert made.status_code == 201, made.text
        # registered, and nothing at its prefix in this process's memory either: the server cannot tell
        entry = http.post(
            "/orgs/default/repos",
            json={"name": "mem", "bucket_nickname": "scratch", "create_mode": "register"},
        )
        assert entry.status_code == 201 and entry.json()["state"] == "registered", entry.text
        confirmed = http.post("/repos/default/mem/created")
        assert confirmed.status_code == 200 and confirmed.json()["state"] == "ready", confirmed.text
        # the reaper too: a stale memory entry becomes ready, a local one never created is removed
        _register(http, "late")
        http.post("/orgs/default/repos", json={"name": "mem2", "bucket_nickname": "scratch"})
        reaped = {r.name: r.outcome for r in creation.reap_stale(server.catalog(), older_than_seconds=0.0)}
        assert reaped == {"default/late": "removed", "default/mem2": "ready"}


def _create_until_stopped(make, names: list[str], acked: list[str], stop: threading.Event) -> None:
    """Create repos one after another until ``stop`` or the first failure (the server is gone)."""
    while not stop.is_set():
        name = f"{len(names)}"
        names.append(name)
        try:
            full = make(name)
        except Exception:
            return
        acked.append(full)


def test_sigkill_during_creates_leaves_nothing_half_made(floe_factory, tmp_path):
    """Kill ``floe serve`` while repos are created through the API (server-side) and through
    floe.Client (client-side), twice; the restarted server's reaper leaves only whole repos."""
    data = tmp_path / "data"
    env = {"FLOE_CREATION_STALE_SECONDS": "0.001", "FLOE_CREATION_REAP_INTERVAL_SECONDS": "3600"}
    acked: list[str] = []
    for round_ in range(2):
        server = floe_factory(data, env=env)
        stop = threading.Event()
        http = _http(server)
        client = floe.Client(service_uri=server.url, token=server.token)

        def by_api(n: str, http=http, round_=round_) -> str:
            answer = http.post(
                "/orgs/default/repos", json={"name": f"api-{round_}-{n}", "create_mode": "create"}
            )
            answer.raise_for_status()
            return f"default/api-{round_}-{n}"

        def by_client(n: str, client=client, round_=round_) -> str:
            client.create_repo(f"default/client-{round_}-{n}")
            return f"default/client-{round_}-{n}"

        workers = [
            threading.Thread(target=_create_until_stopped, args=(make, [], acked, stop))
            for make in (by_api, by_client)
        ]
        started = len(acked)
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 20
        while len(acked) < started + 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05 * round_)  # a different moment of a creation each round
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        stop.set()
        for worker in workers:
            worker.join(60)
        http.close()
        client.close()
        assert len(acked) >= started + 6, "too few repos were created before the kill"

    server = floe_factory(data, env=env)  # its reaper runs at start
    folder = _folder(server)
    with _http(server) as http:
        deadline = time.monotonic() + 30
        while True:
            items = http.get("/orgs/default/repos/paginated", params={"size": 1000}).json()["items"]
            if all(r["state"] == "ready" for r in items) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert [r["name"] for r in items if r["state"] != "ready"] == []
    # every entry has its Icechunk repo, and every folder Floe made belongs to an entry
    assert [r["name"] for r in items if not _has_icechunk_repo(folder / r["prefix"])] == []
    assert sorted(p.name for p in folder.iterdir()) == sorted(r["prefix"] for r in items)
    # every acknowledged creation is there and opens
    listed = {f"default/{r['name']}" for r in items}
    assert set(acked) <= listed
    with floe.Client(service_uri=server.url, token=server.token) as client:
        for name in sorted(listed):
            client.get_repo(name)
