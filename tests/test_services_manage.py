"""Managing data services: floe.Client / AsyncClient, the official arraylake client and `floe services`,
against a real server process.

The serving itself (``/services/{name}/{org}/...``) is tested elsewhere; the request log it writes is
stood in for here by lines appended to the service's log file, as the serving layer appends them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

import floe
from browser import PASSWORD, admin, audit_events, bearer, create_user
from cli_runner import Floe, error_line
from floe.models.services import DeploymentInfo, ServiceDisabled, ServiceState
from floe.server.db.engine import sqlite_url
from floe.server.routes.services import _after
from floe.server.service_logs import ServiceLogs
from services import InProcessFloe, admin_token, start_floe_in_process

ORG = "default"
PERSON = "ada@services.example.org"


# --------------------------------------------------------------------------------------------- helpers


def service_id(server: InProcessFloe, org: str, name: str) -> str:
    """The id the server files a service's log under (not in any answer)."""
    engine = sa.create_engine(server.database_url or sqlite_url(server.data_dir))
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT s.id FROM services s JOIN orgs o ON o.id = s.org_id "
                    "WHERE o.name = :org AND s.name = :name"
                ),
                {"org": org, "name": name},
            ).scalar_one()
    finally:
        engine.dispose()


def logs_of(server: InProcessFloe, org: str, name: str) -> Callable[[str], None]:
    """Append a request line to a service's log, as the serving layer does."""
    logs = ServiceLogs(server.data_dir / "service-logs")
    sid = service_id(server, org, name)
    return lambda message: logs.write(sid, message)


def register_repo(server: InProcessFloe, org: str, name: str) -> None:
    with httpx.Client(base_url=server.url, headers=bearer(server.token), timeout=60, trust_env=False) as http:
        response = http.post(f"/orgs/{org}/repos", json={"name": name})
    assert response.status_code == 201, response.text


@dataclass
class World:
    """One server: org ``default`` with an admin (``server.token``), a member and a viewer token, a
    person who is an admin, and org ``other`` with an admin of its own."""

    server: InProcessFloe
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str = "admin") -> floe.Client:
        return floe.Client(service_uri=self.server.url, token=self.tokens[who])

    def services(self, who: str = "admin", org: str = ORG):
        return self.client(who).get_services(org)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, approve_device) -> Iterator[World]:
    server = start_floe_in_process(tmp_path_factory.mktemp("services-manage") / "data")
    try:
        w = World(server, {"admin": server.token})
        with admin(server) as site:
            assert site.post("/orgs", json={"name": "other"}).status_code == 201
            for org, name, role in [
                (ORG, "member", "member"),
                (ORG, "viewer", "viewer"),
                ("other", "other", "admin"),
            ]:
                made = site.post(f"/orgs/{org}/api-clients", json={"name": f"svc-{name}", "role": role})
                assert made.status_code == 201, made.text
                w.tokens[name] = made.json()["token"]
            create_user(site, PERSON, "Ada Lovelace")
            assert site.put(f"/orgs/{ORG}/members/{PERSON}", json={"role": "admin"}).status_code == 200
        with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as http:
            start = http.post("/auth/device/code", data={"client_id": "services test"}).json()
            approve_device(start["verification_uri_complete"], PERSON, PASSWORD)
            grant = {
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "device_code": start["device_code"],
            }
            w.tokens["person"] = http.post("/auth/token", data=grant).json()["access_token"]
        register_repo(server, ORG, "era5")
        register_repo(server, ORG, "cmip6")
        yield w
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------- floe.Client


