"""People signing in, through a real server over HTTP: the sign-in page, CSRF, redirects, limits on
failed attempts, the RFC 8628 device flow (``floe auth login``), sessions and the audit trail."""

from __future__ import annotations

import json
import re
import time
import uuid

import httpx

from browser import (
    DEVICE_GRANT,
    PASSWORD,
    Browser,
    admin,
    audit_events,
    bearer,
    create_user,
    error_text,
    form,
)

WRONG = "email or password is wrong"
LOCKED = "too many failed sign-in attempts; try again in 15 minutes"
USER_CODE = re.compile(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}")


def _poll(http: httpx.Client, device_code: str) -> httpx.Response:
    return http.post("/auth/token", data={"grant_type": DEVICE_GRANT, "device_code": device_code})


def _oauth_error(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"} and body["error_description"], body
    return body["error"]


def test_password_sign_in_account_page_and_sign_out(floe_server):
    server = floe_server
    with admin(server) as site, Browser(server.url) as browser:
        create_user(site, "ann@example.org", "Ann Example")
        assert site.put("/orgs/default/members/ann@example.org", json={"role": "member"}).status_code == 200
        create_user(site, "nopass@example.org", "No Password", password=None)
        create_user(site, "gone@example.org", "Gone Away")
        assert site.patch("/users/gone@example.org", json={"disabled": True}).status_code == 200

        page = browser.get("/login")
        assert page.status_code == 200 and 'name="password"' in page.text
        assert "HttpOnly" in page.headers["set-cookie"]  # the pre-sign-in CSRF cookie
        assert page.headers["cache-control"] == "no-store"

        # Every cause of failure reads the same: nothing tells which emails have accounts.
        for email, password in [
            ("ann@example.org", "not the password"),
            ("nobody@example.org", PASSWORD),
            ("nopass@example.org", PASSWORD),
            ("gone@example.org", PASSWORD),
            ("not an email", PASSWORD),
        ]:
            response = browser.sign_in(email, password)
            assert response.status_code == 401, (email, response.text)
            assert error_text(response) == WRONG
            assert browser.session is None

        response = browser.sign_in(" ANN@example.org", PASSWORD, next="/device")
        assert response.status_code == 303 and response.headers["location"] == "/device"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("floe_session=ema_u.")
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Max-Age=2592000" in cookie
        assert "secure" not in cookie.lower()  # plain http here; https requests get Secure

        account = browser.get("/")
        assert account.status_code == 200
        for text in ("Ann Example", "ann@example.org", "default", "member", "browser (this one)"):
            assert text in account.text, text
        # A browser session is no bearer token, and needs no sign-in page any more.
        assert (
            httpx.get(f"{server.url}/user", headers=bearer(browser.session), trust_env=False).status_code
            == 401
        )
        again = browser.get("/login", params={"next": "/device"})
        assert again.status_code == 303 and again.headers["location"] == "/device"

        page = browser.get("/logout")
        response = browser.post("/logout", data=form(page, "/logout")["fields"])
        assert response.status_code == 303 and response.headers["location"] == "/login"
        assert browser.session is None
        gone = browser.get("/")
        assert gone.status_code == 303 and gone.headers["location"] == "/login?next=%2F"

        # The audit trail has the sign-ins, the typed emails of failures, never a password.
        sign_ins = audit_events(site, "sign_in")
        succeeded = [e for e in sign_ins if e["action"] == "sign_in.succeeded"]
        assert [(e["actor"], e["detail"]["method"], e["address"]) for e in succeeded] == [
            ("ann@example.org", "password", "127.0.0.1")
        ]
        failed = [e for e in sign_ins if e["action"] == "sign_in.failed"]
        assert {e["detail"]["email"] for e in failed} == {
            "ann@example.org",
            "nobody@example.org",
            "nopass@example.org",
            "gone@example.org",
            "(not an email address)",  # what is typed is kept only when it is an email address
        }
        assert all(e["actor"] is None and e["address"] == "127.0.0.1" for e in failed)
        sessions = audit_events(site, "session")
        assert {(e["action"], e["actor"]) for e in sessions} == {
            ("session.create", "ann@example.org"),
            ("session.revoke", "ann@example.org"),
        }
        trail = json.dumps(audit_events(site, "sign_in") + sessions)
        assert PASSWORD not in trail and "not the password" not in trail and "ema_u." not in trail


def test_forms_need_csrf_tokens_and_redirects_stay_local(floe_server_sqlite):
    server = floe_server_sqlite
    with admin(server) as site:
        create_user(site, "ann@example.org", "Ann Example")

    with Browser(server.url) as browser, Browser(server.url) as other, Browser(server.url) as bare:
        page = browser.get("/login")
        fields = {**form(page, "/login")["fields"], "email": "ann@example.org", "password": PASSWORD}
        others_token = form(other.get("/login"), "/login")["fields"]["csrf"]
        for token in (None, "", "forged", others_token):
            data = {k: v for k, v in fields.items() if k != "csrf"} | (
                {"csrf": token} if token is not None else {}
            )
            response = browser.post("/login", data=data)
            assert response.status_code == 403, response.text
            assert "reload the page" in error_text(response) and browser.session is None
        # a valid token without the cookie it belongs to (a cross-site post) is refused too
        assert bare.post("/login", data=fields).status_code == 403
        assert bare.session is None

        response = browser.post("/login", data=fields)
        assert response.status_code == 303 and browser.session
        # once signed in, forms carry a token bound to the session: the old one no longer works
        refused = browser.post("/logout", data={"csrf": fields["csrf"]})
        assert refused.status_code == 403 and browser.get("/").status_code == 200
        assert browser.post("/device", data={"user_code": "BCDF-GHJK", "action": "lookup"}).status_code == 403
        # signed in, a sign-in page with a foreign next= goes home
        assert browser.get("/login", params={"next": "//evil.example"}).headers["location"] == "/"

    for target in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil",
    ):
        with Browser(server.url) as browser:
            response = browser.sign_in("ann@example.org", PASSWORD, next=target)
            assert response.status_code == 303 and response.headers["location"] == "/", target
    with Browser(server.url) as browser:
        response = browser.get("/device", params={"user_code": "BCDF-GHJK"})
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Fdevice%3Fuser_code%3DBCDF-GHJK"


