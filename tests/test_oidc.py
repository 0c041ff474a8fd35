"""Sign-in with OpenID Connect against a real provider (panva/node-oidc-provider, run locally): the
browser flow through the provider's login and consent pages, user creation, matching and linking,
state checks, and approving ``floe auth login`` from a browser signed in that way."""

from __future__ import annotations

import html
import re
import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey, RSAKey

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
from floe.server.web import oidc
from oidc_fixtures import CLIENT_ID, PROVIDER_NAME, OidcSetup


def _to_callback(browser: Browser, setup: OidcSetup, login: str, *, next: str = "/") -> str:
    """Start a sign-in at Floe, go through the provider's login and consent pages as ``login``, and
    return the URL the provider sends the browser back to (not yet visited)."""
    response = browser.get("/auth/oidc/login", params={"next": next})
    assert response.status_code == 303, response.text
    url = response.headers["location"]
    assert url.startswith(f"{setup.provider.issuer}/auth?")
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [f"{setup.floe.url}/auth/oidc/callback"]
    assert query["state"][0] and query["nonce"][0] and query["code_challenge"][0]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}
    for _ in range(12):
        if url.startswith(f"{setup.floe.url}/auth/oidc/callback"):
            return url
        response = browser.http.get(url)
        if response.status_code == 200:  # a provider page: its login form, or its consent form
            page = form(response)
            fields = page["fields"]
            if fields.get("prompt") == "login":
                fields |= {"login": login, "password": "any password will do"}
            response = browser.http.post(urljoin(url, page["action"]), data=fields)
        assert response.is_redirect, f"{response.status_code} at {response.url}:\n{response.text[:2000]}"
        url = urljoin(str(response.url), response.headers["location"])
    raise AssertionError(f"the provider never sent the browser back to Floe (last URL {url})")


def _oidc_sign_in(browser: Browser, setup: OidcSetup, login: str, *, next: str = "/") -> httpx.Response:
    return browser.http.get(_to_callback(browser, setup, login, next=next))


def _users_by_email(site: httpx.Client) -> dict[str, dict]:
    response = site.get("/users")
    assert response.status_code == 200, response.text
    return {u["email"]: u for u in response.json()}


def test_oidc_sign_in_creates_the_user_once_then_matches_them(oidc_floe: OidcSetup):
    floe, provider = oidc_floe.floe, oidc_floe.provider
    with admin(floe) as site, Browser(floe.url) as browser:
        assert site.get("/auth/config").json()["oidc"] == PROVIDER_NAME
        login_page = browser.get("/login", params={"next": "/device"})
        assert f"Sign in with {PROVIDER_NAME}" in login_page.text
        assert 'href="/auth/oidc/login?next=/device"' in login_page.text

        response = _oidc_sign_in(browser, oidc_floe, "alice", next="/device")
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/device"
        cookies = response.headers.get_list("set-cookie")
        session_cookie = next(c for c in cookies if c.startswith("floe_session="))
        assert "HttpOnly" in session_cookie and "samesite=lax" in session_cookie.lower()
        assert any(c.startswith("floe_oidc=") and "Max-Age=0" in c for c in cookies)  # the flow is over
        account = browser.get("/")
        assert account.status_code == 200
        assert "Alice Example" in account.text and "alice@example.org" in account.text

        alice = _users_by_email(site)["alice@example.org"]
        assert (alice["name"], alice["upstream"], alice["has_password"]) == (
            "Alice Example",
            provider.issuer,
            False,
        )

        # Another browser, another trip through the provider: the same account, matched by (issuer, sub).
        with Browser(floe.url) as second:
            response = _oidc_sign_in(second, oidc_floe, "alice")
            assert response.status_code == 303 and response.headers["location"] == "/"
            assert "alice@example.org" in second.get("/").text
        assert _users_by_email(site)["alice@example.org"]["id"] == alice["id"]
        assert [e["resource"] for e in audit_events(site, "user.create")] == ["users/alice@example.org"]
        succeeded = audit_events(site, "sign_in.succeeded")
        assert [(e["actor"], e["detail"]["method"]) for e in succeeded] == [("alice@example.org", "oidc")] * 2

        # No password was ever set: password sign-in says what it always says.
        with Browser(floe.url) as third:
            response = third.sign_in("alice@example.org", PASSWORD)
            assert response.status_code == 401 and error_text(response) == "email or password is wrong"


def test_oidc_links_a_verified_email_and_refuses_the_rest(oidc_floe: OidcSetup):
    floe, provider = oidc_floe.floe, oidc_floe.provider
    with admin(floe) as site:
        bob = create_user(site, "bob@example.org", "Bob Builder")
        create_user(site, "carol@example.org", "Carol Example")

        with Browser(floe.url) as browser:  # bob's provider account vouches for bob@example.org
            response = _oidc_sign_in(browser, oidc_floe, "bob@example.org")
            assert response.status_code == 303, response.text
            assert "Bob Builder" in browser.get("/").text
        linked = _users_by_email(site)["bob@example.org"]
        assert (linked["id"], linked["upstream"], linked["has_password"]) == (
            bob["id"],
            provider.issuer,
            True,
        )
        with Browser(floe.url) as browser:  # the password still works too
            assert browser.sign_in("bob@example.org", PASSWORD).status_code == 303

        with Browser(floe.url) as browser:  # an address the provider does not vouch for links nothing
            response = _oidc_sign_in(browser, oidc_floe, "unverified:carol@example.org")
            assert response.status_code == 401 and "email_verified" in error_text(response)
            assert browser.session is None
        assert _users_by_email(site)["carol@example.org"]["upstream"] is None

        assert site.patch("/users/bob@example.org", json={"disabled": True}).status_code == 200
        with Browser(floe.url) as browser:
            response = _oidc_sign_in(browser, oidc_floe, "bob@example.org")
            assert response.status_code == 401 and "disabled" in error_text(response)
            assert browser.session is None

        failed = audit_events(site, "sign_in.failed")
        assert [(e["detail"]["email"], e["detail"]["method"]) for e in failed] == [
            ("bob@example.org", "oidc"),
            ("carol@example.org", "oidc"),
        ]


