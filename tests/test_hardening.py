"""Tenants stay apart, through real server processes: what callers learn from a token lookup, what
the access log keeps, file modes at rest, response headers, the offline API docs, whose
``X-Forwarded-For`` counts, and sign-in limits that a stranger cannot turn against someone."""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from browser import PASSWORD, Browser, admin, audit_events, create_user

LOCKED = "too many failed sign-in attempts; try again in 15 minutes"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    """Processes started meanwhile inherit ``mask``."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _http(server, token: str | None = None, **headers: str) -> httpx.Client:
    if token:
        headers["authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=server.url, headers=headers, timeout=30, trust_env=False)


# --------------------------------------------------------------------------------------------- item 5


def test_token_lookup_says_the_same_for_unknown_and_foreign_tokens(floe_server_sqlite):
    """``authenticate`` answers an unknown token and another org's live token alike, and never
    records a use of the other org's token."""
    server = floe_server_sqlite
    with admin(server) as site:
        assert site.post("/orgs", json={"name": "other"}).status_code == 201
        foreign = site.post("/orgs/other/api-clients", json={"name": "bot", "role": "viewer"}).json()
        revoked = site.post("/orgs/default/api-clients", json={"name": "gone", "role": "viewer"}).json()
        assert site.delete("/orgs/default/api-clients/gone").status_code == 200
    with _http(server, server.token) as http:  # an admin of org default, not a site admin
        answers = [
            http.get("/orgs/default/api-clients/authenticate", params={"token": token})
            for token in ("ema_never-issued", foreign["token"], revoked["token"], "not-a-token")
        ]
        own = http.get("/orgs/default/api-clients/authenticate", params={"token": server.token})
    assert own.status_code == 200
    assert {(a.status_code, a.text) for a in answers} == {(answers[0].status_code, answers[0].text)}
    assert answers[0].status_code == 404
    assert answers[0].json()["detail"] == "no API client or member of org 'default' has that token"
    with admin(server) as site:
        listed = site.get("/orgs/other/api-clients").json()
    assert [c["last_used"] for c in listed if c["name"] == "bot"] == [None]


def test_access_log_redacts_secret_query_parameters(floe_server_sqlite):
    server = floe_server_sqlite
    names = [
        "access_token",
        "refresh_token",
        "token",
        "device_code",
        "user_code",
        "code",
        "state",
        "password",
        "secret",
        "client_secret",
        "api_key",
        "apikey",
        "sig",
    ]
    values = {name: f"leak{i}x{os.urandom(4).hex()}" for i, name in enumerate(names)}
    with _http(server) as http:
        http.get("/health", params={**values, "page": "2"})
        http.get("/device", params={"user_code": values["user_code"]})
    time.sleep(0.5)  # the access line is written after the answer
    log = server.log_text()
    assert "page=2" in log  # the line is there, and harmless parameters stay readable
    leaked = [name for name, value in values.items() if value in log]
    assert not leaked, f"query parameters in the access log: {leaked}"
    for name in names:
        assert f"{name}=[redacted]" in log, name


# --------------------------------------------------------------------------------------------- item 6


def test_files_at_rest_are_the_owners_only_whatever_the_umask(floe_factory, tmp_path, monkeypatch):
    """A fresh data dir under umask 000: the database and its -wal/-shm files, the secret key and
    the config file are 0600, the storage folder 0700; the client's sessions file is 0600 too."""
    with _umask(0):
        server = floe_factory(tmp_path / "fresh")
    with _http(server, server.token) as http:  # the database in use: -wal and -shm exist
        assert http.get("/orgs/default/buckets").status_code == 200
    data = server.data_dir
    files = ["floe.db", "floe.db-wal", "floe.db-shm", "secret.key"]
    modes = {name: oct(_mode(data / name)) for name in files}
    config = Path(server.env["FLOE_CONFIG_DIR"]) / "config.toml"
    modes["config.toml"] = oct(_mode(config))
    modes["storage/"] = oct(_mode(data / "storage"))
    assert modes == {**dict.fromkeys([*files, "config.toml"], "0o600"), "storage/": "0o700"}

    from floe.client import sessions

    monkeypatch.setenv("FLOE_CONFIG_DIR", str(tmp_path / "client" / "floe"))
    with _umask(0o277):  # would leave files read-only, folders unusable
        (tmp_path / "client").mkdir(mode=0o700)
        stored = sessions.store(server.url, "ema_u.example", email="ann@example.org", expires=None)
    assert (oct(_mode(stored)), oct(_mode(stored.parent))) == ("0o600", "0o700")
    assert sessions.load(server.url).token == "ema_u.example"