def test_failed_sign_ins_are_limited_per_account_and_address(floe_server):
    """5 failures for one account from one address lock that account from that address (from
    elsewhere it stays open: tests/test_hardening.py)."""
    server = floe_server
    with admin(server) as site, Browser(server.url) as browser:
        create_user(site, "ann@example.org", "Ann Example")
        create_user(site, "bob@example.org", "Bob Example")
        pages = {}
        for email in ("ann@example.org", "ghost@example.org"):  # an account, and no account
            for attempt in range(5):
                response = browser.sign_in(email, f"wrong password {attempt}")
                assert response.status_code == 401 and error_text(response) == WRONG
            # the 6th attempt is refused before the password is looked at, right or wrong
            response = browser.sign_in(email, PASSWORD)
            assert response.status_code == 429, response.text
            pages[email] = error_text(response)
            assert browser.session is None
        # ... and the refusal reads the same whether or not the account exists
        assert pages == {"ann@example.org": LOCKED, "ghost@example.org": LOCKED}
        # other accounts from the same address are unaffected; ann stays locked from this address
        assert browser.sign_in("bob@example.org", PASSWORD).status_code == 303
        with Browser(server.url) as later:
            assert later.sign_in("ann@example.org", PASSWORD).status_code == 429

        locked = audit_events(site, "sign_in.locked")
        assert sorted(e["detail"]["email"] for e in locked) == ["ann@example.org", "ghost@example.org"]
        assert all(e["detail"]["scope"] == "account" and e["actor"] is None for e in locked)