def test_oidc_state_is_checked(oidc_floe: OidcSetup):
    floe = oidc_floe.floe
    with Browser(floe.url) as browser:
        genuine = _to_callback(browser, oidc_floe, "erin")
        parts = urlsplit(genuine)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert set(query) >= {"code", "state", "iss"}
        tampered = urlunsplit(parts._replace(query=urlencode(query | {"state": query["state"][:-2] + "xx"})))
        response = browser.http.get(tampered)
        assert response.status_code == 400 and "state mismatch" in error_text(response)
        assert browser.session is None
        with Browser(floe.url) as elsewhere:  # the answer, in a browser that never started a sign-in
            response = elsewhere.http.get(genuine)
            assert response.status_code == 400 and elsewhere.session is None
        # a forged answer does not cancel the sign-in under way
        flow = browser.http.cookies.get("floe_oidc")
        response = browser.http.get(genuine)
        assert response.status_code == 303 and browser.session is not None
        assert browser.http.cookies.get("floe_oidc") is None
        # and the answer cannot be replayed, not even with the flow cookie: the provider refuses the code
        with Browser(floe.url) as replay:
            replay.http.cookies.set("floe_oidc", flow, domain=urlsplit(floe.url).hostname, path="/auth/oidc")
            response = replay.http.get(genuine)
            assert response.status_code == 401 and "refused the authorization code" in error_text(response)
            assert replay.session is None

    with Browser(floe.url) as browser:  # the person cancels at the provider
        response = browser.get("/auth/oidc/login")
        page = browser.http.get(response.headers["location"], follow_redirects=True)
        abort = html.unescape(re.search(r'href="([^"]*/abort)"', page.text).group(1))
        response = browser.http.get(urljoin(str(page.url), abort))
        while response.is_redirect:  # back through the provider, then to Floe's callback
            response = browser.http.get(urljoin(str(response.url), response.headers["location"]))
        assert response.url.path == "/auth/oidc/callback"
        assert response.status_code == 401 and "access_denied" in error_text(response)
        assert browser.session is None


def test_device_approval_from_a_browser_signed_in_with_oidc(oidc_floe: OidcSetup):
    floe = oidc_floe.floe
    with httpx.Client(base_url=floe.url, timeout=60, trust_env=False) as cli, Browser(floe.url) as browser:
        start = cli.post("/auth/device/code", data={"client_id": "floe-cli"}).json()
        response = browser.http.get(start["verification_uri_complete"])
        assert response.status_code == 303
        login = browser.get(response.headers["location"])
        link = html.unescape(re.search(r'href="(/auth/oidc/login\?next=[^"]+)"', login.text).group(1))
        next_path = parse_qs(urlsplit(link).query)["next"][0]
        assert next_path == f"/device?user_code={start['user_code']}"
        response = _oidc_sign_in(browser, oidc_floe, "dave", next=next_path)
        assert response.status_code == 303 and response.headers["location"] == next_path

        done = browser.approve(start["user_code"])
        assert done.status_code == 200 and "Device approved" in done.text
        response = cli.post(
            "/auth/token", data={"grant_type": DEVICE_GRANT, "device_code": start["device_code"]}
        )
        assert response.status_code == 200, response.text
        me = cli.get("/user", headers=bearer(response.json()["access_token"])).json()
        assert (me["email"], me["name"], me["kind"]) == ("dave@example.org", "Dave Example", "user")


def test_id_token_checks():
    """Floe's ID token validation on its own (no provider): signature against the JWKS, algorithm,
    iss, aud, exp and nonce."""
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    impostor = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    meta = {
        "issuer": "https://idp.test",
        "jwks_uri": "https://idp.test/jwks-for-unit-test",
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    oidc._cache["jwks:" + meta["jwks_uri"]] = (time.monotonic(), {"keys": [key.as_dict(private=False)]})
    settings = SimpleNamespace(oidc_client_id="floe")
    now = int(time.time())
    good = {
        "iss": "https://idp.test",
        "aud": "floe",
        "sub": "u1",
        "exp": now + 300,
        "iat": now,
        "nonce": "n1",
    }

    def token(claims: dict, signer=key, alg: str = "RS256") -> dict:
        return {"id_token": jwt.encode({"alg": alg, "kid": "k1"}, claims, signer)}

    assert oidc.validate_id_token(settings, meta, token(good), "n1")["sub"] == "u1"
    assert oidc.validate_id_token(settings, meta, token(good | {"aud": ["floe", "x"], "azp": "floe"}), "n1")
    for bad, nonce in [
        (token(good, signer=impostor), "n1"),  # signed by another key
        (token(good, signer=OctKey.import_key(b"k" * 32), alg="HS256"), "n1"),  # an algorithm not offered
        (token(good | {"iss": "https://elsewhere.test"}), "n1"),
        (token(good | {"aud": "another-client"}), "n1"),
        (token(good | {"exp": now - 3600}), "n1"),
        (token(good), "another nonce"),
        (token({k: v for k, v in good.items() if k != "nonce"}), "n1"),
    ]:
        with pytest.raises(JoseError):
            oidc.validate_id_token(settings, meta, bad, nonce)
