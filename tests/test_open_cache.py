"""The open cache (``floe.server.open_cache``): one caller opening one repo again within a second
gets the answer it just got, yet a change is honoured by the server that made it at once and by
every other server process within a second, no caller ever gets another's answer, and every open
is still counted in the audit trail -- also those a server answered just before it stopped."""

from __future__ import annotations

import contextlib
import time

import httpx
import sqlalchemy as sa

import floe
from floe.server.db import tables as t
from floe.server.open_cache import DEFAULT_TTL, CachedOpen, OpenCache

READER_KEY = "reader"  # the read-only key pair of the bucket config below: what readers receive


def _http(server, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {token}"}, timeout=60)


def _repo_on_s3(server, moto, bucket: str, name: str) -> None:
    with floe.Client(service_uri=server.url, token=server.token) as client:
        client.create_bucket_config(
            org="default", nickname="moto", **moto.bucket_config(bucket, reader_key=READER_KEY)
        )
        client.create_repo(f"default/{name}", bucket_config_nickname="moto")


def _token(admin: httpx.Client, name: str, role: str) -> str:
    made = admin.post("/orgs/default/api-clients", json={"name": name, "role": role})
    assert made.status_code == 201, made.text
    return made.json()["token"]


def _vend_count(engine: sa.Engine, actor_name: str, resource: str) -> int:
    col = t.audit_events.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(col.detail).where(
                col.action == "credentials.vend", col.actor_name == actor_name, col.resource == resource
            )
        ).all()
    return sum(int((row.detail or {}).get("count", 1)) for row in rows)


def test_answers_are_per_caller_and_changes_count_everywhere_within_a_second(
    floe_factory, database_url, moto, s3_bucket, tmp_path
):
    data_dir = tmp_path / "data"
    one = floe_factory(data_dir, database_url=database_url)
    other = floe_factory(data_dir, database_url=database_url)  # another process, the same catalog
    _repo_on_s3(one, moto, s3_bucket, "hot")
    with _http(one, one.token) as admin:
        writer, viewer = _token(admin, "writer", "member"), _token(admin, "viewer", "viewer")
        for server in (one, other):
            with _http(server, writer) as w, _http(server, viewer) as v:
                for _ in range(3):  # the writer's answer is cached now; the viewer still gets its own
                    mine = w.get("/repos/default/hot/open")
                    assert mine.status_code == 200 and mine.json()["can_write"] is True, mine.text
                    theirs = v.get("/repos/default/hot/open")
                    assert theirs.status_code == 200, theirs.text
                    assert theirs.json()["can_write"] is False
                    assert theirs.json()["repo_credentials"]["aws_access_key_id"] == READER_KEY
                    assert mine.json()["repo_credentials"]["aws_access_key_id"] != READER_KEY
                    # asking for read_only is another answer, never the cached read-write one
                    ro = w.get("/repos/default/hot/open", params={"read_only": True}).json()
                    assert ro["repo_credentials"]["aws_access_key_id"] == READER_KEY

        # the repo goes offline through the first process
        down = admin.put("/orgs/default/hot/status", json={"mode": "offline", "message": "moving"})
        assert down.status_code == 200, down.text
        changed = time.monotonic()
    with _http(one, writer) as w:
        assert w.get("/repos/default/hot/open").status_code == 423  # at once where it was changed
    time.sleep(max(0.0, changed + DEFAULT_TTL + 0.05 - time.monotonic()))
    with _http(other, writer) as w:
        assert w.get("/repos/default/hot/open").status_code == 423  # within a second everywhere else


def test_every_open_is_counted_in_the_audit_trail_even_at_shutdown(
    floe_factory, database_url, moto, s3_bucket, tmp_path
):
    data_dir = tmp_path / "data"
    one = floe_factory(data_dir, database_url=database_url)
    _repo_on_s3(one, moto, s3_bucket, "counted")
    with _http(one, one.token) as admin:
        token = _token(admin, "counter", "member")
    engine = sa.create_engine(database_url or f"sqlite:///{data_dir / 'floe.db'}")
    try:
        other = floe_factory(data_dir, database_url=database_url)
        with _http(other, token) as http:
            for _ in range(10):  # one open recorded at once, nine answered from the cache
                assert http.get("/repos/default/counted/open").status_code == 200
            # reading the trail through the server that answered shows every open
            trail = http.get(
                "/orgs/default/audit", params={"action": "credentials.vend", "resource": "default/counted"}
            )
        assert trail.status_code == 403  # a member may not read the trail; the admin may:
        with _http(other, other.token) as admin:
            events = admin.get(
                "/orgs/default/audit", params={"action": "credentials.vend", "resource": "default/counted"}
            ).json()["items"]
        assert sum(e["detail"]["count"] for e in events if e["actor"] == "counter") == 10

        with _http(other, token) as http:
            for _ in range(5):
                assert http.get("/repos/default/counted/open").status_code == 200
        other.stop()  # SIGTERM at once: the counts still held in memory are written as it stops
        assert _vend_count(engine, "counter", "default/counted") == 15
    finally:
        engine.dispose()


def test_the_cache_ages_from_the_older_input_and_keeps_counts_it_could_not_write():
    cache = OpenCache(ttl=0.2)
    cache.keep("k", CachedOpen(body=b"{}", note=None, as_of=time.monotonic() - 0.15))
    assert cache.get("k") is not None
    time.sleep(0.06)  # 0.21 s after its inputs were read, though stored only 0.06 s ago
    assert cache.get("k") is None
    cache.keep("old", CachedOpen(body=b"{}", note=None, as_of=time.monotonic() - 1))
    assert cache.get("old") is None  # never stored: already too old

    from floe.server.auth import Caller
    from floe.server.catalog.audit import VendNote

    caller = Caller(
        id="c", kind="api_client", name="c", email="c@example.org", roles={}, org_names={},
        is_site_admin=False, expiration=None,
    )  # fmt: skip
    note = VendNote(org_id="o", org_name="default", resource="default/r", read_only=True, bucket_nickname="b")
    for _ in range(3):
        cache.repeated(caller, note)
    written: list[int] = []

    def failing(_caller: Caller, _note: VendNote, times: int) -> None:
        raise RuntimeError("database away")

    with contextlib.suppress(RuntimeError):
        cache.flush(failing)
    assert cache.flush(lambda _c, _n, times: written.append(times)) == 3 and written == [3]
    assert cache.flush(lambda _c, _n, times: written.append(times)) == 0


def test_concurrent_requests_for_one_answer_share_one_computation():
    import asyncio

    from floe.server.single_flight import SingleFlight

    async def scenario() -> None:
        flights: SingleFlight[str, int] = SingleFlight()
        runs = 0

        async def slow() -> int:
            nonlocal runs
            runs += 1
            await asyncio.sleep(0.05)
            return runs

        results = await asyncio.gather(*(flights.run("k", slow) for _ in range(20)))
        assert runs == 1 and [value for value, _ in results] == [1] * 20
        assert sum(first for _, first in results) == 1  # one computed, nineteen joined

        async def failing() -> int:
            await asyncio.sleep(0.01)
            raise LookupError("no such repo")

        errors = await asyncio.gather(*(flights.run("e", failing) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(e, LookupError) for e in errors)  # the error reaches every waiter

        # the request computing goes away: the one waiting computes for itself
        leader = asyncio.create_task(flights.run("c", slow))
        await asyncio.sleep(0.01)
        follower = asyncio.create_task(flights.run("c", slow))
        await asyncio.sleep(0.01)
        leader.cancel()
        value, first = await follower
        assert first and value == runs

    asyncio.run(scenario())