def test_security_headers(floe_server_sqlite):
    server = floe_server_sqlite
    with _http(server) as http:
        health, refused, page = http.get("/health"), http.get("/user"), http.get("/login")
        sheet = http.get("/static/floe.css")
    for response in (health, refused, page, sheet):
        assert response.headers["x-content-type-options"] == "nosniff", response.url
    assert "content-security-policy" not in health.headers
    csp = page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "default-src 'none'" in csp and "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<style" not in page.text and 'href="/static/floe.css"' in page.text
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")


_REFERENCE = re.compile(r"""(?:src|href|spec-url|data-openapi-url)="([^"]*)\"""")


def test_api_docs_need_no_network(floe_server_sqlite):
    """/docs and /redoc load every asset from the server itself and run no inline script."""
    server = floe_server_sqlite
    with _http(server) as http:
        for path, marker in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
            page = http.get(path)
            assert page.status_code == 200 and marker in page.text, path
            references = _REFERENCE.findall(page.text)
            assert "/openapi.json" in references
            assert all(r.startswith("/") and not r.startswith("//") for r in references), references
            for reference in references:
                assert http.get(reference).status_code == 200, reference
            scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
            assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
            policy = dict(
                part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
            )
            assert policy["script-src"] == "'self'" and policy["connect-src"] == "'self'", policy
            assert page.headers["x-frame-options"] == "DENY"


def _failed_sign_in(server, address: str) -> None:
    with Browser(server.url) as browser:
        browser.http.headers["x-forwarded-for"] = address
        assert browser.sign_in("nobody@example.org", "wrong password").status_code == 401


def test_forwarded_for_counts_only_from_listed_proxies(floe_factory, tmp_path):
    """By default ``X-Forwarded-For`` is ignored, even from 127.0.0.1; ``--forwarded-allow-ips``
    names the proxies it is believed from."""
    plain = floe_factory(tmp_path / "plain")
    proxied = floe_factory(tmp_path / "proxied", extra_args=["--forwarded-allow-ips", "127.0.0.1"])
    for server in (plain, proxied):
        _failed_sign_in(server, "203.0.113.9")
    addresses = {}
    for name, server in (("plain", plain), ("proxied", proxied)):
        with admin(server) as site:
            addresses[name] = [e["address"] for e in audit_events(site, "sign_in.failed")]
    assert addresses == {"plain": ["127.0.0.1"], "proxied": ["203.0.113.9"]}

    # ... and the limits count the real peer: failures "from" many addresses are all 127.0.0.1's
    with admin(plain) as site:
        create_user(site, "ann@example.org", "Ann Example")
    for i in range(5):
        with Browser(plain.url) as browser:
            browser.http.headers["x-forwarded-for"] = f"198.51.100.{i}"
            assert browser.sign_in("ann@example.org", "wrong").status_code == 401
    with Browser(plain.url) as browser:
        browser.http.headers["x-forwarded-for"] = "198.51.100.99"
        assert browser.sign_in("ann@example.org", PASSWORD).status_code == 429


# --------------------------------------------------------------------------------------------- item 7


def test_failures_elsewhere_do_not_lock_a_person_out(floe_factory):
    """Failed sign-ins count per (account, address) and per address: a stranger's guesses lock the
    stranger's address out of that account, not the person signing in from elsewhere."""
    server = floe_factory(extra_args=["--forwarded-allow-ips", "127.0.0.1"])
    stranger, person = "203.0.113.66", "198.51.100.7"
    with admin(server) as site:
        create_user(site, "ann@example.org", "Ann Example")
    with Browser(server.url) as attacker, Browser(server.url) as ann:
        attacker.http.headers["x-forwarded-for"] = stranger
        ann.http.headers["x-forwarded-for"] = person
        for attempt in range(5):
            assert attacker.sign_in("ann@example.org", f"guess {attempt}").status_code == 401
        refused = attacker.sign_in("ann@example.org", PASSWORD)
        assert refused.status_code == 429 and LOCKED in refused.text
        # Ann, elsewhere, has her own allowance: a typo, then her password
        assert ann.sign_in("ann@example.org", "typo").status_code == 401
        assert ann.sign_in("ann@example.org", PASSWORD).status_code == 303 and ann.session
        # her success clears her own counter only: the stranger stays locked out of her account
        assert attacker.sign_in("ann@example.org", PASSWORD).status_code == 429
    with admin(server) as site:
        locked = audit_events(site, "sign_in.locked")
    assert [(e["detail"]["scope"], e["detail"]["email"], e["address"]) for e in locked] == [
        ("account", "ann@example.org", stranger)
    ]
