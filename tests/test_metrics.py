"""``GET /metrics`` (Prometheus) and ``--log-format json`` with request ids."""

from __future__ import annotations

import json
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families


def _samples(server) -> dict[tuple[str, tuple], float]:
    """Every sample of ``/metrics``: (name, sorted labels) -> value."""
    response = httpx.get(f"{server.url}/metrics", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def _value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_credentials_leases_and_probes(floe_server, moto, s3_bucket):
    before = _samples(floe_server)
    headers = {"authorization": f"Bearer {floe_server.token}"}
    with httpx.Client(base_url=floe_server.url, headers=headers, timeout=60) as api:
        s3 = {
            "platform": "s3-compatible",
            "extra_config": {"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
            "auth_config": {"method": "hmac", "access_key_id": "testing", "secret_access_key": "s3cr3t"},
        }
        assert (
            api.post("/orgs/default/buckets", json={**s3, "nickname": "moto", "name": s3_bucket}).status_code
            == 201
        )
        missing = api.post(
            "/orgs/default/buckets", json={**s3, "nickname": "gone", "name": "no-such-bucket-here"}
        )
        assert missing.status_code >= 400, missing.text
        assert (
            api.post("/orgs/default/repos", json={"name": "metered", "bucket_nickname": "moto"}).status_code
            == 201
        )
        for _ in range(3):
            assert api.get("/repos/default/metered/open").status_code == 200
        assert api.get("/repos/default/nope/open").status_code == 404
        lease = {"holder": "writer-1", "ttl_seconds": 1}
        assert api.post("/repos/default/metered/leases/branch.main", json=lease).status_code == 201
        assert (
            api.post("/repos/default/metered/leases/branch.main", json={**lease, "holder": "w2"}).status_code
            == 409
        )
        time.sleep(1.1)
        assert (
            api.post("/repos/default/metered/leases/branch.main", json={**lease, "holder": "w3"}).status_code
            == 201
        )
    after = _samples(floe_server)

    def grew(name: str, **labels) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    route = "/repos/{org}/{repo}/open"
    assert grew("floe_http_requests_total", method="GET", route=route, status="200") == 3
    assert grew("floe_http_requests_total", method="GET", route=route, status="404") == 1
    assert grew("floe_http_request_duration_seconds_count", method="GET", route=route) == 4
    assert grew("floe_http_request_duration_seconds_bucket", method="GET", route=route, le="+Inf") == 4
    assert not any("nope" in str(labels) for _name, labels in after), "names in URLs must not become labels"
    vended = grew(
        "floe_credentials_vended_total", platform="s3-compatible", auth_method="hmac", read_only="false"
    )
    assert vended == 3
    assert grew("floe_lease_waits_total") == 1
    assert grew("floe_lease_takeovers_total") == 1
    assert (
        sum(
            v - _value(before, n, **dict(k))
            for (n, k), v in after.items()
            if n == "floe_probe_failures_total"
        )
        == 1
    )
    assert "s3cr3t" not in httpx.get(f"{floe_server.url}/metrics").text


def test_several_workers_report_together_and_log_json_with_request_ids(floe_factory):
    server = floe_factory(extra_args=["--workers", "2", "--log-format", "json"])
    before = _value(_samples(server), "floe_http_requests_total", method="GET", route="/health", status="200")
    ids = []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for n in range(20):
            response = http.get("/health", headers={"x-request-id": f"probe-{n}"})
            assert response.status_code == 200
            assert response.headers["x-request-id"] == f"probe-{n}"
        fresh = http.get("/health").headers["x-request-id"]
        ids.append(fresh)
        assert len(fresh) == 32 and fresh != http.get("/health").headers["x-request-id"]
        assert http.get("/health", headers={"x-request-id": "bad id\twith spaces"}).headers[
            "x-request-id"
        ] != ("bad id\twith spaces")
    # whichever worker answers, it counts the requests of both
    counts = {
        _value(_samples(server), "floe_http_requests_total", method="GET", route="/health", status="200")
        for _ in range(4)
    }
    assert all(c >= before + 23 for c in counts), (before, counts)

    deadline = time.monotonic() + 10
    while True:
        lines = [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
        access = [line for line in lines if line["logger"] == "uvicorn.access"]
        if sum(1 for a in access if a["request_id"] and a["request_id"].startswith("probe-")) >= 20:
            break
        assert time.monotonic() < deadline, server.log_text()[-3000:]
        time.sleep(0.2)
    probe = next(a for a in access if a["request_id"] == "probe-7")
    assert probe["path"] == "/health" and probe["status"] == 200 and probe["method"] == "GET"
    assert {"time", "level", "message"} <= set(probe)
    assert any(a["request_id"] == ids[0] for a in access)