def test_enable_list_status_disable(floe_server: InProcessFloe):
    """The whole life of services through floe.Client, on both database backends."""
    register_repo(floe_server, ORG, "era5")
    client = floe.Client(service_uri=floe_server.url, token=floe_server.token)
    services = client.get_services(ORG)
    assert services.list_enabled() == []

    zarr = services.enable("zarr")
    assert isinstance(zarr, DeploymentInfo)
    assert zarr.name == "zarr" and zarr.config.deployment_name == "zarr"
    assert zarr.url == f"{floe_server.url}/services/zarr/{ORG}"
    assert zarr.status == ServiceState.available and zarr.message is None
    assert zarr.config.is_public is False and zarr.config.repos is None

    # several deployments of one protocol, told apart by name
    public = services.enable("edr", is_public=True, deployment_name="edr-public", repos=["era5", "era5"])
    private = services.enable("edr", deployment_name="edr-private", store_cache_ttl=5, cache_max_age=60)
    assert public.url.endswith(f"/services/edr-public/{ORG}") and public.config.repos == ["era5"]
    assert public.config.is_public and not private.config.is_public
    listed = services.list_enabled()
    assert [s.name for s in listed] == ["edr-private", "edr-public", "zarr"]
    assert {s.config.service_type.value for s in listed} == {"edr", "zarr"}

    shown = services.get_status("edr-private")
    assert shown.config.store_cache_ttl == 5 and shown.config.cache_max_age == 60
    assert shown.config.store_cache_size == 10  # the default
    assert shown.created == private.created and shown.status == "available"

    with pytest.raises(floe.ConflictError, match="has a service named 'zarr' already"):
        services.enable("zarr")
    with pytest.raises(floe.ConflictError, match="'edr-public'"):
        services.enable("wms", deployment_name="edr-public")
    with pytest.raises(floe.ValidationError, match="repos not in org 'default': nowhere"):
        services.enable("wms", repos=["era5", "nowhere"])
    with pytest.raises(floe.NotFoundError, match="no service 'nope' in org 'default'"):
        services.get_status("nope")
    with pytest.raises(floe.NotFoundError, match="no service 'nope'"):
        services.disable("nope")
    with pytest.raises(floe.NotFoundError):
        services.get_logs("nope")

    done = services.disable("edr-public")
    assert done == ServiceDisabled(
        name="edr-public", status="disabled", message=f"service 'edr-public' of org '{ORG}' disabled"
    )
    assert [s.name for s in services.list_enabled()] == ["edr-private", "zarr"]
    with pytest.raises(floe.NotFoundError):
        services.get_status("edr-public")
    again = services.enable("tiles", deployment_name="edr-public")  # the name is free again
    assert again.config.service_type == "tiles" and again.created > public.created

    with admin(floe_server) as site:
        enabled = audit_events(site, "service.enable")
        disabled = audit_events(site, "service.disable")
    assert [e["resource"] for e in enabled] == [
        f"{ORG}/{n}" for n in ("edr-public", "edr-private", "edr-public", "zarr")
    ]
    first_public = enabled[2]
    assert first_public["detail"] == {"protocol": "edr", "is_public": True, "repos": ["era5"]}
    assert first_public["org"] == ORG and first_public["actor_kind"] == "api_client"
    assert [e["resource"] for e in disabled] == [f"{ORG}/edr-public"]
    client.close()

    # requests racing to enable one name: one wins, the others get 409 (never a 500)
    racers = [
        httpx.Client(base_url=floe_server.url, headers=bearer(floe_server.token), timeout=60)
        for _ in range(8)
    ]
    for http in racers:
        http.get("/user")  # connected before the race
    for round_ in range(5):
        barrier = threading.Barrier(len(racers))
        body = {"service_type": "wms", "org": ORG, "deployment_name": f"raced-{round_}"}

        def enable(http: httpx.Client, body: dict = body, barrier: threading.Barrier = barrier) -> int:
            barrier.wait()
            return http.post(f"/compute/orgs/{ORG}/services", json=body).status_code

        with ThreadPoolExecutor(len(racers)) as pool:
            statuses = sorted(pool.map(enable, racers))
        assert statuses == [201] + [409] * 7, statuses
    for http in racers:
        http.close()


def test_the_server_checks_what_the_client_checks(world: World):
    """Bodies the client refuses before sending are refused by the server too (422)."""
    with httpx.Client(base_url=world.server.url, headers=bearer(world.server.token), timeout=60) as http:

        def post(**body) -> httpx.Response:
            return http.post(
                f"/compute/orgs/{ORG}/services", json={"org": ORG, "service_type": "zarr", **body}
            )

        bad_protocol = post(service_type="netcdf")
        assert bad_protocol.status_code == 422 and "service_type" in bad_protocol.json()["detail"]
        for name in ("Upper", "-dash", "dash-", "under_score", "a" * 17, ""):
            refused = post(deployment_name=name)
            assert refused.status_code == 422, (name, refused.text)
            assert "deployment_name" in refused.json()["detail"]
        mismatch = post(org="other")
        assert mismatch.status_code == 422
        assert (
            mismatch.json()["detail"] == "the service's org is 'other', but it is being enabled in 'default'"
        )
        bad_repo = post(repos=["not a name"])
        assert bad_repo.status_code == 422 and "invalid repo name" in bad_repo.json()["detail"]
        assert post(store_cache_size=0).status_code == 422
        # the org mismatch is checked after who may enable: others learn nothing from it
        other = http.post(
            "/compute/orgs/other/services",
            json={"org": ORG, "service_type": "zarr"},
            headers=bearer(world.tokens["member"]),
        )
        assert other.status_code == 404
        assert http.get(f"/compute/orgs/{ORG}/services").json() == []


