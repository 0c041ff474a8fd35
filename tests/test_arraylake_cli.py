"""Every command of the official ``arraylake`` CLI (0.33) against Floe, as every kind of caller.

``COMMANDS`` names each command of the installed CLI's groups (repo, compute, auth, config), hidden ones
included, with the arguments to run it with and the outcome each caller must get: exit code 0, or the
HTTP status of the error the client raised, or an exit code and a message. The commands run in this process
(typer's ``CliRunner``) against ``floe serve`` over https (the client signs in at an https domain), as an
org admin, a member and a viewer (API clients, the client's ``token`` setting) and a person signed in with
the device flow. A command of the installed CLI missing from the table fails
``test_the_table_names_every_cli_command``. ``auth login`` is interactive: it is driven, with the rest of
sign-in, by ``tests/test_arraylake_signin.py``. ``repo tune`` runs the client's benchmark with its first
round of measurements only (``_first_round_only``): the later rounds repeat it with bigger chunks.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import icechunk
import numpy
import pytest
import xarray

from services import admin_token, make_tls, start_floe, unique_name

arraylake = pytest.importorskip("arraylake")
from arraylake import tuning  # noqa: E402
from arraylake.cli.main import app as arraylake_app  # noqa: E402
from typer.main import get_command  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

ORG = "acme"
PASSWORD = "correct horse battery staple"
WHO = ("admin", "member", "viewer", "person")
OK = 0


@dataclass
class World:
    url: str
    ca: str
    tokens: dict[str, str] = field(default_factory=dict)


@dataclass
class Cmd:
    args: Callable[[str, Path], list[str]]  # (caller, a private folder) -> the command's arguments
    expect: dict[str, int | tuple[int, str]] = field(default_factory=dict)  # else OK for everyone
    skip: str | None = None
    patch: Callable[[pytest.MonkeyPatch], None] | None = None  # shortens what the client does (never Floe)
    after: Callable[[World, str], None] | None = None  # more to assert once a caller's command has run

    def wanted(self, who: str) -> int | tuple[int, str]:
        return self.expect.get(who, OK)


# the CLI prints a refusal's message and exits 1
WRITE = (1, "may not do repo:write")
WRITERS = {"viewer": WRITE}
REPO_ADMINS = dict.fromkeys(("member", "viewer", "person"), (1, "may not do repo:admin"))
ADMINS = dict.fromkeys(("member", "viewer", "person"), (1, "may not do org:admin"))
NOT_LOGGED_IN = (1, "Not logged in")


async def _first_round_only(repo: icechunk.Repository) -> Any:
    """``repo tune`` with its first round of measurements only: 12 chunks of 10 kB written and read
    at concurrency 1 and 2. The client's own ``tune_repo`` goes on while the measured throughput is high,
    as it is against a local S3, up to 512 chunks of 10 MB at concurrency 128 (about three minutes per
    caller); those rounds make the same calls, to the storage only, with bigger chunks and more at once."""
    return tuning.ResultSet(await tuning.benchmark_run(repo, [1, 2], 10_000))


def _no_benchmark_repo_left(world: World) -> None:
    """``repo tune`` deletes its temporary repo ``ORG/_benchmark_<uuid>`` when it is done."""
    listed = arraylake.Client(world.url, world.tokens["admin"]).list_repos(ORG)
    left = [r.name for r in listed if r.name.startswith("_benchmark_")]
    assert not left, f"repo tune left its temporary repos behind: {left}"


def _config(folder: Path) -> str:
    """A config file of the client's own, with one setting."""
    path = folder / "config.yaml"
    path.write_text("service:\n  org: acme\n")
    return str(path)


