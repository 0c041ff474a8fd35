"""Bad input gets a 4xx that names the field and the limit, never a 500 (issue 11); the event loop
never waits for a slow credential service; a store that never answers fails the probe within the
server's timeouts. All against real servers over HTTP."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from services import free_port

DEEP_LIST = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


def _http(server, token: str | None = None) -> httpx.Client:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60, trust_env=False)


def _refused(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail", "error"}, body
    for word in words:
        assert word in body["detail"], body["detail"]


def _read_until_closed(sock: socket.socket, limit: int = 65536) -> str:
    """What the server sent before closing (the 413 closes the connection): headers and body may
    arrive in separate segments."""
    got = b""
    while len(got) < limit:
        part = sock.recv(4096)
        if not part:
            break
        got += part
    return got.decode()


def test_deep_json_on_unauthenticated_routes_is_a_422(floe_server_sqlite):
    with _http(floe_server_sqlite) as http:
        for path in ("/auth/device/code", "/auth/token", "/orgs"):
            for body in (DEEP_LIST, DEEP_OBJECT):
                response = http.post(path, content=body, headers={"content-type": "application/json"})
                _refused(response, 422, "nests 1000 levels deep", "at most 32")
        assert http.get("/health").status_code == 200


def test_a_body_over_the_limit_is_refused_before_it_is_read(floe_server_sqlite):
    """A declared 100 MB body gets its 413 after a few bytes; a chunked one once it passes 1 MiB."""
    host, port = floe_server_sqlite.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /auth/device/code HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000000\r\n\r\n{"
        )
        answer = _read_until_closed(sock)
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "at most 1048576 bytes" in answer and "FLOE_MAX_BODY_BYTES" in answer

    def chunks() -> Iterator[bytes]:
        yield b'{"client_id": "'
        for _ in range(200):  # 200 x 64 KiB = 12.5 MiB, never all sent
            yield b"x" * 65536

    with _http(floe_server_sqlite) as http:
        try:
            response = http.post("/auth/device/code", content=chunks())
        except httpx.WriteError:  # the server answered and closed while we were still sending
            pytest.skip("the connection closed before the answer was read")
        _refused(response, 413, "more than 1048576 bytes")
        _refused(http.post("/orgs", json={"name": "x" * 70_000}), 422, "name: a string of 70000", "65536")
        many = {"name": "listy", "description": "", "tags": list(range(2000))}
        _refused(http.post("/orgs", json=many), 422, "tags: a list of 2000 items; at most 1000")


def test_pages_filters_cursors_and_times_have_bounds(floe_server_sqlite):
    server = floe_server_sqlite
    from services.server import bootstrap_token

    with _http(server, server.token) as http, _http(server, bootstrap_token(server)) as site:
        listing = "/orgs/default/repos/paginated"
        _refused(http.get(listing, params={"page": "1000000000000000000"}), 422, "page", "1000000")
        huge = json.dumps({"k": list(range(2000))})
        _refused(http.get(listing, params={"filter_metadata": huge}), 422, "filter_metadata", "4096")
        wide = json.dumps({f"k{i}": i for i in range(21)})
        _refused(http.get(listing, params={"filter_metadata": wide}), 422, "21 values; at most 20")
        nested = json.dumps({"k": {"deeper": 1}})
        _refused(http.get(listing, params={"filter_metadata": nested}), 422, "filter_metadata: the value of")
        assert http.get(listing, params={"filter_metadata": '{"k": [1, 2]}'}).status_code == 200

        cursor = base64.urlsafe_b64encode(b"a99999999999999999999999999").decode().rstrip("=")
        _refused(site.get("/audit", params={"cursor": cursor}), 422, "invalid cursor")
        for since in ("9999-12-31T23:59:59-23:00", "0001-01-01T00:00:00+23:00"):
            _refused(site.get("/audit", params={"since": since}), 422, "since: must be a time from 1970")
        _refused(site.get("/audit", params={"until": "9999-12-31T23:00:00"}), 422, "until")


def test_repo_metadata_is_bounded(floe_server_sqlite):
    with _http(floe_server_sqlite, floe_server_sqlite.token) as http:
        keys = {f"k{i}": i for i in range(101)}
        _refused(http.post("/orgs/default/repos", json={"name": "wide", "metadata": keys}), 422, "101 keys")
        listed = {"k": list(range(101))}
        _refused(
            http.post("/orgs/default/repos", json={"name": "long", "metadata": listed}),
            422,
            "a list of 101 items; at most 100",
        )
        assert http.get("/repos/default/wide").status_code == 404


# ------------------------------------------------------------------------------------- slow services


class _SlowSts(ThreadingHTTPServer):
    """A local STS endpoint: forwards to moto, or, while ``slow`` is set, sleeps first."""

    daemon_threads = True

    def __init__(self, upstream: str, delay: float) -> None:
        self.upstream, self.delay, self.slow = upstream, delay, threading.Event()
        super().__init__(("127.0.0.1", free_port()), _Forward)


class _Forward(BaseHTTPRequestHandler):
    server: _SlowSts

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.server.slow.is_set():
            time.sleep(self.server.delay)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        answer = httpx.post(self.server.upstream, content=body, headers=headers, timeout=30)
        self.send_response(answer.status_code)
        self.send_header("content-type", answer.headers.get("content-type", "text/xml"))
        self.send_header("content-length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args: object) -> None:
        pass


def test_a_slow_sts_endpoint_holds_up_no_other_request(floe_server_sqlite, moto, s3_bucket):
    """One /open stuck in a slow AssumeRole; /health and /open of another repo still answer."""
    sts = _SlowSts(moto.endpoint, delay=8)
    threading.Thread(target=sts.serve_forever, daemon=True).start()
    server = floe_server_sqlite
    try:
        with _http(server, server.token) as http:
            bucket = {
                "nickname": "slow-sts",
                "platform": "s3-compatible",
                "name": s3_bucket,
                "extra_config": {"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
                "auth_config": {
                    "method": "aws_sts",
                    "role_arn": "arn:aws:iam::123456789012:role/floe-slow",
                    "access_key_id": "testing",
                    "secret_access_key": "testing",
                    "sts_endpoint_url": f"http://127.0.0.1:{sts.server_address[1]}",
                },
            }
            assert http.post("/orgs/default/buckets", json=bucket).status_code == 201, "bucket"
            made = http.post("/orgs/default/repos", json={"name": "slow", "bucket_nickname": "slow-sts"})
            assert made.status_code == 201, made.text
            assert http.post("/orgs/default/repos", json={"name": "quick"}).status_code == 201
            assert http.get("/repos/default/slow/open").status_code == 200  # STS answers quickly now

            sts.slow.set()
            stuck: list[float] = []

            def open_slow() -> None:
                started = time.monotonic()
                with _http(server, server.token) as other:  # read_only: not the answer just cached
                    other.get("/repos/default/slow/open", params={"read_only": True})
                stuck.append(time.monotonic() - started)

            opener = threading.Thread(target=open_slow)
            opener.start()
            time.sleep(1.0)  # the slow /open is now waiting for STS
            started = time.monotonic()
            assert http.get("/health").status_code == 200
            assert http.get("/repos/default/quick/open").status_code == 200
            waited = time.monotonic() - started
            opener.join(30)
        assert stuck and stuck[0] >= 7, stuck  # it really was stuck in STS meanwhile
        assert waited < 5, f"/health and another /open took {waited:.1f} s while STS was slow"
    finally:
        sts.shutdown()
        sts.server_close()


def test_a_store_that_never_answers_fails_the_probe_within_the_timeout(floe_in_process_factory):
    """The endpoint accepts connections and never answers: the probe gives up after the read timeout
    (twice, one retry) with a 424 that says so, and the server logs it."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
    server = floe_in_process_factory(
        env={"FLOE_STORAGE_READ_TIMEOUT": "1", "FLOE_STORAGE_CONNECT_TIMEOUT": "2"}
    )
    body = {
        "nickname": "silent",
        "platform": "s3-compatible",
        "name": "quiet-bucket",
        "extra_config": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        "auth_config": {"method": "hmac", "access_key_id": "k", "secret_access_key": "s"},
    }
    try:
        with _http(server, server.token) as http:
            started = time.monotonic()
            response = http.post("/orgs/default/buckets", json=body)
            took = time.monotonic() - started
    finally:
        silent.close()
    _refused(response, 424, "the storage endpoint did not answer within 1 s")
    assert took < 20, took
    time.sleep(0.3)
    assert "did not answer within 1 s" in server.log_text()
