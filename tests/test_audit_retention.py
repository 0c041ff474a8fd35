"""The audit trail stays useful and bounded (issue 11, item 7): repeated credential vends to one
principal for one repo are one event with a count and first/last time, and vend events past their
retention are pruned by the server's periodic job while every other event stays."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

import floe
from cli_runner import Floe
from floe.server.db import tables as t
from floe.server.settings import Settings


def _hot_repo(server, moto, bucket: str) -> None:
    """Repo ``default/hot`` on an S3 bucket config with keys, so that opening it vends credentials."""
    with floe.Client(service_uri=server.url, token=server.token) as client:
        client.create_bucket_config(org="default", nickname="moto", **moto.bucket_config(bucket))
        client.create_repo("default/hot", bucket_config_nickname="moto")


def _vends(http: httpx.Client) -> list[dict]:
    answer = http.get("/orgs/default/audit", params={"action": "credentials.vend", "resource": "default/hot"})
    answer.raise_for_status()
    return answer.json()["items"]


def _age(engine: sa.Engine, event_id: int, by: timedelta) -> None:
    """Move an event back in time, as if it had been recorded ``by`` earlier."""
    with engine.begin() as conn:
        at = conn.execute(sa.select(t.audit_events.c.at).where(t.audit_events.c.id == event_id)).scalar_one()
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        conn.execute(sa.update(t.audit_events).where(t.audit_events.c.id == event_id).values(at=at - by))


def test_repeated_vends_are_one_event_and_old_vends_are_pruned(
    database_url, floe_in_process_factory, moto, s3_bucket, tmp_path
):
    server = floe_in_process_factory(
        database_url=database_url, env={"FLOE_AUDIT_PRUNE_INTERVAL_SECONDS": "0.2"}
    )
    engine = server.catalog().engine
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {server.token}"}) as http:
        before = datetime.now(UTC)
        _hot_repo(server, moto, s3_bucket)
        opened = sum(e["detail"]["count"] for e in _vends(http))  # creating it through the client opens it

        def open_hot(read_only: bool = False) -> None:
            http.get("/repos/default/hot/open", params={"read_only": read_only}).raise_for_status()

        with ThreadPoolExecutor(6) as pool:  # concurrent opens are all counted, in one row
            list(pool.map(lambda _: open_hot(), range(24)))
        for _ in range(3):
            open_hot(read_only=True)
        writes, reads = sorted(_vends(http), key=lambda e: e["detail"]["read_only"])
        assert writes["detail"]["count"] == opened + 24 and writes["detail"]["read_only"] is False
        assert reads["detail"]["count"] == 3 and reads["detail"]["read_only"] is True
        first, last = (datetime.fromisoformat(writes["detail"][k]) for k in ("first_at", "last_at"))
        assert before <= first < last <= datetime.now(UTC)
        assert writes["detail"]["bucket"] == "moto" and not any("secret" in k for k in writes["detail"])

        if database_url is None:  # the CLI shows the count and the last time
            cli = Floe(server, tmp_path / "cli-config", in_process=True)
            table = cli("audit", "list", "--org", "default", "--action", "credentials.vend")
            assert table.code == 0, table.describe()
            assert f"credentials.vend x{opened + 24}, last {writes['detail']['last_at'][:19]}Z" in table.out

        # past the window (ten minutes by default), the next vend starts a new event
        _age(engine, writes["id"], timedelta(minutes=11))
        open_hot()
        fresh = [e for e in _vends(http) if e["id"] not in (writes["id"], reads["id"])]
        assert [e["detail"]["count"] for e in fresh] == [1]

        # past the retention (90 days), vend events go; other events (repo.create) stay
        created = http.get("/orgs/default/audit", params={"action": "repo.create"}).json()["items"]
        _age(engine, writes["id"], timedelta(days=91))
        _age(engine, created[0]["id"], timedelta(days=91))
        deadline = time.monotonic() + 30
        while writes["id"] in {e["id"] for e in _vends(http)}:
            assert time.monotonic() < deadline, "the prune job did not delete the old vend event"
            time.sleep(0.1)
        assert {e["id"] for e in _vends(http)} == {reads["id"], fresh[0]["id"]}
        kept = http.get("/orgs/default/audit", params={"action": "repo.create"}).json()["items"]
        assert [e["id"] for e in kept] == [e["id"] for e in created]


def test_window_zero_records_every_vend(floe_in_process_factory, moto, s3_bucket):
    server = floe_in_process_factory(env={"FLOE_AUDIT_VEND_WINDOW_SECONDS": "0"})
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {server.token}"}) as http:
        _hot_repo(server, moto, s3_bucket)
        opened = len(_vends(http))
        for _ in range(4):
            http.get("/repos/default/hot/open").raise_for_status()
        assert [e["detail"]["count"] for e in _vends(http)] == [1] * (opened + 4)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FLOE_AUDIT_VEND_WINDOW_SECONDS", "-5", "must be 0 or more"),
        ("FLOE_AUDIT_VEND_RETENTION_DAYS", "a year", "must be a number"),
        ("FLOE_AUDIT_PRUNE_INTERVAL_SECONDS", "0", "must be positive"),
    ],
)
def test_bad_audit_settings_name_the_variable(tmp_path, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message) as caught:
        Settings.from_options(data_dir=tmp_path)
    assert name in str(caught.value) or "audit" in str(caught.value)