def test_failed_attempts_are_limited_per_address(floe_server_sqlite):
    """30 failures from one address in 15 minutes, wrong passwords and wrong device codes alike."""
    server = floe_server_sqlite
    with admin(server) as site, Browser(server.url) as browser, Browser(server.url) as attacker:
        create_user(site, "ann@example.org", "Ann Example")
        assert browser.sign_in("ann@example.org", PASSWORD).status_code == 303
        for attempt in range(28):  # 4 per account: no account reaches its own limit
            response = attacker.sign_in(f"user{attempt % 7}@example.org", "guess")
            assert response.status_code == 401, response.text
        page = browser.get("/device")
        for guess in ("BBBB-BBBB", "not a code"):
            fields = {**form(page, "/device")["fields"], "user_code": guess}
            response = browser.post("/device", data=fields)
            assert response.status_code == 404 and "unknown or has expired" in error_text(response)
        fields = {**form(page, "/device")["fields"], "user_code": "CCCC-CCCC"}
        response = browser.post("/device", data=fields)
        assert response.status_code == 429 and error_text(response) == LOCKED
        with Browser(server.url) as fresh:
            response = fresh.sign_in("ann@example.org", PASSWORD)
            assert response.status_code == 429 and error_text(response) == LOCKED
        locked = audit_events(site, "sign_in.locked")
        assert [e["detail"]["scope"] for e in locked] == ["address"]


def test_pending_device_codes_are_limited_per_address(floe_server_sqlite):
    """One address may hold 20 unapproved device codes at once; the 21st start is refused with 429."""
    with httpx.Client(base_url=floe_server_sqlite.url, timeout=30) as cli:
        started = [cli.post("/auth/device/code", data={"client_id": f"loop {i}"}) for i in range(20)]
        assert all(r.status_code == 200 for r in started)
        refused = cli.post("/auth/device/code", data={"client_id": "one too many"})
        assert refused.status_code == 429 and "waiting for approval" in refused.json()["detail"]
        # the codes already handed out still work
        assert _oauth_error(_poll(cli, started[0].json()["device_code"])) == "authorization_pending"


