"""Every public method of the official arraylake client (0.33), against Floe, as every kind of caller.

One table, ``TABLE``, names each public method of ``arraylake.Client`` and ``arraylake.AsyncClient``
with an arraylake-style call and the status each caller must get (``OK`` or an HTTP status). The
same calls drive the arraylake client and ``floe.Client`` / ``floe.AsyncClient`` (code written for
arraylake runs after changing the import), as an org admin, a member and a viewer (API clients) and a
person signed in with the device flow (a member). A method of the installed client missing from the
table fails ``test_the_table_names_every_public_method``. The ``arraylake`` CLI has its own table
(``tests/test_arraylake_cli.py``); ``login`` / ``logout`` are listed but skipped here: ``login`` is
interactive (a person approves a code in a browser), the arraylake client's need Floe over https, and
``floe.Client.logout()`` ends the session the person's later rows use. ``tests/test_arraylake_signin.py``
runs the arraylake client's against ``floe serve --tls-cert``, ``tests/test_client_access.py`` Floe's.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import icechunk
import pytest

import floe
from services import admin_token, start_floe_in_process, unique_name

arraylake = pytest.importorskip("arraylake")

ORG = "acme"
PASSWORD = "correct horse battery staple"
WHO = ("admin", "member", "viewer", "person")
OK = "ok"
WRITERS = {"viewer": 403}
ADMINS = {"member": 403, "viewer": 403, "person": 403}


@dataclass
class World:
    url: str
    bucket: str
    source: str
    endpoint: str  # moto's
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    default_admin: str = ""  # an admin of org "default", whose default bucket config is the built-in `local`


@dataclass
class Ctx:
    """What one call may use: the world, the caller, and a tag unique to this client and caller."""

    world: World
    who: str
    tag: str

    def repo(self, what: str = "r") -> str:
        return f"{ORG}/{what}-{self.tag}"

    @property
    def source_url(self) -> str:
        return f"s3://{self.world.source}/"


@dataclass
class Row:
    call: Callable[[Any, Ctx], Any]
    expect: dict[str, int | str] = field(default_factory=dict)
    floe_expect: dict[str, int | str] = field(default_factory=dict)  # where floe.Client differs
    aio: bool = False  # an AsyncClient method: ``call`` returns a coroutine
    skip: str | None = None  # why this method is not run (what is not built)
    check: Callable[[Any, Ctx], None] | None = None  # more to assert about a successful result

    def wanted(self, who: str, kind: str) -> int | str:
        if kind == "floe" and who in self.floe_expect:
            return self.floe_expect[who]
        return self.expect.get(who, OK)


def _bucket_cfg(c: Any, ctx: Ctx, nickname: str) -> Any:
    return c.create_bucket_config(
        org=ORG,
        nickname=nickname,
        uri=f"s3://{ctx.world.bucket}/spare-{ctx.tag}",
        extra_config={"endpoint_url": ctx.world.endpoint, "region_name": "us-east-1", "use_ssl": False},
        auth_config={"method": "hmac", "access_key_id": "testing", "secret_access_key": "spare-secret"},
    )


def _create_then_delete_bucket(c: Any, ctx: Ctx) -> None:
    _bucket_cfg(c, ctx, f"gone-{ctx.tag}")
    c.delete_bucket_config(org=ORG, nickname=f"gone-{ctx.tag}", imsure=True, imreallysure=True)


def _create_then_delete_repo(c: Any, ctx: Ctx) -> None:
    c.create_repo(ctx.repo("del"))
    c.delete_repo(ctx.repo("del"), imsure=True, imreallysure=True)


def _import(c: Any, ctx: Ctx) -> Any:
    return c.import_repo(ctx.repo("imp"), "store", f"imports/{ctx.tag}", description="imported")


def _paginated(c: Any, ctx: Ctx) -> list[str]:
    return [r.name for r in c.list_repos_paginated(ORG, None, 1)]


async def _token_owner(c: Any, ctx: Ctx) -> Any:
    return await c.get_api_client_from_token(ORG, ctx.world.tokens["member"])


async def _permission(c: Any, ctx: Ctx) -> bool:
    from arraylake.types import RepoActions

    return await c.get_permission_check(ORG, ctx.world.ids["member"], f"{ORG}/base", RepoActions.CAN_READ)


def _set_policy(c: Any, ctx: Ctx) -> None:
    """Set a policy, see it, and remove it again (a policy left behind would govern other rows)."""
    made = c.set_virtual_chunk_access_policy(
        ORG, bucket_nickname="source", subprefix=f"set-{ctx.tag}", public=False
    )
    assert made.url_prefix == f"{ctx.source_url}set-{ctx.tag}/"
    assert made.url_prefix in [p.url_prefix for p in c.list_virtual_chunk_access_policies(ORG)]
    c.delete_virtual_chunk_access_policy(
        ORG, bucket_nickname="source", subprefix=f"set-{ctx.tag}", public=False
    )


def _check_repo(found: Any, ctx: Ctx) -> None:
    assert "main" in set(found.list_branches())


TABLE: dict[str, Row] = {
    "list_repos": Row(
        lambda c, x: [r.name for r in c.list_repos(ORG, {"kind": "base"})],
        check=lambda got, x: got == ["base"] or pytest.fail(f"{got}"),
    ),
    "list_repos_paginated": Row(_paginated, check=lambda got, x: "base" in got or pytest.fail(f"{got}")),
    "get_repo_object": Row(
        lambda c, x: c.get_repo_object(f"{ORG}/base"),
        check=lambda got, x: got.name == "base" or pytest.fail(f"{got}"),
    ),
    "get_repo": Row(
        lambda c, x: c.get_repo(f"{ORG}/base", storage_options={"network_stream_timeout_seconds": 30}),
        check=_check_repo,
    ),
    "create_repo": Row(
        lambda c, x: c.create_repo(x.repo(), description="made", metadata={"by": x.who}),
        WRITERS,
        check=_check_repo,
    ),
    "get_or_create_repo": Row(
        lambda c, x: c.get_or_create_repo(x.repo("goc"), description="goc", metadata={"k": "v"}),
        WRITERS,
        check=_check_repo,
    ),
    "import_repo": Row(_import, WRITERS, check=_check_repo),  # an opened repo, from both clients
    "modify_repo": Row(lambda c, x: c.modify_repo(f"{ORG}/base", "described", {f"k-{x.tag}": 1}), WRITERS),
    "delete_repo": Row(_create_then_delete_repo, WRITERS),
    "get_icechunk_storage": Row(lambda c, x: c.get_icechunk_storage(f"{ORG}/base")),
    "authorize_virtual_chunk_access": Row(
        lambda c, x: c.authorize_virtual_chunk_access(f"{ORG}/base", {x.source_url: "source"}), WRITERS
    ),
    "get_virtual_chunk_containers": Row(lambda c, x: dict(c.get_virtual_chunk_containers(f"{ORG}/base"))),
    # Credentials for a bucket config need bucket:use (members); the arraylake client asks for none on
    # HMAC configs and builds them from the redacted config a viewer sees, which hold no keys.
    "containers_credentials_for_buckets": Row(
        lambda c, x: c.containers_credentials_for_buckets(ORG, {x.source_url: "source"}),
        floe_expect={"viewer": 403},
    ),
    "get_icechunk_container_credentials_from_bucket": Row(
        lambda c, x: c.get_icechunk_container_credentials_from_bucket(ORG, "source"),
        floe_expect={"viewer": 403},
    ),
    "list_bucket_configs": Row(
        lambda c, x: sorted(b.nickname for b in c.list_bucket_configs(ORG)),
        check=lambda got, x: {"store", "source"} <= set(got) or pytest.fail(f"{got}"),
    ),
    "get_bucket_config": Row(lambda c, x: c.get_bucket_config(org=ORG, nickname="store")),
    "list_repos_for_bucket_config": Row(
        lambda c, x: [r.name for r in c.list_repos_for_bucket_config(org=ORG, nickname="store")]
    ),
    "create_bucket_config": Row(lambda c, x: _bucket_cfg(c, x, f"new-{x.tag}"), ADMINS),
    "set_default_bucket_config": Row(
        lambda c, x: c.set_default_bucket_config(org=ORG, nickname="store"), ADMINS
    ),
    "delete_bucket_config": Row(_create_then_delete_bucket, ADMINS),
    "get_services": Row(lambda c, x: c.get_services(ORG)),
    "get_api_client_from_token": Row(_token_owner, aio=True),
    "get_permission_check": Row(_permission, aio=True),
    "set_virtual_chunk_access_policy": Row(_set_policy, ADMINS),
    "list_virtual_chunk_access_policies": Row(lambda c, x: c.list_virtual_chunk_access_policies(ORG)),
    "delete_virtual_chunk_access_policy": Row(  # idempotent: deleting one that is not there is fine
        lambda c, x: c.delete_virtual_chunk_access_policy(
            ORG, bucket_nickname="source", subprefix=f"del-{x.tag}", public=False
        ),
        ADMINS,
    ),
    # login signs in whoever approves a code in a browser, not the caller, and the arraylake client's
    # needs Floe over https; floe.Client.logout() would end the person's session that later rows use.
    "login": Row(
        lambda c, x: c.login(),
        skip="interactive, over https: run by tests/test_arraylake_signin.py and tests/test_client_access.py",
    ),
    "logout": Row(
        lambda c, x: c.logout(),
        skip="ends the caller's session; the arraylake client's needs https: run by "
        "tests/test_arraylake_signin.py and tests/test_client_access.py",
    ),
}


def _public_methods(cls: type) -> dict[str, Any]:
    return {n: m for n, m in inspect.getmembers(cls, callable) if not n.startswith("_")}


def test_the_table_names_every_public_method():
    installed = set(_public_methods(arraylake.Client)) | set(_public_methods(arraylake.AsyncClient))
    assert installed - set(TABLE) == set(), "add these arraylake methods to TABLE"


@pytest.mark.parametrize("twin", [floe.Client, floe.AsyncClient], ids=["Client", "AsyncClient"])
@pytest.mark.parametrize("source", [arraylake.Client, arraylake.AsyncClient], ids=["al", "al-async"])
def test_floe_clients_take_every_arraylake_call_form(source, twin):
    """Each parameter of each arraylake method exists on the Floe twin, in the same position when it
    may be given positionally, and may be given by keyword where arraylake allows that."""
    for name, method in _public_methods(source).items():
        assert hasattr(twin, name), f"{twin.__name__}.{name} is missing"
        theirs = [p for p in inspect.signature(method).parameters.values() if p.name != "self"]
        ours = [p for p in inspect.signature(getattr(twin, name)).parameters.values() if p.name != "self"]
        by_name = {p.name: p for p in ours}
        positional = [p.name for p in ours if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for index, param in enumerate(theirs):
            if param.kind is param.VAR_KEYWORD:
                assert any(p.kind is p.VAR_KEYWORD for p in ours), f"{name}: **{param.name}"
                continue
            assert param.name in by_name, f"{twin.__name__}.{name} lacks {param.name}"
            mine = by_name[param.name]
            if param.kind is param.POSITIONAL_OR_KEYWORD:
                assert positional[index : index + 1] == [param.name], f"{name}: {param.name} at {index}"
                assert mine.kind is mine.POSITIONAL_OR_KEYWORD, f"{name}: {param.name} by keyword"
            if param.default is not param.empty:
                assert mine.default is not mine.empty, f"{name}: {param.name} needs a default"


# --------------------------------------------------------------------------------------------- the run


def _device_sign_in(url: str, email: str, approve_device: Callable[..., None]) -> str:
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as http:
        start = http.post("/auth/device/code", data={"client_id": "compat test"}).json()
        approve_device(start["verification_uri_complete"], email, PASSWORD)
        grant = {
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": start["device_code"],
        }
        answer = http.post("/auth/token", data=grant)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture(scope="module")
def world(moto, tmp_path_factory, approve_device):
    server = start_floe_in_process(tmp_path_factory.mktemp("compat") / "data")
    site = {"authorization": f"Bearer {admin_token(server, site_admin=True)}"}
    bucket, source = (
        moto.create_bucket(unique_name("floe-compat-")),
        moto.create_bucket(unique_name("floe-src-")),
    )
    try:
        with httpx.Client(base_url=server.url, headers=site, timeout=60, trust_env=False) as http:

            def ok(response: httpx.Response) -> Any:
                assert response.status_code < 300, response.text
                return response.json() if response.content else None

            ok(http.post("/orgs", json={"name": ORG}))
            s3 = {"endpoint_url": moto.endpoint, "region_name": "us-east-1", "use_ssl": False}
            for nickname, name in (("store", bucket), ("source", source)):
                auth = {
                    "method": "hmac",
                    "access_key_id": "testing",
                    "secret_access_key": f"{nickname}-secret",
                    "read_access_key_id": "reader",
                    "read_secret_access_key": f"{nickname}-read-secret",
                }
                body = {"nickname": nickname, "platform": "s3-compatible", "name": name, "extra_config": s3}
                ok(http.post(f"/orgs/{ORG}/buckets", json={**body, "auth_config": auth}))
            ok(http.post(f"/orgs/{ORG}/buckets/store/default"))
            w = World(server.url, bucket, source, moto.endpoint, default_admin=admin_token(server))
            for role in ("admin", "member", "viewer"):
                made = ok(
                    http.post(f"/orgs/{ORG}/api-clients", json={"name": f"compat-{role}", "role": role})
                )
                w.tokens[role], w.ids[role] = made["token"], made["id"]
            email = "person@acme.example.org"
            ok(http.post("/users", json={"email": email, "name": "Pat Person", "password": PASSWORD}))
            ok(http.put(f"/orgs/{ORG}/members/{email}", json={"role": "member"}))
            w.tokens["person"] = _device_sign_in(server.url, email, approve_device)
        admin = floe.Client(server.url, w.tokens["admin"])
        admin.create_repo(f"{ORG}/base", metadata={"kind": "base"})
        for kind in ("arraylake", "floe"):
            for who in WHO:  # the Icechunk repos import_repo registers
                storage = icechunk.s3_storage(
                    bucket=bucket,
                    prefix=f"imports/{kind}-{who}",
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
        server.stop()


@pytest.fixture(autouse=True)
def _isolated_arraylake_config(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARRAYLAKE_USER__DIAGNOSTICS", "false")


def _outcome(row: Row, kind: str, world: World, who: str) -> tuple[int | str, Any]:
    token = world.tokens[who]
    ctx = Ctx(world=world, who=who, tag=f"{kind}-{who}")
    try:
        if row.aio:
            cls = arraylake.AsyncClient if kind == "arraylake" else floe.AsyncClient
            result = asyncio.run(row.call(cls(world.url, token), ctx))
        else:
            cls = arraylake.Client if kind == "arraylake" else floe.Client
            result = row.call(cls(world.url, token), ctx)
    except (floe.FloeError, arraylake.exceptions.ArraylakeHttpError) as exc:
        return exc.status_code or 0, exc
    return OK, result


@pytest.mark.parametrize("kind", ["arraylake", "floe"])
@pytest.mark.parametrize("method", sorted(TABLE))
def test_every_method_as_every_caller(world, method, kind):
    row = TABLE[method]
    if row.skip:
        pytest.skip(row.skip)
    wrong = []
    for who in WHO:
        got, result = _outcome(row, kind, world, who)
        if got != row.wanted(who, kind):
            wrong.append(f"{who}: wanted {row.wanted(who, kind)}, got {got}: {str(result)[:300]}")
        elif got == OK and row.check is not None:
            row.check(result, Ctx(world=world, who=who, tag=f"{kind}-{who}"))
    assert not wrong, f"{kind} {method}:\n" + "\n".join(wrong)


def test_credentials_override_takes_arraylake_and_icechunk_credentials(world):
    from arraylake.types import S3Credentials

    client = floe.Client(world.url, world.tokens["admin"])
    for given in (
        S3Credentials(
            aws_access_key_id="testing", aws_secret_access_key="x", aws_session_token=None, expiration=None
        ),
        icechunk.s3_static_credentials(access_key_id="testing", secret_access_key="x"),
        {"aws_access_key_id": "testing", "aws_secret_access_key": "x"},
    ):
        storage = client.get_icechunk_storage(f"{ORG}/base", credentials_override=given)
        assert "main" in set(icechunk.Repository.open(storage).list_branches())
    with pytest.raises(floe.ValidationError, match="credentials_override must be"):
        client.get_icechunk_storage(f"{ORG}/base", credentials_override=uuid.uuid4())
    with pytest.raises(floe.ValidationError, match="unknown storage option 'timeout'"):
        client.get_repo(f"{ORG}/base", storage_options={"timeout": 3})


def test_async_import_repo_returns_an_opened_repository(world):
    """``AsyncClient.import_repo`` of both clients returns an opened repository (the sync one is in the table)."""

    async def imported(client: Any, kind: str) -> Any:
        prefix = f"imports/async-{kind}"
        storage = icechunk.s3_storage(
            bucket=world.bucket,
            prefix=prefix,
            endpoint_url=world.endpoint,
            allow_http=True,
            force_path_style=True,
            region="us-east-1",
            access_key_id="testing",
            secret_access_key="x",
        )
        icechunk.Repository.create(storage)
        return await client.import_repo(f"{ORG}/async-{kind}", "store", prefix)

    for kind, cls in (("arraylake", arraylake.AsyncClient), ("floe", floe.AsyncClient)):
        repo = asyncio.run(imported(cls(world.url, world.tokens["member"]), kind))
        assert isinstance(repo, icechunk.Repository), f"{kind}: {type(repo)}"
        assert "main" in set(repo.list_branches())


def test_virtual_chunk_access_policies_are_honoured_and_config_containers_registered(world):
    """Once an org has a policy, containers outside it are refused; containers in a create_repo config
    that lie in a bucket config become the repo's registered containers, which a viewer opens as is."""
    admin = floe.Client(world.url, world.tokens["admin"])
    source = f"s3://{world.source}"
    admin.set_virtual_chunk_access_policy(ORG, bucket_nickname="source", subprefix="/allowed/")
    try:
        shown = [p for p in admin.list_virtual_chunk_access_policies(ORG) if p.subprefix == "allowed"]
        assert [p.url_prefix for p in shown] == [f"{source}/allowed/"]
        with pytest.raises(floe.PermissionDeniedError, match="set_virtual_chunk_access_policy"):
            admin.authorize_virtual_chunk_access(f"{ORG}/base", {f"{source}/other/": "source"})
        config = icechunk.RepositoryConfig.default()
        config.set_virtual_chunk_container(
            icechunk.VirtualChunkContainer(f"{source}/allowed/data/", icechunk.s3_store(region="us-east-1"))
        )
        admin.create_repo(f"{ORG}/virtual", config=config)
        assert admin.get_virtual_chunk_containers(f"{ORG}/virtual") == {f"{source}/allowed/data/": "source"}
        viewer = floe.Client(world.url, world.tokens["viewer"])
        opened = viewer.get_repo(f"{ORG}/virtual")
        assert f"{source}/allowed/data/" in (opened.config.virtual_chunk_containers or {})
    finally:
        admin.delete_virtual_chunk_access_policy(ORG, bucket_nickname="source", subprefix="allowed")
        admin.delete_virtual_chunk_access_policy(
            ORG, bucket_nickname="source", subprefix="allowed"
        )  # idempotent
    assert all(p.subprefix != "allowed" for p in admin.list_virtual_chunk_access_policies(ORG))


