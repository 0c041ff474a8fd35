"""Logs a person can read (issue 11, item 8), checked on the log of a real ``floe serve`` process:
one line per request, a traceback only for a real server fault and at most once a minute per place,
never a request body, never SQL parameters."""

from __future__ import annotations

import json
import secrets
import sqlite3

import httpx


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_one_line_per_request_and_tracebacks_only_for_faults(floe_factory):
    server = floe_factory(extra_args=["--log-format", "json"])
    body_marker, param_marker = f"BODY-{secrets.token_hex(6)}", f"PARAM-{secrets.token_hex(6)}"
    answers: dict[str, httpx.Response] = {}
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {server.token}"}) as http:

        def call(request_id: str, method: str, path: str, headers: dict | None = None, **kwargs) -> None:
            headers = {"x-request-id": request_id, **(headers or {})}
            answers[request_id] = http.request(method, path, headers=headers, **kwargs)

        call("make", "POST", "/orgs/default/repos", json={"name": "logged"})
        call("health", "GET", "/health")
        call("missing", "GET", "/repos/default/nope")
        call(
            "bad-name", "POST", "/orgs/default/repos", json={"name": "Bad Name!", "description": body_marker}
        )
        call(
            "bad-json",
            "POST",
            "/orgs/default/repos",
            content=f'{{"name": "{body_marker}',
            headers={"content-type": "application/json"},
        )
        # a real server fault: the database refuses every change to a repo (a trigger naming a missing table)
        with sqlite3.connect(server.data_dir / "floe.db") as db:
            db.execute("CREATE TRIGGER broken BEFORE UPDATE ON repos BEGIN SELECT * FROM floe_missing; END")
        for n in range(3):
            call(f"fault-{n}", "PATCH", "/orgs/default/logged", json={"description": param_marker})
    server.stop()  # flushes the log
    assert [answers[k].status_code for k in ("make", "health", "missing", "bad-name")] == [201, 200, 404, 422]
    assert answers["bad-json"].status_code == 422
    for n in range(3):
        fault = answers[f"fault-{n}"]
        assert fault.status_code == 500
        assert fault.json() == {
            "detail": "internal error (OperationalError); see the server log",
            "error": "internal_error",
        }
    text = server.log_path.read_text()
    assert body_marker not in text and param_marker not in text  # no body, no SQL parameter
    lines = _lines(text)
    by_id: dict[str, list[dict]] = {}
    for line in lines:
        by_id.setdefault(line["request_id"], []).append(line)
    for request_id in ("make", "health", "missing", "bad-name", "bad-json"):
        (only,) = by_id[request_id]  # one line: the access line, no traceback for bad input
        assert only["logger"] == "uvicorn.access" and only["status"] == answers[request_id].status_code
        assert "exc_info" not in only
    first, *repeats = (by_id[f"fault-{n}"] for n in range(3))
    assert sorted(line["logger"] for line in first) == ["floe.server", "uvicorn.access"]
    (error,) = [line for line in first if line["logger"] == "floe.server"]
    assert error["level"] == "error" and "PATCH /orgs/default/logged" in error["message"]
    assert "OperationalError at floe/" in error["message"]
    assert "Traceback" in error["exc_info"] and "no such table: main.floe_missing" in error["exc_info"]
    assert "[SQL parameters hidden" in error["exc_info"]
    for repeat in repeats:  # the same place again within a minute: one line, no traceback
        (line,) = [line for line in repeat if line["logger"] == "floe.server"]
        assert "exc_info" not in line and "traceback logged at most once a minute" in line["message"]
        assert line["message"].split(": ", 1)[1].startswith(error["message"].split(": ", 1)[1])
    assert sum("Traceback" in line for line in text.splitlines()) == 1  # the first fault's only


def test_no_access_log_keeps_errors_and_request_ids(floe_factory):
    """``--no-access-log`` (for a reverse proxy that logs requests): no line per request, but a fault is
    still logged with its request id, and every answer still carries one (new ids unique, given ids kept)."""
    server = floe_factory(extra_args=["--log-format", "json", "--no-access-log"])
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {server.token}"}) as http:
        assert http.post("/orgs/default/repos", json={"name": "quiet"}).status_code == 201
        new_ids = [http.get("/health").headers["x-request-id"] for _ in range(20)]
        given = http.get("/health", headers={"x-request-id": "proxy-42"}).headers["x-request-id"]
        with sqlite3.connect(server.data_dir / "floe.db") as db:
            db.execute("CREATE TRIGGER broken BEFORE UPDATE ON repos BEGIN SELECT * FROM floe_missing; END")
        fault = http.patch(
            "/orgs/default/quiet", json={"description": "x"}, headers={"x-request-id": "fault-1"}
        )
    server.stop()
    assert fault.status_code == 500 and given == "proxy-42"
    assert len(set(new_ids)) == 20 and all(len(i) == 32 and int(i, 16) >= 0 for i in new_ids)
    lines = _lines(server.log_path.read_text())
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
    (error,) = [line for line in lines if line["logger"] == "floe.server"]
    assert error["request_id"] == "fault-1" and "PATCH /orgs/default/quiet" in error["message"]