def test_device_flow(floe_server):
    server = floe_server
    with (
        admin(server) as site,
        httpx.Client(base_url=server.url, timeout=60, trust_env=False) as cli,
        Browser(server.url) as browser,
    ):
        ann = create_user(site, "ann@example.org", "Ann Example")
        create_user(site, "bob@example.org", "Bob Example")

        started = cli.post("/auth/device/code", data={"client_id": "floe-cli on ann's laptop"})
        assert started.status_code == 200, started.text
        start = started.json()
        code = start["user_code"]
        assert USER_CODE.fullmatch(code) and len(start["device_code"]) >= 43
        assert (start["expires_in"], start["interval"]) == (600, 5)
        assert start["verification_uri"] == f"{server.url}/device"
        assert start["verification_uri_complete"] == f"{server.url}/device?user_code={code}"

        assert _oauth_error(_poll(cli, start["device_code"])) == "authorization_pending"
        assert _oauth_error(_poll(cli, start["device_code"])) == "slow_down"  # polled within 5 s

        # The verification link: sign in first, then back to the code.
        response = browser.get(f"/device?user_code={code}")
        assert response.status_code == 303
        login = browser.get(response.headers["location"])
        fields = {**form(login, "/login")["fields"], "email": "ann@example.org", "password": PASSWORD}
        response = browser.post("/login", data=fields)
        assert response.status_code == 303 and response.headers["location"] == f"/device?user_code={code}"
        page = browser.get(response.headers["location"])
        entry = form(page, "/device")["fields"]
        assert entry["user_code"] == code and entry["action"] == "lookup"
        wrong = browser.post("/device", data=entry | {"user_code": "BCDF-BCDF"})
        assert wrong.status_code == 404 and "unknown or has expired" in error_text(wrong)
        # typed in lower case with a space instead of the dash: still the same code
        confirm = browser.post("/device", data=entry | {"user_code": code.lower().replace("-", " ")})
        assert confirm.status_code == 200 and "floe-cli on ann&#39;s laptop" in confirm.text
        assert "127.0.0.1" in confirm.text
        done = browser.post("/device", data=form(confirm, "/device")["fields"] | {"action": "approve"})
        assert done.status_code == 200 and "Device approved" in done.text

        time.sleep(5.2)
        response = _poll(cli, start["device_code"])
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        token = response.json()
        assert token["token_type"] == "Bearer" and token["access_token"].startswith("ema_u.")
        assert token["expires_in"] == 30 * 86400
        # one token per device code
        assert _oauth_error(_poll(cli, start["device_code"])) == "invalid_grant"

        me = cli.get("/user", headers=bearer(token["access_token"])).json()
        assert (me["email"], me["kind"], me["id"]) == ("ann@example.org", "user", ann["id"])
        sessions = cli.get("/auth/sessions", headers=bearer(token["access_token"])).json()
        assert {(s["kind"], s["current"]) for s in sessions} == {("cli", True), ("web", False)}
        assert [s["client"] for s in sessions if s["kind"] == "cli"] == ["floe-cli on ann's laptop"]
        # a CLI token is no browser cookie
        with Browser(server.url) as other:
            other.http.cookies.set("floe_session", token["access_token"])
            assert other.get("/").status_code == 303

        # Denied in the browser: the device hears access_denied, and the code is spent.
        denied = cli.post("/auth/device/code", json={"client_id": "someone else's device"}).json()
        response = browser.approve(denied["user_code"], approve=False)
        assert response.status_code == 200 and "Device denied" in response.text
        assert _oauth_error(_poll(cli, denied["device_code"])) == "access_denied"
        again = browser.post(
            "/device",
            data=form(browser.get("/device"), "/device")["fields"] | {"user_code": denied["user_code"]},
        )
        assert again.status_code == 404

        # Sessions: end one from another (own only), then log out.
        second = cli.post("/auth/device/code").json()
        assert browser.approve(second["user_code"]).status_code == 200
        response = _poll(cli, second["device_code"])  # first poll of this code: no slow_down
        assert response.status_code == 200, response.text
        other_token = response.json()["access_token"]
        web_id = next(s["id"] for s in sessions if s["kind"] == "web")
        with Browser(server.url) as bobs:
            assert bobs.sign_in("bob@example.org", PASSWORD).status_code == 303
            bob_session = re.search(r"/sessions/([0-9a-f-]{36})/revoke", bobs.get("/").text).group(1)
            assert cli.delete(f"/auth/sessions/{bob_session}", headers=bearer(other_token)).status_code == 404
            assert bobs.get("/").status_code == 200
        assert cli.delete(f"/auth/sessions/{uuid.uuid4()}", headers=bearer(other_token)).status_code == 404
        assert cli.delete(f"/auth/sessions/{web_id}", headers=bearer(other_token)).status_code == 204
        assert browser.get("/").status_code == 303  # that browser is signed out

        assert cli.post("/auth/logout", headers=bearer(token["access_token"])).status_code == 204
        response = cli.get("/user", headers=bearer(token["access_token"]))
        assert response.status_code == 401 and "revoked" in response.json()["detail"]
        assert cli.get("/user", headers=bearer(other_token)).status_code == 200
        response = cli.post("/auth/logout", headers=bearer(server.token))
        assert response.status_code == 400 and "revoked by an org admin" in response.json()["detail"]
        assert cli.get("/auth/sessions", headers=bearer(server.token)).status_code == 400

        # The token endpoint speaks OAuth errors.
        response = cli.post("/auth/token", data={"grant_type": "password", "device_code": "x"})
        assert _oauth_error(response) == "unsupported_grant_type"
        assert _oauth_error(_poll(cli, "no-such-device-code")) == "invalid_grant"
        assert _oauth_error(cli.post("/auth/token", data={"grant_type": DEVICE_GRANT})) == "invalid_request"

        approvals = audit_events(site, "device")
        assert [(e["action"], e["actor"], e["detail"]["client"]) for e in approvals] == [
            ("device.approve", "ann@example.org", None),
            ("device.deny", "ann@example.org", "someone else's device"),
            ("device.approve", "ann@example.org", "floe-cli on ann's laptop"),
        ]
        created = [e for e in audit_events(site, "session.create") if e["detail"]["kind"] == "cli"]
        assert len(created) == 2 and {e["actor"] for e in created} == {"ann@example.org"}
        revoked = audit_events(site, "session.revoke")
        assert {e["detail"]["session_id"] for e in revoked} >= {web_id}


