"""``floe.Client`` / ``floe.AsyncClient`` for people and access, against a real server (one SQLite server
for the module): signing in with the device flow and out, sessions, users, members, grants, audit."""

from __future__ import annotations

import asyncio
import json
import re
import stat
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import floe
from floe.client import _access as access_ops
from floe.client._transport import (
    CLIENT_INFO,
    Call,
    ClientInfo,
    Sleep,
    build_request,
    default_headers,
    finish,
)
from floe.models import AuditEvent, AuditPage, Grant, Member, Principal, Session, User
from services import InProcessFloe, bootstrap_token, running_floe_in_process, unique_name

PASSWORD = "correct horse battery staple"
URL = re.compile(r"https?://\S+/device\?user_code=[A-Z-]+")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFloe]:
    """One Floe server (SQLite) for the whole module."""
    with running_floe_in_process(tmp_path_factory.mktemp("client-access-server")) as srv:
        yield srv


@pytest.fixture(scope="module")
def site_admin_token(server: InProcessFloe) -> str:
    return bootstrap_token(server)


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty config directory, and no FLOE_* variables: only what a test passes or stores counts."""
    for name in ("FLOE_TOKEN", "FLOE_SERVICE_URI", "FLOE_ORG"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "config" / "floe"
    monkeypatch.setenv("FLOE_CONFIG_DIR", str(path))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return path


@pytest.fixture
def admin(server: InProcessFloe, site_admin_token: str) -> Iterator[floe.Client]:
    with floe.Client(service_uri=server.url, token=site_admin_token) as client:
        yield client


def new_person(admin: floe.Client, role: str | None = "member") -> str:
    email = f"{unique_name('p-')}@example.org"
    admin.create_user(email, "Pat Person", password=PASSWORD)
    if role:
        admin.set_member("default", email, role)
    return email


def status_of(server: InProcessFloe, token: str) -> int:
    headers = {"authorization": f"Bearer {token}"}
    return httpx.get(f"{server.url}/user", headers=headers, trust_env=False).status_code


class Printed:
    """What the client printed on stderr so far (captured by pytest), read as it comes."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.text = ""

    def poll(self) -> str | None:
        self.text += self.capsys.readouterr().err
        found = URL.search(self.text)
        return found.group(0) if found else None

    def wait_for_url(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if url := self.poll():
                return url
            time.sleep(0.05)
        raise AssertionError(f"login printed no URL:\n{self.text}")


def test_login_whoami_logout(
    server: InProcessFloe, admin: floe.Client, approve_device, config_dir: Path, capsys
) -> None:
    email = new_person(admin)
    printed = Printed(capsys)
    client = floe.Client(service_uri=server.url)
    assert client.token is None and client.token_source is None
    errors: list[BaseException] = []

    def run() -> None:
        try:
            client.login()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        url = printed.wait_for_url()
        code = url.rsplit("=", 1)[1]
        assert code in printed.text  # the code is shown on its own too, to compare with the page
        approve_device(url, email, PASSWORD)
    finally:
        thread.join(60)
    assert not thread.is_alive() and not errors, errors
    printed.poll()
    assert email in printed.text

    token = client.token
    assert token and token.startswith("ema_u.")
    me = client.whoami()
    assert isinstance(me, Principal) and (me.kind, me.email) == ("user", email)
    assert me.orgs == {"default": "member"}
    client.list_repos("default")
    assert token not in printed.text

    stored = json.loads((config_dir / "sessions.json").read_text())[server.url]
    assert stored["token"] == token and stored["email"] == email
    assert datetime.fromisoformat(stored["expires"]) > datetime.now(UTC) + timedelta(days=1)
    assert stat.S_IMODE((config_dir / "sessions.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700

    # a new client for the same server uses the stored session; an explicit token still wins
    with floe.Client(service_uri=server.url) as again:
        assert (again.token, again.token_source) == (token, "session")
        sessions = again.list_sessions()
        assert sessions and all(isinstance(s, Session) for s in sessions)
        assert [s.kind for s in sessions if s.current] == ["cli"]
    with floe.Client(service_uri=server.url, token=admin.token) as explicit:
        assert explicit.token_source == "argument" and explicit.whoami().kind == "api_client"

    client.logout()
    assert client.token is None
    assert server.url not in json.loads((config_dir / "sessions.json").read_text())
    assert status_of(server, token) == 401
    with pytest.raises(floe.AuthenticationError):
        client.whoami()
    client.logout()  # nothing stored any more: says so, no error
    client.close()


def test_logout_with_an_api_token_changes_nothing(server: InProcessFloe, admin: floe.Client, capsys) -> None:
    admin.logout()
    assert "floe token revoke" in capsys.readouterr().err
    assert admin.token and status_of(server, admin.token) == 200
    admin.whoami()


def test_denied_sign_in_raises(
    server: InProcessFloe, admin: floe.Client, approve_device, config_dir, capsys
) -> None:
    email = new_person(admin, role=None)
    printed = Printed(capsys)
    client = floe.Client(service_uri=server.url)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            client.login()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        approve_device(printed.wait_for_url(), email, PASSWORD, approve=False)
    finally:
        thread.join(60)
    assert len(errors) == 1 and isinstance(errors[0], floe.AuthenticationError), errors
    assert "denied" in str(errors[0])
    assert client.token is None and not (config_dir / "sessions.json").exists()
    client.close()


def test_async_login_does_not_block_the_loop_then_logout(
    server: InProcessFloe, admin: floe.Client, approve_device, config_dir: Path, capsys
) -> None:
    email = new_person(admin, role="viewer")
    printed = Printed(capsys)

    async def main() -> tuple[int, str]:
        async with floe.AsyncClient(service_uri=server.url) as client:
            login = asyncio.create_task(client.login())
            ticks = 0
            url = None
            while url is None:
                await asyncio.sleep(0.05)
                ticks += 1
                url = printed.poll()
                assert not login.done() or login.exception() is None, login.exception()
            approval = asyncio.create_task(asyncio.to_thread(approve_device, url, email, PASSWORD))
            while not login.done():
                await asyncio.sleep(0.05)
                ticks += 1
            await login
            await approval
            token = client.token
            me = await client.whoami()
            assert (me.email, me.orgs) == (email, {"default": "viewer"})
            assert [s.kind for s in await client.list_sessions() if s.current] == ["cli"]
            await client.logout()
            assert client.token is None
            return ticks, token

    ticks, token = asyncio.run(main())
    assert ticks > 40  # the loop kept running through at least one polling interval (>= 1 s)
    assert status_of(server, token) == 401
    assert server.url not in json.loads((config_dir / "sessions.json").read_text())


# --------------------------------------------------------------------------------------------- people


def test_users_members_grants_and_audit_sync(server: InProcessFloe, admin: floe.Client) -> None:
    email = f"{unique_name('u-')}@example.org"
    user = admin.create_user(email, "Una User", password=PASSWORD)
    assert isinstance(user, User) and user.has_password and not user.is_site_admin
    assert admin.get_user_account(email).id == user.id == admin.get_user_account(str(user.id)).id
    assert email in {u.email for u in admin.list_users()}
    updated = admin.update_user(email, name="Una Changed", disabled=True)
    assert (updated.name, updated.disabled) == ("Una Changed", True)
    admin.update_user(email, disabled=False)
    with pytest.raises(floe.ValidationError):
        admin.update_user(email)

    member = admin.set_member("default", email, "viewer")
    assert isinstance(member, Member) and member.role == "viewer"
    assert {m.email: m.role for m in admin.list_members("default")}[email] == "viewer"
    with pytest.raises(floe.ValidationError, match="owner, admin, member or viewer"):
        admin.set_member("default", email, "emperor")

    repo = f"default/{unique_name('c-')}"
    admin.create_repo(repo)
    granted = admin.grant(repo, email, "write")
    assert isinstance(granted, Grant) and (granted.principal, granted.level) == (email, "write")
    assert [g.principal for g in admin.list_grants(repo)] == [email]
    with pytest.raises(floe.ValidationError, match="read, write or admin"):
        admin.grant(repo, email, "god")
    admin.revoke_grant(repo, email)
    assert admin.list_grants(repo) == []
    admin.remove_member("default", email)
    assert email not in {m.email for m in admin.list_members("default")}

    page = admin.list_audit_events("default", resource=repo, limit=1)
    assert isinstance(page, AuditPage) and len(page.items) == 1 and page.next_cursor
    events = list(admin.iter_audit_events("default", resource=repo, limit=1))
    assert all(isinstance(e, AuditEvent) for e in events)
    assert [e.action for e in events] == ["grant.remove", "grant.set", "repo.create"]
    recent = admin.list_audit_events("default", action="grant.set", since="1h").items
    assert recent and {e.action for e in recent} == {"grant.set"}
    since = datetime.now(UTC) - timedelta(minutes=10)
    assert admin.list_audit_events(resource=repo, since=since).items  # site-wide, with a datetime
    assert admin.list_audit_events("default", resource=repo, until="2000-01-01").items == []
    with pytest.raises(floe.ValidationError, match="ISO 8601"):
        admin.list_audit_events("default", since="last tuesday")
    admin.delete_repo(repo, imsure=True, imreallysure=True)


def test_api_client_and_permission_ops_still_work(admin: floe.Client) -> None:
    created = admin.create_api_client("default", name=unique_name("svc-"), role="viewer")
    assert admin.get_api_client_id_from_token("default", created.token) == str(created.id)
    assert admin.get_permission_check("default", created.id, "default", "CAN_READ_REPOS") is True
    assert admin.get_permission_check("default", created.id, "default", "CAN_WRITE_REPOS") is False
    admin.revoke_api_client("default", created.name)


def test_async_client_people_ops(server: InProcessFloe, site_admin_token: str) -> None:
    async def main() -> None:
        async with floe.AsyncClient(service_uri=server.url, token=site_admin_token) as client:
            email = f"{unique_name('a-')}@example.org"
            user = await client.create_user(email, "Async Person", password=PASSWORD)
            assert (await client.get_user_account(email)).id == user.id
            assert email in {u.email for u in await client.list_users()}
            await client.set_member("default", email, "member")
            assert email in {m.email for m in await client.list_members("default")}
            repo = f"default/{unique_name('ac-')}"
            await client.create_repo(repo)
            await client.grant(repo, email, "admin")
            assert [g.level for g in await client.list_grants(repo)] == ["admin"]
            await client.revoke_grant(repo, email)
            await client.remove_member("default", email)
            page = await client.list_audit_events("default", resource=repo)
            assert {e.action for e in page.items} >= {"repo.create", "grant.set", "grant.remove"}
            seen = [e.action async for e in client.iter_audit_events("default", resource=repo, limit=1)]
            assert seen == [e.action for e in page.items]
            await client.delete_repo(repo, imsure=True, imreallysure=True)

    asyncio.run(main())


def test_device_flow_backs_off_on_slow_down(server: InProcessFloe) -> None:
    """Drive the shared login flow by hand, skipping its waits: the server answers slow_down, and the
    flow then waits 5 s longer than before, as RFC 8628 asks."""
    flow = access_ops.login()
    assert flow.send(None) is CLIENT_INFO
    step = flow.send(ClientInfo(server.url, None))
    waits: list[float] = []
    with httpx.Client(base_url=server.url, headers=default_headers(None), trust_env=False) as http:
        for _ in range(6):
            if isinstance(step, Sleep):
                waits.append(step.seconds)
                if len(waits) == 3:
                    break
                step = flow.send(None)  # poll again at once
            else:
                assert isinstance(step, Call) and step.token is None  # no token on the sign-in endpoints
                step = flow.send(finish(step, http.send(build_request(http, step))))
    flow.close()
    assert len(waits) == 3, waits
    # the interval before the first poll; after authorization_pending; after slow_down (5 s more)
    assert waits == [waits[0], waits[0], waits[0] + 5], waits