COMMANDS: dict[str, Cmd] = {
    "repo list": Cmd(lambda who, d: ["repo", "list", ORG]),
    "repo create": Cmd(
        lambda who, d: ["repo", "create", f"{ORG}/made-{who}", "--metadata", '{"a": 1}'], WRITERS
    ),
    "repo import": Cmd(
        lambda who, d: ["repo", "import", f"{ORG}/imp-{who}", "store", f"imports/{who}"], WRITERS
    ),
    "repo modify": Cmd(lambda who, d: ["repo", "modify", f"{ORG}/base", "--description", who], WRITERS),
    "repo delete": Cmd(lambda who, d: ["repo", "delete", f"{ORG}/del-{who}", "--confirm"], REPO_ADMINS),
    "repo tree": Cmd(lambda who, d: ["repo", "tree", f"{ORG}/base"]),
    "repo doctor": Cmd(lambda who, d: ["repo", "doctor", f"{ORG}/base"]),
    "repo get-status": Cmd(lambda who, d: ["repo", "get-status", f"{ORG}/base"]),
    "repo set-status": Cmd(
        lambda who, d: ["repo", "set-status", f"{ORG}/base", "online"],
        dict.fromkeys(("member", "viewer", "person"), (403, "may not do repo:admin")),
    ),
    "repo tune": Cmd(
        lambda who, d: ["repo", "tune", ORG, "--bucket-config-nickname", "store"],
        # the client does not catch a refusal here: its traceback ends with the server's 403
        {"viewer": (403, "may not do repo:write")}
        | {w: (0, "Optimal I/O configuration found") for w in ("admin", "member", "person")},
        patch=lambda m: m.setattr(tuning, "tune_repo", _first_round_only),
        after=lambda w, who: _no_benchmark_repo_left(w),
    ),
    "compute list": Cmd(lambda who, d: ["compute", "list", ORG]),
    "compute enable": Cmd(lambda who, d: ["compute", "enable", ORG, "zarr"], ADMINS),
    "compute status": Cmd(lambda who, d: ["compute", "status", ORG, f"zarr-{who}"]),
    "compute logs": Cmd(lambda who, d: ["compute", "logs", ORG, f"zarr-{who}", "--tail", "5"]),
    "compute disable": Cmd(
        lambda who, d: ["compute", "disable", ORG, f"gone-{who}"], {"admin": (0, "disabled"), **ADMINS}
    ),
    # sign-in commands read the token file of `auth login`, not the API token: none here
    "auth login": Cmd(lambda who, d: [], skip="interactive: driven by tests/test_arraylake_signin.py"),
    "auth status": Cmd(lambda who, d: ["auth", "status"], dict.fromkeys(WHO, NOT_LOGGED_IN)),
    "auth token": Cmd(lambda who, d: ["auth", "token"], dict.fromkeys(WHO, NOT_LOGGED_IN)),
    "auth refresh": Cmd(lambda who, d: ["auth", "refresh"], dict.fromkeys(WHO, NOT_LOGGED_IN)),
    "auth logout": Cmd(lambda who, d: ["auth", "logout"], dict.fromkeys(WHO, (0, "Not logged in"))),
    "config init": Cmd(lambda who, d: ["config", "init", "--path", str(d / "new.yaml")]),
    "config set": Cmd(lambda who, d: ["config", "set", "service.org", ORG, "--path", str(d / "new.yaml")]),
    "config get": Cmd(
        lambda who, d: ["config", "get", "service.org", "--path", _config(d)], {w: (0, ORG) for w in WHO}
    ),
    "config unset": Cmd(lambda who, d: ["config", "unset", "service.org", "--path", _config(d)]),
    "config list": Cmd(lambda who, d: ["config", "list", "--path", _config(d)], {w: (0, ORG) for w in WHO}),
}


def _installed_commands() -> set[str]:
    """``group command`` for every command of the installed arraylake CLI, hidden ones included."""
    root = get_command(arraylake_app)
    return {
        f"{group} {name}" for group, sub in root.commands.items() for name in getattr(sub, "commands", {})
    }


def test_the_table_names_every_cli_command():
    installed = _installed_commands()
    assert {"repo list", "auth login", "compute enable", "config set"} <= installed
    assert not installed - set(COMMANDS), (
        f"arraylake CLI commands missing from COMMANDS: {installed - set(COMMANDS)}"
    )
    assert not set(COMMANDS) - installed, f"no longer in the arraylake CLI: {set(COMMANDS) - installed}"