def test_client_side_checks_send_nothing():
    """Bad input fails in the client with the fix, before any request (no server here)."""
    services = floe.Client(service_uri="http://127.0.0.1:9", token="ema_x").get_services(ORG)
    cases: list[tuple[Callable[[], object], str]] = [
        (
            lambda: services.enable("netcdf"),
            "invalid service protocol 'netcdf': use dap2, edr, wms, tiles or zarr",
        ),
        (lambda: services.enable("edr", deployment_name="EDR"), "invalid deployment_name 'EDR': at most 16"),
        (lambda: services.enable("edr", deployment_name="a" * 17), "invalid deployment_name"),
        (lambda: services.enable("edr", replicas=3), "unknown service setting replicas: use deployment_name"),
        (lambda: services.enable("edr", store_cache_size=0), "store_cache_size: Input should be greater"),
        (lambda: services.enable("edr", repos=["a b"]), "invalid repo name 'a b'"),
        (lambda: services.enable("edr", is_public="yes"), "is_public must be True or False"),
        (lambda: services.get_status("Bad/Name"), "invalid service name 'Bad/Name'"),
        (lambda: services.disable("../x"), "invalid service name '../x'"),
        (lambda: services.get_logs("zarr", tail=-1), "invalid tail -1"),
        (lambda: services.get_logs("zarr", since="yesterday"), "invalid since 'yesterday'"),
        (lambda: services.stream_logs("zarr", follow=True, follow_timeout=7200), "give 0 to 3600 seconds"),
        (
            lambda: floe.Client(service_uri="http://127.0.0.1:9", token="ema_x").get_services("a/b"),
            "invalid org",
        ),
    ]
    for call, message in cases:
        with pytest.raises(floe.ValidationError) as refused:
            call()
        assert message in str(refused.value)
    with pytest.raises(floe.ServiceUnreachableError):  # valid input does reach for the server
        services.list_enabled()


def test_async_client(world: World):
    async def scenario() -> None:
        async with floe.AsyncClient(service_uri=world.server.url, token=world.server.token) as client:
            services = client.get_services(ORG)
            made = await services.enable("dap2", deployment_name="async-dap", repos=["cmip6"])
            assert made.name == "async-dap" and made.config.repos == ["cmip6"]
            assert "async-dap" in [s.name for s in await services.list_enabled()]
            assert (await services.get_status("async-dap")).status == ServiceState.available
            with pytest.raises(floe.ConflictError):
                await services.enable("dap2", deployment_name="async-dap")
            with pytest.raises(floe.ValidationError, match="invalid service protocol"):
                await services.enable("ftp")

            write = logs_of(world.server, ORG, "async-dap")
            write("GET /services/async-dap/default/cmip6/main/dap2/dataset.dds 200 4 ms")
            assert (await services.get_logs("async-dap")).endswith("dataset.dds 200 4 ms")
            lines = [line async for line in services.stream_logs("async-dap")]
            assert len(lines) == 1 and lines[0].endswith(
                "stdout F GET /services/async-dap/default/cmip6/main/dap2/dataset.dds 200 4 ms"
            )
            with pytest.raises(floe.NotFoundError):
                async for _ in services.stream_logs("nope"):
                    pass

            gone = ServiceDisabled(name="async-dap", message=f"service 'async-dap' of org '{ORG}' disabled")
            assert await services.disable("async-dap") == gone
            with pytest.raises(floe.NotFoundError):
                await services.get_status("async-dap")

    asyncio.run(scenario())