def _insecure(browser: Browser) -> None:
    for cookie in browser.http.cookies.jar:
        cookie.secure = False


def test_device_code_expiry_session_days_and_public_url(floe_factory):
    server = floe_factory(
        extra_args=["--session-days", "0.5", "--public-url", "https://floe.example.org/"],
        env={"FLOE_DEVICE_CODE_SECONDS": "1"},
    )
    with (
        admin(server) as site,
        httpx.Client(base_url=server.url, timeout=60, trust_env=False) as cli,
        Browser(server.url) as browser,
    ):
        assert cli.get("/auth/config").json() == {
            "password": True,
            "oidc": None,
            "device_authorization_endpoint": "https://floe.example.org/auth/device/code",
            "token_endpoint": "https://floe.example.org/auth/token",
            "domain": "floe.example.org",  # the arraylake client signs in at https://{domain}/oauth/...
            "client_id": "floe",
        }
        create_user(site, "ann@example.org", "Ann Example")
        # People come in over https://floe.example.org, so cookies are Secure; this test talks plain
        # http to the server itself, and so carries them over by hand.
        page = browser.get("/login")
        assert "Secure" in page.headers["set-cookie"]
        _insecure(browser)
        fields = form(page, "/login")["fields"] | {"email": "ann@example.org", "password": PASSWORD}
        cookie = browser.post("/login", data=fields).headers["set-cookie"]
        assert "Max-Age=43200" in cookie and "Secure" in cookie
        _insecure(browser)

        start = cli.post("/auth/device/code", data={"client_id": "slow"}).json()
        assert start["expires_in"] == 1
        assert start["verification_uri"] == "https://floe.example.org/device"
        time.sleep(1.5)
        assert _oauth_error(_poll(cli, start["device_code"])) == "expired_token"
        page = browser.get("/device", params={"user_code": start["user_code"]})
        response = browser.post("/device", data=form(page, "/device")["fields"])
        assert response.status_code == 404 and "unknown or has expired" in error_text(response)


def test_sign_in_state_is_shared_by_server_processes(floe_factory):
    """Failure counters, sessions and device codes live in the database: with several server
    processes behind one port, each request may meet another process and nothing changes."""
    server = floe_factory(extra_args=["--workers", "3"], env={"FLOE_DEVICE_INTERVAL_SECONDS": "1"})
    with admin(server) as site:
        create_user(site, "ann@example.org", "Ann Example")
    statuses = []
    for attempt in range(6):
        with Browser(server.url) as browser:  # a new connection each time
            statuses.append(
                browser.sign_in("ann@example.org", PASSWORD if attempt == 5 else "wrong").status_code
            )
    assert statuses == [401] * 5 + [429]

    with Browser(server.url) as browser:
        assert browser.sign_in("bob@example.org", "wrong").status_code == 401
    with admin(server) as site:
        create_user(site, "bob@example.org", "Bob Example")
    with Browser(server.url) as browser:
        assert browser.sign_in("bob@example.org", PASSWORD).status_code == 303
        for _ in range(3):
            with httpx.Client(base_url=server.url, trust_env=False) as cli:  # a new connection each time
                start = cli.post("/auth/device/code").json()
            assert browser.approve(start["user_code"]).status_code == 200
            with httpx.Client(base_url=server.url, trust_env=False) as cli:
                response = _poll(cli, start["device_code"])
                assert response.status_code == 200, response.text
            with httpx.Client(base_url=server.url, trust_env=False) as cli:
                assert _oauth_error(_poll(cli, start["device_code"])) == "invalid_grant"
                me = cli.get("/user", headers=bearer(response.json()["access_token"]))
                assert me.json()["email"] == "bob@example.org"