@pytest.fixture(scope="module")
def world(moto, tmp_path_factory, approve_device) -> Iterator[World]:
    base = tmp_path_factory.mktemp("arraylake-cli")
    tls = make_tls(base)
    server = start_floe(base / "data", tls=tls, env={"FLOE_DEVICE_INTERVAL_SECONDS": "1"})
    ca = str(tls[2])
    bucket = moto.create_bucket(unique_name("floe-cli-"))
    try:
        site = {"authorization": f"Bearer {admin_token(server, site_admin=True)}"}
        with httpx.Client(base_url=server.url, headers=site, verify=ca, timeout=60, trust_env=False) as http:

            def ok(response: httpx.Response) -> Any:
                assert response.status_code < 300, response.text
                return response.json() if response.content else None

            ok(http.post("/orgs", json={"name": ORG}))
            s3 = {"endpoint_url": moto.endpoint, "region_name": "us-east-1", "use_ssl": False}
            auth = {
                "method": "hmac",
                "access_key_id": "testing",
                "secret_access_key": "x",
                "read_access_key_id": "reader",
                "read_secret_access_key": "read-x",
            }
            body = {"nickname": "store", "platform": "s3-compatible", "name": bucket, "extra_config": s3}
            ok(http.post(f"/orgs/{ORG}/buckets", json={**body, "auth_config": auth}))
            ok(http.post(f"/orgs/{ORG}/buckets/store/default"))
            w = World(server.url, ca)
            for role in ("admin", "member", "viewer"):
                made = ok(http.post(f"/orgs/{ORG}/api-clients", json={"name": f"cli-{role}", "role": role}))
                w.tokens[role] = made["token"]
            email = "person@acme.example.org"
            ok(http.post("/users", json={"email": email, "name": "Pat Person", "password": PASSWORD}))
            ok(http.put(f"/orgs/{ORG}/members/{email}", json={"role": "member"}))
            start = http.post("/auth/device/code", data={"client_id": "cli table"}).json()
            approve_device(start["verification_uri_complete"], email, PASSWORD, verify=ca)
            grant = {
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "device_code": start["device_code"],
            }
            w.tokens["person"] = ok(http.post("/auth/token", data=grant))["access_token"]
        with pytest.MonkeyPatch.context() as env:
            env.setenv("SSL_CERT_FILE", ca)
            admin = arraylake.Client(server.url, w.tokens["admin"])
            repo = admin.create_repo(f"{ORG}/base")
            session = repo.writable_session("main")
            xarray.Dataset({"t": ("x", numpy.arange(4.0))}).to_zarr(
                session.store, zarr_format=3, consolidated=False
            )
            session.commit("a dataset")
            for who in WHO:
                admin.create_repo(f"{ORG}/del-{who}")
                for name in (f"zarr-{who}", f"gone-{who}"):
                    admin.get_services(ORG).enable("zarr", False, deployment_name=name)
                storage = icechunk.s3_storage(
                    bucket=bucket,
                    prefix=f"imports/{who}",
                    endpoint_url=moto.endpoint,
                    allow_http=True,
                    force_path_style=True,
                    region="us-east-1",
                    access_key_id="testing",
                    secret_access_key="x",
                )
                icechunk.Repository.create(storage)
        yield w
    finally:
        server.stop(timeout=3)  # the in-process clients' keep-alive connections would hold it for 10 s


@pytest.fixture(autouse=True)
def _isolated_arraylake(tmp_path, monkeypatch, world):
    """No token file, the test CA trusted, and the client's global config put back afterwards."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARRAYLAKE_USER__DIAGNOSTICS", "false")
    monkeypatch.setenv("SSL_CERT_FILE", world.ca)
    monkeypatch.setenv("COLUMNS", "300")
    saved = copy.deepcopy(arraylake.config.config)
    yield
    arraylake.config.config.clear()
    arraylake.config.config.update(saved)


def _outcome(world: World, who: str, args: list[str]) -> tuple[int, str]:
    settings = ["--config", f"service.uri={world.url}", "--config", f"token={world.tokens[who]}"]
    result = CliRunner().invoke(arraylake_app, [*settings, *args])
    status = getattr(result.exception, "status_code", None)
    out = result.output + (
        f"\n{type(result.exception).__name__}: {result.exception}" if result.exception else ""
    )
    if status is not None:
        return status, out
    return result.exit_code, out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_cli_command_as_every_caller(world, command, tmp_path, monkeypatch):
    cmd = COMMANDS[command]
    if cmd.skip:
        pytest.skip(cmd.skip)
    if cmd.patch:
        cmd.patch(monkeypatch)
    wrong = []
    for who in WHO:
        folder = tmp_path / who
        folder.mkdir()
        got, out = _outcome(world, who, cmd.args(who, folder))
        wanted = cmd.wanted(who)
        code, message = wanted if isinstance(wanted, tuple) else (wanted, "")
        if got != code or message not in out:
            wrong.append(f"{who}: wanted {wanted}, got {got}: {out[-600:]}")
        elif cmd.after:
            cmd.after(world, who)
    assert not wrong, f"arraylake {command}:\n" + "\n".join(wrong)
