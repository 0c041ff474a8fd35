"""The principal cache: a revoked token is refused by the server that revoked it at once, and by
every other server process on the same catalog within a second."""

from __future__ import annotations

import time

import httpx
import pytest

from floe.server.auth import Caller
from floe.server.principal_cache import PrincipalCache

TTL = 1.0


def _get(server, token: str, path: str = "/user") -> int:
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {token}"}, timeout=60) as http:
        return http.get(path).status_code


def test_a_revoked_token_is_refused_everywhere_within_a_second(floe_factory, database_url, tmp_path):
    data_dir = tmp_path / "data"
    one = floe_factory(data_dir, database_url=database_url)
    other = floe_factory(data_dir, database_url=database_url)  # another process, the same catalog
    with httpx.Client(
        base_url=one.url, headers={"authorization": f"Bearer {one.token}"}, timeout=60
    ) as admin:
        made = admin.post("/orgs/default/api-clients", json={"name": "short-lived", "role": "member"})
        assert made.status_code == 201, made.text
        token, client_id = made.json()["token"], made.json()["id"]
        for server in (one, other):  # both processes now remember the caller
            assert _get(server, token) == 200
            assert _get(server, token, "/orgs/default/repos/paginated") == 200

        assert admin.delete(f"/orgs/default/api-clients/{client_id}").status_code == 200
        revoked = time.monotonic()
    assert _get(one, token) == 401  # the process that revoked it: at once
    time.sleep(max(0.0, revoked + TTL + 0.05 - time.monotonic()))
    # any other process: no later than a second after the revocation was committed
    assert _get(other, token) == 401
    assert _get(other, token, "/orgs/default/repos/paginated") == 401


def _caller(name: str) -> Caller:
    return Caller(
        id=name, kind="api_client", name=name, email=f"{name}@example.org", roles={}, org_names={},
        is_site_admin=False, expiration=None,
    )  # fmt: skip


def test_entries_age_from_before_the_lookup_and_refusals_are_not_kept():
    cache = PrincipalCache(ttl=0.2)
    key = cache.key("ema_x")

    def slow_lookup() -> Caller:
        time.sleep(0.15)
        return _caller("slow")

    assert cache.lookup(key, slow_lookup).name == "slow"
    assert cache.get(key) is not None
    time.sleep(0.08)  # 0.23 s after the lookup began: too old, though stored only 0.08 s ago
    assert cache.get(key) is None

    def refused() -> Caller:
        raise PermissionError("revoked")

    with pytest.raises(PermissionError):
        cache.lookup(key, refused)
    assert cache.get(key) is None
    assert "ema_x" not in repr(cache._entries)  # keys are digests

    small = PrincipalCache(ttl=10, max_entries=2)
    for name in ("a", "b", "c"):
        small.lookup(small.key(name), lambda name=name: _caller(name))
    assert small.get(small.key("a")) is None and small.get(small.key("c")) is not None
