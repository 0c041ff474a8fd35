"""A minimal browser for the sign-in tests: httpx with a cookie jar, no automatic redirects, and
helpers to read the forms of Floe's pages (CSRF token, error message) and to sign in."""

from __future__ import annotations

import html
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import httpx

PASSWORD = "correct horse battery staple"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": {}}
            )
        elif self.forms and tag == "input" and a.get("name") and a.get("type") not in ("submit", "checkbox"):
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")


def forms(response: httpx.Response) -> list[dict]:
    """Every form of the page: ``{"action", "method", "fields"}`` (fields a browser would send)."""
    parser = _Forms()
    parser.feed(response.text)
    return parser.forms


def form(response: httpx.Response, action: str | None = None) -> dict:
    for found in forms(response):
        if action is None or found["action"].split("?")[0] == action:
            return found
    raise AssertionError(f"no form posting to {action} on {response.url}:\n{response.text[:3000]}")


def error_text(response: httpx.Response) -> str:
    """The error message a Floe page shows (``<p class="error">``), unescaped."""
    match = re.search(r'<p class="error"[^>]*>(.*?)</p>', response.text, re.S)
    assert match, f"no error message on the page ({response.status_code}):\n{response.text[:3000]}"
    return html.unescape(match.group(1)).strip()


class Browser:
    """A browser talking to one Floe server (cookies kept, redirects not followed)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=60, trust_env=False)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.http.close()

    def get(self, url: str, **kwargs) -> httpx.Response:
        return self.http.get(url, **kwargs)

    def post(self, url: str, **kwargs) -> httpx.Response:
        return self.http.post(url, **kwargs)

    def csrf(self, response: httpx.Response) -> str:
        return form(response)["fields"]["csrf"]

    @property
    def session(self) -> str | None:
        return self.http.cookies.get("floe_session")

    def sign_in(self, email: str, password: str, next: str | None = None) -> httpx.Response:
        """Open the sign-in page and submit it; the answer (303 on success) is returned unfollowed."""
        page = self.get("/login", params={"next": next} if next else None)
        assert page.status_code == 200, page.text
        fields = {**form(page, "/login")["fields"], "email": email, "password": password}
        if next is not None:
            fields["next"] = next
        return self.post("/login", data=fields)

    def approve(self, user_code: str, *, approve: bool = True) -> httpx.Response:
        """Enter ``user_code`` on /device (signed in already) and approve or deny it."""
        page = self.get("/device", params={"user_code": user_code})
        assert page.status_code == 200, page.text
        page = self.post("/device", data=form(page, "/device")["fields"])
        assert page.status_code == 200, page.text
        fields = {**form(page, "/device")["fields"], "action": "approve" if approve else "deny"}
        return self.post("/device", data=fields)


def site_admin_token(server) -> str:
    """The token ``floe serve`` made at first start (a site admin), from the config file it wrote."""
    with (Path(server.env["FLOE_CONFIG_DIR"]) / "config.toml").open("rb") as fh:
        return tomllib.load(fh)["token"]


def admin(server) -> httpx.Client:
    """An API client acting as the server's site admin."""
    return httpx.Client(
        base_url=server.url,
        headers={"authorization": f"Bearer {site_admin_token(server)}"},
        timeout=60,
        trust_env=False,
    )


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def create_user(http: httpx.Client, email: str, name: str, password: str | None = PASSWORD) -> dict:
    body = {"email": email, "name": name} | ({"password": password} if password else {})
    response = http.post("/users", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def audit_events(http: httpx.Client, action: str) -> list[dict]:
    """The site-wide audit trail for an action (or family), newest first."""
    response = http.get("/audit", params={"action": action, "limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["items"]
