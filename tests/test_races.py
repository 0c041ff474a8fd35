"""Invariants that concurrent requests used to break, now kept by the database transaction.

Each race sends 20 requests at once, 20 times, through HTTP to a server on SQLite and on PostgreSQL:

* no two repos at overlapping locations (nested prefixes in one bucket config);
* an org always keeps an owner (every owner demoted at once);
* one active API client per name in an org.

Every answer must be the success or the 409 that names the clash -- never a 5xx -- and the
invariant must hold after each round.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from services import admin_token

ATTEMPTS = 20
ROUNDS = 20


@pytest.fixture
def http(floe_server) -> Iterator[httpx.Client]:
    limits = httpx.Limits(max_connections=ATTEMPTS * 2, max_keepalive_connections=ATTEMPTS * 2)
    with httpx.Client(
        base_url=floe_server.url,
        headers={"authorization": f"Bearer {admin_token(floe_server, site_admin=True)}"},
        timeout=120,
        limits=limits,
    ) as client:
        yield client


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls on their own threads, released together."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def test_nested_repo_prefixes_created_at_once_leave_one_repo(http: httpx.Client):
    for round_ in range(ROUNDS):
        # r/x, r/x/x, r/x/x/x ...: each prefix contains or lies inside every other one
        bodies = [
            {"name": f"nest-{round_}-{i}", "prefix": "/".join([f"r{round_}"] + ["x"] * i)}
            for i in range(ATTEMPTS)
        ]
        answers = at_once([lambda b=b: http.post("/orgs/default/repos", json=b) for b in bodies])
        assert statuses(answers) == {201: 1, 409: ATTEMPTS - 1}, [
            a.text for a in answers if a.status_code != 409
        ]
        assert all("overlaps" in a.json()["detail"] for a in answers if a.status_code == 409)
    listed = http.get("/orgs/default/repos/paginated", params={"size": 1000}).json()["items"]
    assert len([r for r in listed if r["name"].startswith("nest-")]) == ROUNDS


def test_demoting_every_owner_at_once_keeps_one(http: httpx.Client):
    org = "owned"
    assert http.post("/orgs", json={"name": org}).status_code == 201
    emails = [f"owner{i}@example.org" for i in range(ATTEMPTS)]
    for i, email in enumerate(emails):
        made = http.post("/users", json={"email": email, "name": f"Owner {i}"})
        assert made.status_code == 201, made.text
    for round_ in range(ROUNDS):
        promoted = at_once(
            [lambda e=e: http.put(f"/orgs/{org}/members/{e}", json={"role": "owner"}) for e in emails]
        )
        assert statuses(promoted) == {200: ATTEMPTS}, statuses(promoted)
        # half demote, half leave: either way each request removes an owner
        calls = [
            (lambda e=e: http.put(f"/orgs/{org}/members/{e}", json={"role": "admin"}))
            if i % 2
            else (lambda e=e: http.delete(f"/orgs/{org}/members/{e}"))
            for i, e in enumerate(emails)
        ]
        answers = at_once(calls)
        refused = [a for a in answers if a.status_code == 409]
        assert len(refused) == 1 and "last owner" in refused[0].json()["detail"], statuses(answers)
        assert all(a.status_code in (200, 204, 409) for a in answers), statuses(answers)
        owners = [m for m in http.get(f"/orgs/{org}/members").json() if m["role"] == "owner"]
        assert len(owners) == 1, f"round {round_}: {len(owners)} owners"


def test_api_clients_with_one_name_created_at_once_leave_one_active(http: httpx.Client):
    for round_ in range(ROUNDS):
        body = {"name": f"pipeline-{round_}", "role": "member"}
        answers = at_once([lambda b=body: http.post("/orgs/default/api-clients", json=b)] * ATTEMPTS)
        assert statuses(answers) == {201: 1, 409: ATTEMPTS - 1}, statuses(answers)
        assert all("pick another name" in a.json()["detail"] for a in answers if a.status_code == 409)
    active = http.get("/orgs/default/api-clients").json()
    names = Counter(c["name"] for c in active if c["name"].startswith("pipeline-"))
    assert names == {f"pipeline-{r}": 1 for r in range(ROUNDS)}
