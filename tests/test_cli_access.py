"""``floe auth``, ``floe user``, ``floe member``, ``floe repo grant*`` and ``floe audit`` against a real
server (one SQLite server for the module): in this process (typer's runner), except the sign-in flow,
which runs ``floe`` as real subprocesses from the login to the logout."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli_runner import Floe, error_line
from services import FloeServer, bootstrap_token, running_floe, unique_name

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FloeServer]:
    """One Floe server (SQLite) for the whole module."""
    with running_floe(tmp_path_factory.mktemp("cli-access-server")) as srv:
        yield srv


@pytest.fixture(scope="module")
def site_admin_token(server: FloeServer) -> str:
    return bootstrap_token(server)


@pytest.fixture
def floe(server: FloeServer, site_admin_token: str, tmp_path: Path) -> Floe:
    """The CLI as the site admin (an API client), with its own empty config directory."""
    config_dir = tmp_path / "floe-config"
    config_dir.mkdir()
    return Floe(server, config_dir, site_admin_token, in_process=True)


def whoami_status(server: FloeServer, token: str) -> int:
    """The status of a raw ``GET /user`` with ``token``."""
    return httpx.get(
        f"{server.url}/user", headers={"authorization": f"Bearer {token}"}, trust_env=False
    ).status_code


def make_user(floe: Floe, *, password: str = PASSWORD) -> str:
    email = f"{unique_name('p-')}@example.org"
    floe.ok("user", "create", email, "Pat Person", "--password-stdin", stdin=password + "\n")
    return email


# --------------------------------------------------------------------------------------------- users


def test_help_lists_the_new_groups(floe: Floe) -> None:
    top = floe.ok("--help").out
    for group in ("auth", "user", "member", "audit"):
        assert f" {group} " in top
    repo = floe.ok("repo", "--help").out
    for command in ("grant", "grants", "revoke-grant"):
        assert f" {command} " in repo


def test_user_create_with_password_stdin_get_list_update(floe: Floe) -> None:
    email = f"{unique_name('ada-')}@Example.org"
    created = floe(
        "user", "create", email, "Ada Lovelace", "--password-stdin", "--json", stdin=PASSWORD + "\n"
    ).json()
    assert created["email"] == email.lower()
    assert (created["name"], created["has_password"], created["is_site_admin"]) == (
        "Ada Lovelace",
        True,
        False,
    )

    shown = floe.ok("user", "get", email.lower()).out
    assert "Ada Lovelace" in shown and "password" in shown
    assert floe("user", "get", created["id"], "--json").json()["email"] == email.lower()
    assert email.lower() in {u["email"] for u in floe("user", "list", "--json").json()}

    updated = floe("user", "update", email.lower(), "--name", "Ada King", "--disable", "--json").json()
    assert (updated["name"], updated["disabled"]) == ("Ada King", True)
    assert floe("user", "update", email.lower(), "--enable", "--json").json()["disabled"] is False
    new_password = "another long enough password"
    floe.ok("user", "update", email.lower(), "--password-stdin", stdin=new_password)
    assert not [text for text in floe.outputs if PASSWORD in text or new_password in text]


def test_user_password_usage_errors(floe: Floe) -> None:
    email = f"{unique_name('bad-')}@example.org"
    short = floe("user", "create", email, "Short", "--password-stdin", stdin="short\n")
    assert "at least" in error_line(short, 2)
    both = floe("user", "create", email, "Both", "--password", "--password-stdin", stdin=PASSWORD)
    assert "--password-stdin" in error_line(both, 2)
    # --password prompts, and never without a terminal (stdin is a pipe here)
    assert "terminal" in error_line(floe("user", "create", email, "Prompt", "--password"), 2)
    assert floe("user", "create", email, "Pat", "--password", PASSWORD).code == 2  # no value for --password
    assert "nothing to change" in error_line(floe("user", "update", email), 2)
    assert "no user" in error_line(floe("user", "get", email), 1)


def test_user_commands_need_a_site_admin(floe: Floe, server: FloeServer) -> None:
    # server.token is an org admin of `default`, not a site admin
    denied = floe("user", "list", token=server.token)
    assert denied.code == 1 and "site admin" in error_line(denied, 1)


# --------------------------------------------------------------------------------------------- members


def test_member_set_list_remove(floe: Floe) -> None:
    email = make_user(floe)
    member = floe("member", "set", "default", email, "viewer", "--json").json()
    assert (member["email"], member["role"]) == (email, "viewer")
    assert member["id"] == member["user_id"]  # every object's identifier is `id`
    assert "viewer" in floe.ok("member", "set", "default", email, "viewer").out

    listed = {m["email"]: m["role"] for m in floe("member", "list", "default", "--json").json()}
    assert listed[email] == "viewer"
    floe.ok("member", "set", "default", email, "admin")
    table = floe.ok("member", "list", "default").out
    assert email in table and "admin" in table
    assert floe("user", "get", email, "--json").json()["orgs"] == {"default": "admin"}

    bad = error_line(floe("member", "set", "default", email, "emperor"), 2)
    assert "emperor" in bad and all(role in bad for role in ("owner", "admin", "member", "viewer"))

    floe.ok("member", "remove", "default", email)
    assert email not in {m["email"] for m in floe("member", "list", "default", "--json").json()}
    error_line(floe("member", "remove", "default", email), 1)


# --------------------------------------------------------------------------------------------- grants


def test_repo_grant_grants_revoke(floe: Floe) -> None:
    email = make_user(floe)
    floe.ok("member", "set", "default", email, "viewer")
    repo = f"default/{unique_name('g-')}"
    floe.ok("repo", "create", repo, "--bucket", "local")

    granted = floe("repo", "grant", repo, email, "write", "--json").json()
    assert (granted["principal"], granted["principal_kind"], granted["level"]) == (email, "user", "write")
    assert "admin" in floe.ok("repo", "grant", repo, email, "admin").out
    grants = floe("repo", "grants", repo, "--json").json()
    assert [(g["principal"], g["level"]) for g in grants] == [(email, "admin")]
    assert grants[0]["id"] == grants[0]["principal_id"]
    assert email in floe.ok("repo", "grants", repo).out

    bad = error_line(floe("repo", "grant", repo, email, "god"), 2)
    assert "god" in bad and all(level in bad for level in ("read", "write", "admin"))
    assert "ORG/REPO" in error_line(floe("repo", "grants", "noslash"), 1)

    floe.ok("repo", "revoke-grant", repo, email)
    assert floe("repo", "grants", repo, "--json").json() == []
    assert "no grants" in floe.ok("repo", "grants", repo).out.lower()
    floe.ok("repo", "delete", repo, "--yes")


# --------------------------------------------------------------------------------------------- audit


def test_audit_list_filters_json_and_paging(floe: Floe) -> None:
    email = make_user(floe)
    floe.ok("member", "set", "default", email, "member")
    repo = f"default/{unique_name('a-')}"
    floe.ok("repo", "create", repo, "--bucket", "local")
    floe.ok("repo", "grant", repo, email, "read")

    events = floe("audit", "list", "--org", "default", "--json").json()
    assert isinstance(events, list)  # a list is a JSON array, one page or all of them
    actions = [e["action"] for e in events]
    assert "repo.create" in actions and "grant.set" in actions

    by_resource = floe("audit", "list", "--org", "default", "--resource", repo, "--json").json()
    assert by_resource and all(e["resource"] == repo for e in by_resource)
    assert {e["action"] for e in by_resource} >= {"repo.create", "grant.set"}

    by_action = floe("audit", "list", "--org", "default", "--action", "repo.create", "--json").json()
    assert by_action and {e["action"] for e in by_action} == {"repo.create"}
    assert repo in {e["resource"] for e in by_action}

    me = floe("auth", "status", "--json").json()["principal"]["name"]
    by_actor = floe("audit", "list", "--org", "default", "--actor", me, "--json").json()
    assert by_actor and {e["actor"] for e in by_actor} == {me}
    assert floe("audit", "list", "--org", "default", "--actor", "nobody@example.org", "--json").json() == []

    recent = floe("audit", "list", "--org", "default", "--since", "1h", "--json").json()
    assert repo in {e["resource"] for e in recent}
    assert floe("audit", "list", "--org", "default", "--until", "2000-01-01", "--json").json() == []
    assert floe("audit", "list", "--org", "default", "--since", "2000-01-01T00:00Z", "--json").json()

    table = floe.ok("audit", "list", "--org", "default", "--resource", repo).out
    assert "repo.create" in table and "grant.set" in table

    one = floe("audit", "list", "--org", "default", "--limit", "1", "--json")
    assert len(one.json()) == 1
    cursor = re.search(r"--cursor (\S+)", one.err)  # where the next page starts: on stderr
    assert cursor, one.describe()
    hint = floe.ok("audit", "list", "--org", "default", "--limit", "1").out
    assert "--cursor" in hint
    second = floe(
        "audit", "list", "--org", "default", "--limit", "1", "--cursor", cursor.group(1), "--json"
    ).json()  # fmt: skip
    assert second and second[0]["id"] < one.json()[0]["id"]

    all_pages = floe("audit", "list", "--org", "default", "--limit", "2", "--all", "--json")
    assert "--cursor" not in all_pages.err
    ids = [e["id"] for e in all_pages.json()]
    assert len(ids) == len(set(ids)) >= len(events)
    assert ids == sorted(ids, reverse=True)
    site_wide = floe("audit", "list", "--all", "--json").json()  # site admin: every org
    assert len(site_wide) >= len(ids)

    for option in ("--since", "--until"):
        line = error_line(floe("audit", "list", option, "yesterday"), 2)
        assert "yesterday" in line and "ISO 8601" in line and "7d" in line
    assert "--limit" in error_line(floe("audit", "list", "--limit", "0"), 2)
    too_many = error_line(floe("audit", "list", "--limit", "100000"), 1)
    assert "--limit must be at most" in too_many and "Input should" not in too_many, too_many


# --------------------------------------------------------------------------------------------- auth


def test_auth_status_with_an_api_token_and_without_any(floe: Floe) -> None:
    status = floe.ok("auth", "status").out
    assert "API client" in status and "FLOE_TOKEN" in status
    assert floe.token not in status
    data = floe("auth", "status", "--json").json()
    assert data["token_source"] == "FLOE_TOKEN" and data["principal"]["kind"] == "api_client"
    assert floe.token not in json.dumps(data)
    assert "not signed in" in error_line(floe("auth", "status", token=None), 1)
    # logout with an API client token changes nothing on the server and says how tokens are revoked
    out = floe.ok("auth", "logout")
    assert "floe token revoke" in out.err
    floe.ok("auth", "status")


def _start_login(floe: Floe, *extra: str) -> tuple[subprocess.Popen[str], str, str]:
    """Start ``floe auth login`` without FLOE_TOKEN; return the process, the URL and the code it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "floe", "auth", "login", *extra],
        env=floe.env(None),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + 60
    url = code = None
    while time.monotonic() < deadline and not (url and code):
        line = process.stdout.readline()
        if not line:
            break
        seen += line
        url = url or (m.group(0) if (m := re.search(r"https?://\S+/device\?user_code=\S+", line)) else None)
        code = code or (m.group(1) if (m := re.search(r"code ([A-Z]{4}-[A-Z]{4})", line)) else None)
    assert url and code, f"floe auth login printed no URL and code:\n{seen}"
    return process, url, code


