"""Signing in through the official arraylake client (0.33): ``arraylake auth login|status|token|refresh|logout``
and ``Client.login()`` / ``logout()`` against ``floe serve --tls-cert/--tls-key``.

That client speaks https to the auth domain ``/auth/config`` names, so the server here has a certificate
from a throwaway CA that the client processes trust (``SSL_CERT_FILE``). The person's browser is the
``approve_device`` fixture, on Floe's own ``/device`` page.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services import admin_token, make_tls, start_floe

pytest.importorskip("arraylake")

ARRAYLAKE = str(Path(sys.executable).with_name("arraylake"))
EMAIL = "pat@example.org"
PASSWORD = "correct horse battery staple"
LINK = re.compile(r"https://\S+/device\?user_code=[A-Z]{4}-[A-Z]{4}")


@dataclass
class TlsFloe:
    url: str
    ca: str
    token: str  # an admin of org default


@pytest.fixture(scope="module")
def tls_floe(tmp_path_factory) -> Iterator[TlsFloe]:
    base = tmp_path_factory.mktemp("tls-floe")
    tls = make_tls(base)
    server = start_floe(base / "data", tls=tls, env={"FLOE_DEVICE_INTERVAL_SECONDS": "1"})
    try:
        site = {"authorization": f"Bearer {admin_token(server, site_admin=True)}"}
        with httpx.Client(base_url=server.url, headers=site, verify=str(tls[2]), trust_env=False) as http:
            made = http.post("/users", json={"email": EMAIL, "name": "Pat Person", "password": PASSWORD})
            assert made.status_code == 201, made.text
            joined = http.put(f"/orgs/default/members/{EMAIL}", json={"role": "member"})
            assert joined.status_code < 300, joined.text
        yield TlsFloe(server.url, str(tls[2]), server.token)
    finally:
        server.stop()


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


def _env(floe: TlsFloe, home: Path) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("ARRAYLAKE_", "HTTP", "HTTPS", "ALL_PROXY"))
    }
    return {
        **keep,
        "HOME": str(home),
        "ARRAYLAKE_SERVICE__URI": floe.url,
        "ARRAYLAKE_USER__DIAGNOSTICS": "false",
        "SSL_CERT_FILE": floe.ca,  # the arraylake client's httpx trusts the test CA
        "NO_PROXY": "*",
        "COLUMNS": "400",
        "PYTHONUNBUFFERED": "1",
    }


def _run(floe: TlsFloe, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ARRAYLAKE, *args],
        env=_env(floe, home),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _sign_in(floe: TlsFloe, home: Path, cmd: list[str], approve_device) -> str:
    """Run ``cmd`` (which signs in), approve the code it prints as the person, and return its output."""
    proc = subprocess.Popen(
        cmd,
        env=_env(floe, home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    seen = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if found := LINK.search(line):
                approve_device(found.group(0), EMAIL, PASSWORD, verify=floe.ca)
                break
        else:
            pytest.fail("no sign-in link was printed:\n" + "".join(seen))
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = "".join(seen) + rest
    assert proc.returncode == 0, out
    return out


def _stored(home: Path) -> dict[str, str]:
    return json.loads((home / ".arraylake" / "token.json").read_text())


def _user(floe: TlsFloe, token: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"}
    return httpx.get(f"{floe.url}/user", headers=headers, verify=floe.ca, trust_env=False)


def test_floe_client_trusts_the_ca_in_ssl_cert_file(tls_floe, monkeypatch):
    import floe
    from floe.tls import ssl_context

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(floe.FloeError):  # not trusted without it
        floe.Client(tls_floe.url, tls_floe.token).list_repos("default")
    default = ssl_context()
    monkeypatch.setenv("SSL_CERT_FILE", tls_floe.ca)
    assert floe.Client(tls_floe.url, tls_floe.token).list_repos("default") == []
    # one context per CA bundle, shared by every client of the process
    assert ssl_context() is ssl_context() and ssl_context() is not default


def test_auth_config_names_the_domain_and_the_token_routes_refuse_clearly(tls_floe):
    with httpx.Client(base_url=tls_floe.url, verify=tls_floe.ca, trust_env=False) as http:
        config = http.get("/auth/config", params={"target": "client"}).json()
        assert config["domain"] == tls_floe.url.removeprefix("https://") and config["client_id"] == "floe"
        wrong = http.post("/oauth/token", data={"grant_type": "password"})
        assert wrong.status_code == 400 and wrong.json()["error"] == "unsupported_grant_type"
        unknown = http.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "ema_nope"})
        assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"
        assert http.get("/v2/logout").status_code == 200


def test_the_arraylake_cli_signs_in_refreshes_and_signs_out(tls_floe, home, approve_device):
    before = _run(tls_floe, home, "auth", "status")
    assert before.returncode == 1 and "Not logged in" in before.stdout

    out = _sign_in(tls_floe, home, [ARRAYLAKE, "auth", "login", "--no-browser"], approve_device)
    assert "Successfully logged in" in out and "Could not update user profile" not in out, out
    first = _stored(home)["id_token"]
    assert _user(tls_floe, first).json()["email"] == EMAIL

    status = _run(tls_floe, home, "auth", "status")
    assert status.returncode == 0 and f"Logged in as {EMAIL}" in status.stdout, status.stdout + status.stderr
    shown = _run(tls_floe, home, "auth", "token")
    assert shown.returncode == 0 and first in shown.stdout.replace("\n", "").replace(" ", "")
    listed = _run(tls_floe, home, "repo", "list", "default")  # the client's OAuth bearer on an API route
    assert listed.returncode == 0, listed.stdout + listed.stderr

    refreshed = _run(tls_floe, home, "auth", "refresh")
    assert refreshed.returncode == 0 and "Successfully refreshed" in refreshed.stdout, refreshed.stdout
    second = _stored(home)["id_token"]
    assert second != first
    assert _user(tls_floe, first).status_code == 401  # each refresh ends the session it replaces
    assert _user(tls_floe, second).status_code == 200

    out = _run(tls_floe, home, "auth", "logout")
    assert out.returncode == 0 and "Successfully logged out" in out.stdout, out.stdout + out.stderr
    assert not (home / ".arraylake" / "token.json").exists()
    after = _run(tls_floe, home, "auth", "status")
    assert after.returncode == 1 and "Not logged in" in after.stdout
    # Its GET /v2/logout carries no token (nor cookie, query or body): the session cannot be told apart
    # there, and lasts until it expires or is ended, e.g. with the token at Floe's own /auth/logout.
    assert _user(tls_floe, second).status_code == 200
    bearer = {"authorization": f"Bearer {second}"}
    ended = httpx.post(f"{tls_floe.url}/auth/logout", headers=bearer, verify=tls_floe.ca, trust_env=False)
    assert ended.status_code == 204, ended.text
    assert _user(tls_floe, second).status_code == 401


def test_client_login_and_logout(tls_floe, home, approve_device):
    script = (
        "import arraylake, asyncio\n"
        "c = arraylake.Client()\n"
        "c.login()\n"
        "print('REPOS', [r.name for r in c.list_repos('default')])\n"
        "c.logout()\n"
    )
    out = _sign_in(tls_floe, home, [sys.executable, "-c", script], approve_device)
    assert "Successfully logged in" in out and "REPOS []" in out, out
    assert "Successfully logged out" in out and not (home / ".arraylake" / "token.json").exists(), out


def test_serve_refuses_bad_tls_files_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from floe.cli.main import app

    cert, key, _ = make_tls(tmp_path)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    cases = {
        ("--tls-cert", str(cert)): "--tls-cert and --tls-key go together",
        ("--tls-cert", str(cert), "--tls-key", str(tmp_path / "missing.key")): "missing.key: no such file",
        ("--tls-cert", str(junk), "--tls-key", str(key)): "not a PEM certificate and its key",
    }
    for args, message in cases.items():
        result = CliRunner().invoke(app, ["serve", "--data-dir", str(tmp_path / "d"), *args])
        assert result.exit_code == 1, result.output
        assert message in result.output and "Traceback" not in result.output, result.output