def test_only_org_admins_manage_services(world: World):
    admin_services = world.services("admin")
    admin_services.enable("wms", deployment_name="roles")
    for who in ("member", "viewer"):
        services = world.services(who)
        assert "roles" in [s.name for s in services.list_enabled()]
        assert services.get_status("roles").config.service_type == "wms"
        with pytest.raises(floe.PermissionDeniedError, match="may not do org:admin"):
            services.enable("wms", deployment_name=f"by-{who}")
        with pytest.raises(floe.PermissionDeniedError):
            services.disable("roles")
        with pytest.raises(floe.PermissionDeniedError):
            services.get_logs("roles")
        with pytest.raises(floe.PermissionDeniedError):
            list(services.stream_logs("roles"))

    # another org's admin sees nothing of this org, not even that the service exists
    outsider = world.services("other")
    for call in (
        outsider.list_enabled,
        lambda: outsider.get_status("roles"),
        lambda: outsider.enable("wms", deployment_name="intruder"),
        lambda: outsider.disable("roles"),
        lambda: outsider.get_logs("roles"),
    ):
        with pytest.raises(floe.NotFoundError, match="org 'default' not found"):
            call()
    assert world.services("other", org="other").list_enabled() == []  # their own org: fine

    # a person who is an org admin may, and the audit trail says who did it
    person = world.services("person")
    person.enable("tiles", deployment_name="by-person")
    person.disable("by-person")
    with admin(world.server) as site:
        events = [e for e in audit_events(site, "service") if e["resource"] == f"{ORG}/by-person"]
    assert [e["action"] for e in events] == ["service.disable", "service.enable"]
    assert {e["actor"] for e in events} == {PERSON} and {e["actor_kind"] for e in events} == {"user"}
    assert "roles" in [s.name for s in admin_services.list_enabled()]
    admin_services.disable("roles")


def test_logs_tail_window_and_follow(world: World):
    services = world.services()
    services.enable("edr", deployment_name="logged")
    assert services.get_logs("logged") == ""
    write = logs_of(world.server, ORG, "logged")
    for i in range(5):
        write(f"GET /services/logged/default/era5/main/edr/position {200 + i} {i} ms")
    text = services.get_logs("logged")
    lines = text.splitlines()
    assert len(lines) == 5 and not text.endswith("\n")
    assert all(" stdout F GET /services/logged/" in line for line in lines)
    assert services.get_logs("logged", tail=2).splitlines() == lines[-2:]
    assert services.get_logs("logged", tail=0) == ""
    assert services.get_logs("logged", since=datetime.now(UTC) + timedelta(minutes=1)) == ""
    assert services.get_logs("logged", until=datetime.now(UTC) - timedelta(hours=1)) == ""
    assert services.get_logs("logged", since=(datetime.now(UTC) - timedelta(hours=1)).isoformat()) == text
    assert list(services.stream_logs("logged", tail=3)) == lines[-3:]

    # following: the last line so far, then each new line once, as it is written
    got: list[str] = []
    stream = services.stream_logs("logged", tail=1, follow=True, follow_timeout=4)
    reader = threading.Thread(target=lambda: got.extend(stream))
    started = time.monotonic()
    reader.start()
    time.sleep(1.0)
    write("GET /services/logged/default/era5/main/edr/area 200 7 ms")
    time.sleep(1.0)
    write("GET /services/logged/default/era5/main/edr/cube 404 1 ms")
    reader.join(30)
    assert not reader.is_alive()
    assert 3.5 < time.monotonic() - started < 20  # the server ended the stream after follow_timeout
    assert got[0] == lines[-1]
    assert [line.split(" F ", 1)[1] for line in got[1:]] == [
        "GET /services/logged/default/era5/main/edr/area 200 7 ms",
        "GET /services/logged/default/era5/main/edr/cube 404 1 ms",
    ]
    services.disable("logged")


def test_follow_continues_after_the_last_line_even_when_the_file_is_cut():
    lines = [f"2026-01-01T00:00:0{i}.000000Z stdout F line {i}" for i in range(6)]
    assert _after(lines, None) == lines
    assert _after(lines, lines[2]) == lines[3:]
    assert _after(lines, lines[-1]) == []
    cut = lines[4:]  # the file was cut to its newer half past the last line seen
    assert _after(cut, lines[1]) == cut
    assert _after(cut, lines[4]) == [lines[5]]


# --------------------------------------------------------------------------------------------- arraylake