def _finish(process: subprocess.Popen[str]) -> str:
    out, _ = process.communicate(timeout=90)
    assert process.returncode == 0, out
    return out


def test_auth_login_end_to_end(floe: Floe, server: FloeServer, approve_device, tmp_path: Path) -> None:
    floe = floe.in_subprocesses()  # the whole sign-in flow as a person runs it
    email = make_user(floe)
    floe.ok("member", "set", "default", email, "member")
    floe.config_dir = tmp_path / "not-yet" / "floe"
    process, url, code = _start_login(floe)
    try:
        assert code in url
        approve_device(url, email, PASSWORD)
        out = _finish(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert email in out

    sessions_file = floe.config_dir / "sessions.json"
    assert stat.S_IMODE(sessions_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(floe.config_dir.stat().st_mode) == 0o700  # created by the login
    stored = json.loads(sessions_file.read_text())[server.url]
    token = stored["token"]
    assert token.startswith("ema_u.") and stored["email"] == email and stored["expires"]

    status = floe.ok("auth", "status", token=None).out
    assert email in status and "person" in status and "default (member)" in status
    assert "session" in status and token not in status
    data = floe("auth", "status", "--json", token=None).json()
    assert data["token_source"] == "session" and data["principal"]["email"] == email

    floe.ok("repo", "list", token=None)
    sessions = floe("auth", "sessions", "--json", token=None).json()
    assert any(s["current"] and s["kind"] == "cli" for s in sessions)
    renamed = floe("auth", "set-name", "Grace B. Hopper", "--json", token=None).json()
    assert renamed["name"] == "Grace B. Hopper" and renamed["email"] == email
    assert floe("auth", "status", "--json", token=None).json()["principal"]["name"] == "Grace B. Hopper"

    floe.ok("auth", "logout", token=None)
    assert server.url not in json.loads(sessions_file.read_text())
    assert stat.S_IMODE(sessions_file.stat().st_mode) == 0o600
    assert whoami_status(server, token) == 401
    assert "not signed in" in error_line(floe("auth", "status", token=None), 1)
    assert token not in "".join(floe.outputs)


def test_auth_sessions_revoke_and_expired_session(floe: Floe, server: FloeServer, approve_device) -> None:
    email = make_user(floe)
    process, url, _ = _start_login(floe)
    try:
        approve_device(url, email, PASSWORD)
        _finish(process)
    finally:
        if process.poll() is None:
            process.kill()
    sessions_file = floe.config_dir / "sessions.json"
    token = json.loads(sessions_file.read_text())[server.url]["token"]

    # a second session (as from another machine) shows up, and can be ended from here
    other_process, other_url, _ = _start_login(floe, "--service-uri", server.url)
    try:
        approve_device(other_url, email, PASSWORD)
        _finish(other_process)
    finally:
        if other_process.poll() is None:
            other_process.kill()
    newer = json.loads(sessions_file.read_text())[server.url]["token"]
    assert newer != token
    listed = floe("auth", "sessions", "--json", token=None).json()
    assert len(listed) >= 2
    older = [s for s in listed if not s["current"]]
    assert older
    table = floe.ok("auth", "sessions", token=None).out
    assert "cli" in table
    for session in older:
        floe.ok("auth", "revoke-session", session["id"], token=None)
    assert whoami_status(server, token) == 401
    assert len(floe("auth", "sessions", "--json", token=None).json()) == 1

    # an expired stored session is ignored, and `auth status` says so
    data = json.loads(sessions_file.read_text())
    data[server.url]["expires"] = "2000-01-01T00:00:00+00:00"
    sessions_file.write_text(json.dumps(data))
    os.chmod(sessions_file, 0o644)
    result = floe("auth", "status", token=None)
    assert result.code == 1 and "expired" in result.err and "not signed in" in result.err
    assert stat.S_IMODE(sessions_file.stat().st_mode) == 0o600  # tightened when read
    floe.ok("auth", "logout", token=None)  # ends it on the server too, and forgets it
    assert server.url not in json.loads(sessions_file.read_text())
    assert whoami_status(server, newer) == 401