def test_what_the_arraylake_client_makes_of_floe_answers(world):
    """API clients are readable commit authors; an offline repo gets the client's own message; a repo
    cannot be created on a bucket config it cannot use, with a 409 that names the fix."""
    import zarr

    member = arraylake.Client(world.url, world.tokens["member"])
    repo = member.create_repo(f"{ORG}/authored")
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="a", shape=(2,), chunks=(2,), dtype="i4")[:] = [1, 2]
    session.commit("by an API client")
    (latest, *_) = repo.ancestry(branch="main")
    assert latest.metadata["author_name"] == "compat-member (API client)"

    admin = floe.Client(world.url, world.tokens["admin"])
    admin.set_repo_status(f"{ORG}/authored", mode="offline", message="moving")
    try:
        with pytest.raises(ValueError, match="Repository is offline"):
            member.get_repo(f"{ORG}/authored")
        with pytest.raises(floe.RepoUnavailableError, match="offline"):  # floe.Client: still a 423
            floe.Client(world.url, world.tokens["member"]).get_repo(f"{ORG}/authored")
    finally:
        admin.set_repo_status(f"{ORG}/authored", mode="online")

    fresh = arraylake.Client(world.url, world.default_admin)
    with pytest.raises(arraylake.exceptions.ArraylakeClientError) as refused:
        fresh.create_repo("default/on-local")
    assert refused.value.status_code == 409
    assert "default bucket config 'local'" in str(refused.value) and "set_default_bucket_config" in str(
        refused.value
    )
    assert "on-local" not in [
        r.name for r in floe.Client(world.url, world.default_admin).list_repos("default")
    ]