def test_arraylake_client_manages_services(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    arraylake = pytest.importorskip("arraylake")
    from arraylake.compute.types import DeploymentInfo as ArraylakeDeploymentInfo
    from arraylake.exceptions import ArraylakeClientError

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARRAYLAKE_USER__DIAGNOSTICS", "false")
    client = arraylake.Client(service_uri=world.server.url, token=world.server.token)
    services = client.get_services(ORG)

    enabled = services.enable("edr", is_public=True, deployment_name="al-edr")
    assert enabled["name"] == "al-edr" and enabled["status"] == "available"
    assert enabled["url"] == f"{world.server.url}/services/al-edr/{ORG}"
    services.enable("zarr", deployment_name="al-zarr", store_cache_ttl=30)
    listed = {d.name: d for d in services.list_enabled()}
    assert {"al-edr", "al-zarr"} <= set(listed)
    info = listed["al-zarr"]
    assert isinstance(info, ArraylakeDeploymentInfo)
    assert info.url == f"{world.server.url}/services/al-zarr/{ORG}" and info.status == "available"
    assert info.config.service_type == "zarr" and info.config.store_cache_ttl == 30
    assert listed["al-edr"].config.is_public is True

    status = services.get_status("al-edr")
    assert status["status"] == "available" and status["config"]["deployment_name"] == "al-edr"

    write = logs_of(world.server, ORG, "al-edr")
    write("GET /services/al-edr/default/era5/main/edr/position 200 12 ms")
    write("GET /services/al-edr/default/era5/main/edr/area 200 30 ms")
    logs = services.get_logs("al-edr")
    assert [line.split(" F ", 1)[1] for line in logs.splitlines()] == [
        "GET /services/al-edr/default/era5/main/edr/position 200 12 ms",
        "GET /services/al-edr/default/era5/main/edr/area 200 30 ms",
    ]
    assert services.get_logs("al-edr", tail=1).endswith("area 200 30 ms")

    async def follow() -> list[str]:
        aservices = arraylake.AsyncClient(
            service_uri=world.server.url, token=world.server.token
        ).get_services(ORG)
        stream = await aservices.stream_logs("al-edr", tail=1, follow=True, follow_timeout=1)
        return [line async for line in stream]

    followed = asyncio.run(follow())
    assert len(followed) == 1 and followed[0].endswith("area 200 30 ms")

    with pytest.raises(ArraylakeClientError, match="409"):
        services.enable("edr", deployment_name="al-edr")
    with pytest.raises(ArraylakeClientError, match="404"):
        services.get_status("al-nope")

    assert services.disable("al-edr") == {
        "name": "al-edr",
        "status": "disabled",
        "message": f"service 'al-edr' of org '{ORG}' disabled",  # `arraylake compute disable` prints it
    }
    assert services.disable("al-zarr")["status"] == "disabled"
    assert not {"al-edr", "al-zarr"} & {d.name for d in services.list_enabled()}

    member = arraylake.Client(service_uri=world.server.url, token=world.tokens["member"]).get_services(ORG)
    with pytest.raises(ArraylakeClientError, match="403"):
        member.enable("wms")


# --------------------------------------------------------------------------------------------- CLI


def test_cli(world: World, tmp_path: Path):
    floe_cli = Floe(world.server, tmp_path / "cli-config", in_process=True)
    assert "(no services of default)" in floe_cli.ok("services", "list", ORG).out
    assert floe_cli.ok("services", "list", ORG, "--json").json() == []

    made = floe_cli.ok(
        "services", "enable", ORG, "edr", "--public", "--name", "cli-edr", "--repo", "era5", "--repo", "cmip6",
        "--cache-ttl", "15", "--cache-size", "3", "--cache-max-age", "120",
    )  # fmt: skip
    assert (
        f"Enabled edr service cli-edr of default for anyone: {world.server.url}/services/cli-edr/default"
        in made.out
    )
    assert "Repos: cmip6, era5" in made.out and "Public: yes" in made.out
    assert "datasets open 15 s, at most 3; answers max-age 120 s" in made.out
    as_json = floe_cli.ok("services", "enable", ORG, "zarr", "--json").json()
    assert as_json["name"] == "zarr" and as_json["config"]["is_public"] is False
    assert as_json["status"] == "available" and as_json["url"].endswith("/services/zarr/default")

    table = floe_cli.ok("services", "list", ORG).out
    for heading in ("Name", "Protocol", "Public", "Repos", "Status", "URL"):
        assert heading in table
    rows = {line.split("│")[1].strip(): line for line in table.splitlines() if line.startswith("│")}
    assert set(rows) == {"cli-edr", "zarr"}
    cells = [c.strip() for c in rows["zarr"].split("│")[1:-1]]
    assert cells == ["zarr", "zarr", "no", "(all)", "available", f"{world.server.url}/services/zarr/default"]
    assert [c.strip() for c in rows["cli-edr"].split("│")[1:-1]][:5] == [
        "cli-edr",
        "edr",
        "yes",
        "cmip6, era5",
        "available",
    ]
    listed = floe_cli.ok("services", "list", ORG, "--json").json()
    assert [s["name"] for s in listed] == ["cli-edr", "zarr"]

    status = floe_cli.ok("services", "status", ORG, "cli-edr").out
    assert "Status: available" in status and "Protocol: edr" in status and "Message" not in status
    assert (
        floe_cli.ok("services", "status", ORG, "cli-edr", "--json").json()["config"]["store_cache_size"] == 3
    )

    write = logs_of(world.server, ORG, "cli-edr")
    write("GET /services/cli-edr/default/era5/main/edr/position 200 5 ms")
    write("GET /services/cli-edr/default/era5/main/edr/area 500 9 ms")
    out = floe_cli.ok("services", "logs", ORG, "cli-edr").out.splitlines()
    assert [line.split(" F ", 1)[1] for line in out] == [
        "GET /services/cli-edr/default/era5/main/edr/position 200 5 ms",
        "GET /services/cli-edr/default/era5/main/edr/area 500 9 ms",
    ]
    assert floe_cli.ok("services", "logs", ORG, "cli-edr", "--tail", "1").out.splitlines() == out[-1:]
    assert floe_cli.ok("services", "logs", ORG, "cli-edr", "--since", "10m").out.splitlines() == out
    assert (
        floe_cli.ok("services", "logs", ORG, "cli-edr", "--since", "2000-01-01T00:00:00").out.splitlines()
        == out
    )
    assert floe_cli.ok("services", "logs", ORG, "cli-edr", "--until", "1h").out == ""
    followed = floe_cli.ok(
        "services", "logs", ORG, "cli-edr", "--tail", "1", "--follow", "--follow-timeout", "1"
    )
    assert followed.out.splitlines() == out[-1:]

    # errors: one line, nonzero status, no traceback
    assert "has a service named 'zarr' already" in error_line(floe_cli("services", "enable", ORG, "zarr"), 1)
    assert error_line(floe_cli("services", "enable", ORG, "netcdf", process=True), 2) == (
        "error: invalid protocol 'netcdf': use dap2, edr, wms, tiles or zarr"
    )
    assert "invalid --name 'Bad'" in error_line(
        floe_cli("services", "enable", ORG, "zarr", "--name", "Bad"), 1
    )
    assert "repos not in org 'default': gone" in error_line(
        floe_cli("services", "enable", ORG, "wms", "--repo", "gone"), 1
    )
    assert "no service 'nope' in org 'default'" in error_line(floe_cli("services", "status", ORG, "nope"), 1)
    assert "no service 'nope'" in error_line(floe_cli("services", "logs", ORG, "nope"), 1)
    assert "no service 'nope'" in error_line(floe_cli("services", "disable", ORG, "nope"), 1)
    assert "invalid --since 'soon'" in error_line(
        floe_cli("services", "logs", ORG, "zarr", "--since", "soon"), 2
    )
    member = world.tokens["member"]
    assert "may not do org:admin" in error_line(floe_cli("services", "enable", ORG, "wms", token=member), 1)
    assert "may not do org:admin" in error_line(floe_cli("services", "disable", ORG, "zarr", token=member), 1)
    assert floe_cli.ok("services", "list", ORG, token=member).out.count("available") == 2
    outsider = world.tokens["other"]
    assert "org 'default' not found" in error_line(floe_cli("services", "list", ORG, token=outsider), 1)

    assert (
        floe_cli.ok("services", "disable", ORG, "cli-edr").out.strip()
        == "Disabled service cli-edr of default."
    )
    assert floe_cli.ok("services", "disable", ORG, "zarr", "--json").json() == {
        "name": "zarr",
        "status": "disabled",
        "message": f"service 'zarr' of org '{ORG}' disabled",
    }
    assert floe_cli.ok("services", "list", ORG, "--json").json() == []
    assert all(world.server.token not in output for output in floe_cli.outputs)


def test_site_admin_token_manages_any_org(world: World):
    """A site admin (not a member of the org) may manage its services too."""
    site = floe.Client(service_uri=world.server.url, token=admin_token(world.server, site_admin=True))
    services = site.get_services("other")
    assert services.enable("zarr").url.endswith("/services/zarr/other")
    assert world.services("other", org="other").get_status("zarr").status == "available"
    assert services.disable("zarr").status == "disabled"
