"""Every route of the API x every kind of caller, and where bucket secrets may appear.

One server, two orgs (``acme`` and ``other``), an S3 bucket config per org whose HMAC secret is
known, people of each role signed in through the device flow, and broken tokens of every kind.
The walk takes the routes from the server's own OpenAPI schema, so a route added without a row
in ``ROUTES`` fails the test. Every response is kept; afterwards the bucket secret may appear only
in the answers of credential routes to callers allowed to use them, never in the server log,
and never in what the CLI prints.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from cli_runner import Floe
from floe.tls import ssl_context
from services import InProcessFloe, MotoServer, admin_token, start_floe_in_process, unique_name

SECRET = f"sweep-secret-{uuid.uuid4().hex}"
OTHER_SECRET = f"sweep-other-secret-{uuid.uuid4().hex}"
PASSWORD = "correct horse battery staple"
ACCESS_KEY_ID = "sweep-access-key"
READ_KEY_ID = "sweep-read-key"
READ_SECRET = f"sweep-read-secret-{uuid.uuid4().hex}"
CLIENT_CAPABILITIES = {"conditional_create", "conditional_update"}
ORG = "acme"
ROLES = ("viewer", "member", "admin", "owner")
RANK = {role: i for i, role in enumerate(ROLES)}
BROKEN = ("no_token", "garbage", "expired", "revoked")
PEOPLE = (*ROLES, "other_admin")
PRINCIPALS = (*BROKEN, *PEOPLE)
WEB_PAGES = {"/", "/login", "/logout", "/device", "/auth/oidc/login", "/auth/oidc/callback"}


def email(who: str) -> str:
    return f"{who.replace('_', '-')}@acme.example.org"


# --------------------------------------------------------------------------------------------- world


@dataclass
class World:
    server: InProcessFloe
    moto: MotoServer
    tokens: dict[str, str | None] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    bucket_id: str = ""
    bucket_name: str = ""
    site_token: str = ""

    def http(self, who: str = "site_admin", **headers: str) -> httpx.Client:
        token = self.site_token if who == "site_admin" else self.tokens[who]
        if token:
            headers["authorization"] = f"Bearer {token}"
        return httpx.Client(
            base_url=self.server.url, headers=headers, timeout=60, trust_env=False, verify=ssl_context()
        )

    def admin(self, method: str, path: str, ok: tuple[int, ...] = (200, 201, 204), **kwargs: Any) -> Any:
        """A set-up step as site admin; fails the test loudly if it does not work."""
        with self.http() as http:
            response = http.request(method, path, **kwargs)
        assert response.status_code in ok, f"setup {method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None


def s3_bucket_config(moto: MotoServer, nickname: str, bucket: str, secret: str) -> dict:
    """HMAC keys with a read-only pair, which is what readers receive."""
    return {
        "nickname": nickname,
        "platform": "s3-compatible",
        "name": bucket,
        "extra_config": {"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
        "auth_config": {
            "method": "hmac",
            "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": secret,
            "read_access_key_id": READ_KEY_ID,
            "read_secret_access_key": READ_SECRET,
        },
    }


def device_sign_in(world: World, who: str, approve_device: Callable[..., None]) -> str:
    """A session token for ``who``, through the device flow and the browser pages."""
    with httpx.Client(base_url=world.server.url, timeout=30, trust_env=False) as http:
        start = http.post("/auth/device/code", data={"client_id": "matrix test"}).json()
        approve_device(start["verification_uri_complete"], email(who), PASSWORD)
        answer = http.post(
            "/auth/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "device_code": start["device_code"],
            },
        )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture(scope="module")
def world(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory, approve_device) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("matrix") / "data"
    server = start_floe_in_process(data_dir)
    try:
        w = World(server=server, moto=moto, site_token=admin_token(server, site_admin=True))
        w.admin("POST", "/orgs", json={"name": ORG})
        w.admin("POST", "/orgs", json={"name": "other"})
        w.bucket_name = moto.create_bucket(unique_name("floe-matrix-"))
        bucket = w.admin(
            "POST", f"/orgs/{ORG}/buckets", json=s3_bucket_config(moto, "store", w.bucket_name, SECRET)
        )
        w.bucket_id = bucket["id"]
        other_bucket = moto.create_bucket(unique_name("floe-matrix-"))
        w.admin(
            "POST", "/orgs/other/buckets", json=s3_bucket_config(moto, "ostore", other_bucket, OTHER_SECRET)
        )
        for who in PEOPLE:
            user = w.admin(
                "POST",
                "/users",
                json={"email": email(who), "name": f"{who.title()} Person", "password": PASSWORD},
            )
            w.ids[who] = user["id"]
            org, role = ("other", "admin") if who == "other_admin" else (ORG, who)
            w.admin("PUT", f"/orgs/{org}/members/{email(who)}", json={"role": role})
            w.tokens[who] = device_sign_in(w, who, approve_device)
        w.tokens["no_token"] = None
        w.tokens["garbage"] = "ema_this-token-was-never-issued"
        expired = w.admin(
            "POST",
            f"/orgs/{ORG}/api-clients",
            json={"name": "expired", "role": "admin", "expires_in_days": 0.00001},
        )
        revoked = w.admin("POST", f"/orgs/{ORG}/api-clients", json={"name": "revoked", "role": "admin"})
        w.admin("DELETE", f"/orgs/{ORG}/api-clients/revoked")
        w.tokens["expired"], w.tokens["revoked"] = expired["token"], revoked["token"]
        w.admin(
            "POST",
            f"/orgs/{ORG}/repos",
            json={"name": "shared", "bucket_nickname": "store", "create_mode": "create"},
        )
        time.sleep(1.0)  # the expired token's second is over
        yield w
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------- routes


@dataclass
class Route:
    """One API route: what it needs, how to call it, what success looks like.

    ``need`` is an org role (``viewer`` .. ``owner``) for routes inside org ``acme``; or ``public``
    (no token needed), ``signed_in`` (any valid token), ``site`` (site admins only, outside any org),
    ``site_in_org`` (site admins only, on org ``acme``). ``ok`` is the status a permitted caller
    gets; ``expect`` overrides single principals. ``prepare(world, who)`` makes what the call
    consumes (as site admin) before each caller tries it. ``credentials``: its answer may carry
    bucket secrets to permitted callers.
    """

    method: str
    path: str
    need: str
    ok: int = 200
    body: Callable[[World, str], Any] | None = None
    query: Callable[[World, str], dict] | None = None
    form: bool = False
    prepare: Callable[[World, str], None] | None = None
    expect: dict[str, int] = field(default_factory=dict)
    credentials: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def url(self, world: World, who: str) -> str:
        return self.path.format(org=ORG, repo="shared", bucket=world.bucket_id, who=who.replace("_", "-"))

    def expected(self, who: str) -> int:
        if who in self.expect:
            return self.expect[who]
        if self.need == "public":
            return self.ok
        if who in BROKEN:
            return 401
        if self.need == "signed_in":
            return self.ok
        if self.need == "site":
            return 403
        if who == "other_admin":
            return 404  # another org's principal sees nothing of acme
        if self.need == "site_in_org":
            return 403
        return self.ok if RANK[who] >= RANK[self.need] else 403


def _new_repo(name: str) -> Callable[[World, str], None]:
    def prepare(world: World, who: str) -> None:
        world.admin(
            "POST",
            f"/orgs/{ORG}/repos",
            json={
                "name": f"{name}-{who.replace('_', '-')}",
                "bucket_nickname": "store",
                "create_mode": "create",
            },
        )

    return prepare


def _new_member(prefix: str, role: str = "member") -> Callable[[World, str], None]:
    def prepare(world: World, who: str) -> None:
        target = email(f"{prefix}-{who}")
        world.admin(
            "POST", "/users", ok=(201, 409), json={"email": target, "name": "Target", "password": PASSWORD}
        )
        world.admin("PUT", f"/orgs/{ORG}/members/{target}", json={"role": role})

    return prepare


def _granted(world: World, who: str) -> None:
    _new_member("grantee")(world, who)
    world.admin("PUT", f"/repos/{ORG}/shared/grants/{email('grantee-' + who)}", json={"level": "write"})


def _new_api_client(world: World, who: str) -> None:
    world.admin("POST", f"/orgs/{ORG}/api-clients", json={"name": f"doomed-{who.replace('_', '-')}"})


def _new_bucket(world: World, who: str) -> None:
    world.admin(
        "POST",
        f"/orgs/{ORG}/buckets",
        json=s3_bucket_config(world.moto, f"doomed-{who.replace('_', '-')}", world.bucket_name, SECRET),
    )


def _service_body(name: str) -> dict:
    return {"service_type": "zarr", "org": ORG, "deployment_name": name}


def _service(name: str) -> Callable[[World, str], None]:
    """Enable the service ``name`` (``{who}`` in it: one per caller) unless it is there already."""

    def prepare(world: World, who: str) -> None:
        service = name.format(who=who.replace("_", "-"))
        world.admin("POST", f"/compute/orgs/{ORG}/services", ok=(201, 409), json=_service_body(service))

    return prepare


LEASE = {"holder": "matrix", "ttl_seconds": 5}

ROUTES: list[Route] = [
    # meta and sign-in
    Route("GET", "/health", "public"),
    Route("GET", "/auth/config", "public"),
    Route("POST", "/auth/device/code", "public", body=lambda w, p: {"client_id": "matrix"}, form=True),
    Route("POST", "/auth/token", "public", ok=400, body=lambda w, p: {"grant_type": "password"}, form=True),
    Route("GET", "/user", "signed_in"),
    Route("POST", "/user/diagnostics", "signed_in", ok=204, body=lambda w, p: {}),
    Route("PATCH", "/user", "signed_in", body=lambda w, p: {"name": f"{p.title()} Person"}),
    Route(
        "POST",
        "/user/password",
        "signed_in",
        ok=204,
        body=lambda w, p: {"current_password": PASSWORD, "new_password": PASSWORD},
    ),
    Route("GET", "/auth/sessions", "signed_in"),
    Route("DELETE", f"/auth/sessions/{uuid.uuid4()}", "signed_in", ok=404),
    # people
    Route("GET", "/users", "site"),
    Route("POST", "/users", "site", body=lambda w, p: {"email": email(f"new-{p}"), "name": "New"}),
    Route("GET", "/users/" + email("owner"), "site", expect={"owner": 200}),
    Route("PATCH", "/users/" + email("viewer"), "site", body=lambda w, p: {"name": "Viewer Person"}),
    Route("GET", "/orgs/{org}/members", "viewer"),
    Route(
        "PUT",
        "/orgs/{org}/members/target-{who}@acme.example.org",
        "admin",
        body=lambda w, p: {"role": "viewer"},
        prepare=_new_member("target"),
    ),
    Route(
        "PUT",
        "/orgs/{org}/members/future-owner-{who}@acme.example.org",
        "owner",
        body=lambda w, p: {"role": "owner"},
        prepare=_new_member("future-owner"),
    ),
    Route(
        "DELETE",
        "/orgs/{org}/members/leaver-{who}@acme.example.org",
        "admin",
        ok=204,
        prepare=_new_member("leaver"),
    ),
    Route("GET", "/repos/{org}/{repo}/grants", "admin"),
    Route(
        "PUT",
        "/repos/{org}/{repo}/grants/grant-target-{who}@acme.example.org",
        "admin",
        body=lambda w, p: {"level": "read"},
        prepare=_new_member("grant-target"),
    ),
    Route(
        "DELETE",
        "/repos/{org}/{repo}/grants/grantee-{who}@acme.example.org",
        "admin",
        ok=204,
        prepare=_granted,
    ),
    Route("GET", "/orgs/{org}/audit", "admin"),
    Route("GET", "/audit", "site"),
    # orgs and API clients
    Route("GET", "/orgs", "signed_in"),
    Route("POST", "/orgs", "site", body=lambda w, p: {"name": f"org-{p.replace('_', '-')}"}),
    Route("GET", "/orgs/{org}", "viewer"),
    Route("DELETE", "/orgs/{org}", "site_in_org", ok=204),
    # storage locations shared with an org: site admins share, org admins may look
    Route("GET", "/orgs/{org}/locations", "admin"),
    Route(
        "POST",
        "/orgs/{org}/locations",
        "site_in_org",
        ok=201,
        body=lambda w, p: {"platform": "file", "name": f"/srv/shared/{p}"},
    ),
    Route("DELETE", "/orgs/{org}/locations/" + str(uuid.uuid4()), "site_in_org", ok=404),
    Route(
        "GET",
        "/orgs/{org}/api-clients/authenticate",
        "viewer",
        query=lambda w, p: {"token": w.tokens["member"]},
    ),
    Route("GET", "/orgs/{org}/api-clients", "admin"),
    Route(
        "POST",
        "/orgs/{org}/api-clients",
        "admin",
        ok=201,
        body=lambda w, p: {"name": f"bot-{p}", "role": "viewer"},
    ),
    Route("DELETE", "/orgs/{org}/api-clients/doomed-{who}", "admin", prepare=_new_api_client),
    Route(
        "GET",
        "/orgs/{org}/permissions/check",
        "viewer",
        query=lambda w, p: {
            "principal_id": w.ids["member"],
            "resource": f"{ORG}/shared",
            "action": "CAN_WRITE",
        },
    ),
    # bucket configs
    Route("GET", "/orgs/{org}/buckets", "viewer"),
    Route(
        "POST",
        "/orgs/{org}/buckets",
        "admin",
        ok=201,
        body=lambda w, p: s3_bucket_config(w.moto, f"new-{p.replace('_', '-')}", w.bucket_name, SECRET),
    ),
    Route("GET", "/orgs/{org}/buckets/{bucket}", "viewer"),
    Route("PATCH", "/orgs/{org}/buckets/{bucket}", "admin", body=lambda w, p: {"nickname": "store"}),
    Route("DELETE", "/orgs/{org}/buckets/doomed-{who}", "admin", ok=204, prepare=_new_bucket),
    Route("POST", "/orgs/{org}/buckets/{bucket}/default", "admin"),
    Route("POST", "/orgs/{org}/buckets/{bucket}/check", "admin"),
    Route("GET", "/orgs/{org}/buckets/{bucket}/repos", "viewer"),
    Route("GET", "/orgs/{org}/buckets/{bucket}/credentials", "member", credentials=True),
    Route("GET", "/orgs/{org}/buckets/{bucket}/discover", "member"),  # lists the storage: bucket:use
    # repos
    Route("GET", "/orgs/{org}/repos/paginated", "viewer"),
    Route(
        "POST",
        "/orgs/{org}/repos",
        "member",
        ok=201,
        body=lambda w, p: {"name": f"made-by-{p.replace('_', '-')}", "bucket_nickname": "store"},
    ),
    Route(
        "POST",
        "/orgs/{org}/repos/import",
        "member",
        ok=404,  # permitted callers get as far as looking for the Icechunk repo, which is not there
        body=lambda w, p: {
            "name": f"imported-{p.replace('_', '-')}",
            "bucket_nickname": "store",
            "prefix": f"none-{p}",
        },
    ),
    Route("GET", "/repos/{org}/{repo}", "viewer"),
    Route(
        "GET",
        "/repos/{org}/{repo}",
        "viewer",
        credentials=True,
        headers={"client-name": "arraylake-py-client"},
    ),
    Route("GET", "/repos/{org}/{repo}/open", "viewer", credentials=True),
    Route("GET", "/repos/{org}/{repo}/bucket-credentials", "viewer", credentials=True),
    Route("POST", "/repos/{org}/{repo}/created", "member"),  # the creator's confirmation (already ready)
    Route("PATCH", "/orgs/{org}/{repo}", "member", body=lambda w, p: {"description": f"touched by {p}"}),
    Route("PUT", "/orgs/{org}/{repo}/status", "admin", body=lambda w, p: {"mode": "online"}),
    Route("DELETE", "/orgs/{org}/doomed-{who}", "admin", ok=204, prepare=_new_repo("doomed")),
    Route("GET", "/repos/icechunk/{org}/{repo}/virtual-chunk-containers", "viewer"),
    Route("PATCH", "/repos/icechunk/{org}/{repo}/virtual-chunk-containers", "member", body=lambda w, p: {}),
    Route("POST", "/repos/icechunk/{org}/{repo}/virtual-chunk-containers", "member", body=lambda w, p: {}),
    Route("GET", "/orgs/{org}/settings/virtual-chunk-access-policies", "viewer"),
    Route(
        "PUT",
        "/orgs/{org}/settings/virtual-chunk-access-policies",
        "admin",
        body=lambda w, p: {"bucket_id": w.bucket_id, "subprefix": f"matrix-{p}"},
    ),
    Route(
        "DELETE",
        "/orgs/{org}/settings/virtual-chunk-access-policies",
        "admin",
        ok=204,
        body=lambda w, p: {"bucket_id": w.bucket_id, "subprefix": f"matrix-{p}"},
    ),
    # the trash: members see it and restore what they deleted; purging is for org admins (the entry id
    # here names nothing, so permitted callers get as far as looking it up)
    Route("GET", "/orgs/{org}/trash", "member"),
    Route("POST", "/orgs/{org}/trash/" + "0" * 24 + "/restore", "member", ok=404, body=lambda w, p: {}),
    Route("DELETE", "/orgs/{org}/trash/" + "0" * 24, "admin", ok=404),
    Route("PATCH", "/orgs/{org}", "admin", body=lambda w, p: {"trash_retention_days": 7}),
    # share links: repo admins manage them; anyone holding one opens it without a token. The bucket
    # config's read-only pair can write on this (IAM-less) moto, so the probe said so and links are refused.
    Route("POST", "/repos/{org}/{repo}/shares", "admin", ok=422, body=lambda w, p: {"expires_in": "1h"}),
    Route("GET", "/repos/{org}/{repo}/shares", "admin"),
    Route("DELETE", "/repos/{org}/{repo}/shares/" + str(uuid.uuid4()), "admin", ok=404),
    Route("GET", "/shared/fls_never-issued/open", "public", ok=404),
    # commit leases
    Route("GET", "/repos/{org}/{repo}/leases", "viewer"),
    Route("POST", "/repos/{org}/{repo}/leases/branch.{who}", "member", ok=201, body=lambda w, p: LEASE),
    Route(
        "PUT", "/repos/{org}/{repo}/leases/branch.{who}/0123abcd", "member", ok=409, body=lambda w, p: LEASE
    ),
    Route("DELETE", "/repos/{org}/{repo}/leases/branch.{who}/0123abcd", "member", ok=204),
    Route("DELETE", "/repos/{org}/{repo}/leases/branch.nobody", "admin", ok=404),
    # data services: org admins enable and disable them and read their logs, anyone in the org lists them
    Route("GET", "/compute/orgs/{org}/services", "viewer"),
    Route(
        "POST",
        "/compute/orgs/{org}/services",
        "admin",
        ok=201,
        body=lambda w, p: _service_body(f"m-{p.replace('_', '-')}"),
    ),
    Route("GET", "/compute/orgs/{org}/services/shown", "viewer", prepare=_service("shown")),
    Route("GET", "/compute/orgs/{org}/services/shown/logs", "admin", prepare=_service("shown")),
    Route("DELETE", "/compute/orgs/{org}/services/d-{who}", "admin", prepare=_service("d-{who}")),
    # copying and moving repos (floe/server/routes/transfers.py): the answers carry both ends' credentials
    Route(
        "POST",
        "/orgs/{org}/repos/copy-{who}/copy-target",
        "member",
        body=lambda w, p: {"source": f"{ORG}/shared", "bucket_nickname": "store"},
        credentials=True,
    ),
    Route(
        "POST",
        "/orgs/{org}/repos/{repo}/copy-complete",
        "admin",
        ok=409,
        body=lambda w, p: {"source": f"{ORG}/x"},
    ),
    Route(
        "POST",
        "/orgs/{org}/repos/mv-{who}/move-target",
        "admin",
        body=lambda w, p: {"bucket_nickname": "store"},
        prepare=_new_repo("mv"),
        credentials=True,
    ),
    Route("POST", "/orgs/{org}/repos/{repo}/move-complete", "admin", ok=409),
    Route("POST", "/orgs/{org}/repos/{repo}/move-abort", "admin", ok=409),
    # last: ends each person's session
    Route("POST", "/auth/logout", "signed_in", ok=204),
]


@dataclass
class Seen:
    route: Route
    who: str
    status: int
    body: str


def _call(world: World, route: Route, who: str) -> httpx.Response:
    kwargs: dict[str, Any] = {}
    if route.query:
        kwargs["params"] = route.query(world, who)
    if route.body:
        kwargs["data" if route.form else "json"] = route.body(world, who)
    with world.http(who, **route.headers) as http:
        return http.request(route.method, route.url(world, who), **kwargs)


def test_every_route_is_in_the_matrix(world: World):
    with world.http() as http:
        schema = http.get("/openapi.json").json()
    called = [(r.method, r.url(world, "viewer")) for r in ROUTES]
    missing = []
    for path, operations in schema["paths"].items():
        if path in WEB_PAGES:
            continue
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"
        for method in operations:
            if not any(m == method.upper() and re.match(pattern, url) for m, url in called):
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"routes without a row in ROUTES: {sorted(missing)}"


@pytest.mark.timeout(900)  # about 800 requests, each route prepared for each caller: the longest test
def test_route_by_principal_matrix_and_secret_sweep(world: World, tmp_path):
    seen: list[Seen] = []
    wrong: list[str] = []
    for route in ROUTES:
        for who in PRINCIPALS:
            if route.prepare:  # for refused callers too: they must get 403, not 404, and consume nothing
                route.prepare(world, who)
            response = _call(world, route, who)
            seen.append(Seen(route, who, response.status_code, response.text))
            want = route.expected(who)
            if response.status_code != want:
                wrong.append(
                    f"{route.method} {route.url(world, who)} as {who}: {response.status_code}, want {want}: {response.text[:200]}"
                )
    assert not wrong, "\n".join(wrong)

    # Secrets: only in credential routes' answers, only to callers who passed.
    leaks = [
        f"{s.route.method} {s.route.path} as {s.who} ({s.status})"
        for s in seen
        if (SECRET in s.body or READ_SECRET in s.body or OTHER_SECRET in s.body)
        and not (s.route.credentials and s.status == 200)
    ]
    assert not leaks, f"bucket secret in responses it must not be in: {leaks}"
    assert OTHER_SECRET not in "".join(s.body for s in seen), "another org's secret reached acme callers"
    carried = {s.route.path for s in seen if SECRET in s.body or READ_SECRET in s.body}
    assert carried == {r.path for r in ROUTES if r.credentials}, (
        "credential routes did not answer permitted callers"
    )

    # Readers receive the read-only pair, never the keys that write.
    for s in seen:
        if s.who == "viewer" and s.route.credentials and s.status == 200:
            where = f"{s.route.method} {s.route.path} as viewer"
            assert SECRET not in s.body, f"write keys reached a viewer: {where}"
            assert READ_SECRET in s.body, f"no read-only keys for a viewer: {where}"

    # Viewers and members see where a bucket is, not its access key id (outside answers that hand out
    # the keys anyway) nor what the probe found beyond what clients need (conditional writes).
    for s in seen:
        if s.who not in ("viewer", "member") or s.status >= 400:
            continue
        where = f"{s.route.method} {s.route.path} as {s.who}"
        if not s.route.credentials:
            assert ACCESS_KEY_ID not in s.body, f"access key id in {where}"
        for caps in _values_of(json.loads(s.body) if s.body else None, "capabilities"):
            found = {key for key, value in (caps or {}).items() if value not in (None, [])}
            assert found <= CLIENT_CAPABILITIES, f"probe findings in {where}: {caps}"

    # Every refusal says why; no answer carries a caller's token.
    tokens = [t for t in world.tokens.values() if t]
    for s in seen:
        if s.status >= 400 and s.route.path != "/auth/token":
            assert json.loads(s.body)["detail"], s
        assert not any(token in s.body for token in tokens), f"a token in {s.route.method} {s.route.path}"

    _cli_sweep(world, tmp_path)

    log = world.server.log_path.read_text()
    assert SECRET not in log and READ_SECRET not in log and OTHER_SECRET not in log, (
        "a bucket secret reached the server log"
    )
    for token in (world.tokens["member"], world.tokens["viewer"], world.site_token):
        assert token not in log, "a token reached the server log"
    assert PASSWORD not in log


def _values_of(data: Any, key: str) -> Iterator[Any]:
    """Every value stored under ``key`` anywhere in a JSON document."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k == key:
                yield v
            yield from _values_of(v, key)
    elif isinstance(data, list):
        for item in data:
            yield from _values_of(item, key)


def _cli_sweep(world: World, tmp_path) -> None:
    """Every read-only CLI command an admin would run, with the secret bucket in play (in this process,
    through the CLI's entry point: what it prints is what a person sees)."""
    floe = Floe(world.server, tmp_path / "cli-config", token=world.site_token, in_process=True)
    commands = [
        ["org", "list"],
        ["org", "get", ORG],
        ["bucket", "list", "--org", ORG],
        ["bucket", "get", "store", "--org", ORG],
        ["bucket", "repos", "store", "--org", ORG],
        ["bucket", "ls", "store", "--org", ORG],
        ["repo", "list", ORG],
        ["repo", "get", f"{ORG}/shared"],
        ["repo", "leases", f"{ORG}/shared"],
        ["repo", "grants", f"{ORG}/shared"],
        ["token", "list", "--org", ORG],
        ["member", "list", ORG],
        ["user", "list"],
        ["audit", "list", "--org", ORG, "--all"],
        ["audit", "list", "--all", "--json"],
        ["auth", "status"],
    ]
    for args in commands:
        for fmt in ([], ["--json"]) if "--json" not in args else ([],):
            done = floe(*args, *fmt)
            output = done.out + done.err
            assert done.code == 0, done.describe()
            assert output.strip(), f"floe {' '.join(args + fmt)} printed nothing"
            assert SECRET not in output and OTHER_SECRET not in output, (
                f"secret printed by floe {' '.join(args)}"
            )
            assert world.site_token not in output, f"token printed by floe {' '.join(args)}"


def test_audit_trail_records_who_what_where(world: World):
    bot = world.admin("POST", f"/orgs/{ORG}/api-clients", json={"name": "auditee", "role": "viewer"})
    with httpx.Client(base_url=world.server.url, headers={"authorization": f"Bearer {bot['token']}"}) as http:
        assert http.get(f"/repos/{ORG}/shared/open").status_code == 200
    with world.http() as http:
        page = http.get(f"/orgs/{ORG}/audit", params={"action": "credentials", "actor": "auditee"}).json()
        created = http.get(f"/orgs/{ORG}/audit", params={"action": "api_client", "limit": 500}).json()
    event = page["items"][0]
    assert event["action"] == "credentials.vend" and event["actor_kind"] == "api_client"
    assert event["resource"] == f"{ORG}/shared" and event["address"] == "127.0.0.1"
    assert event["detail"]["read_only"] is True and event["detail"]["bucket"] == "store"
    made = [e for e in created["items"] if e["resource"] == f"{ORG}/api-clients/auditee"]
    assert made and made[0]["action"] == "api_client.create" and made[0]["actor_kind"] == "api_client"
    assert SECRET not in json.dumps(page) and bot["token"] not in json.dumps(created)


def test_a_grant_lifts_one_principal_on_one_repo(world: World):
    """A viewer API client with a write grant on one repo may write there (routes, /open and the
    permission check agree), and nowhere else; the grant goes when the client is revoked."""
    bot = world.admin("POST", f"/orgs/{ORG}/api-clients", json={"name": "granted-bot", "role": "viewer"})
    world.admin("POST", f"/orgs/{ORG}/repos", json={"name": "elsewhere", "bucket_nickname": "store"})
    bearer = {"authorization": f"Bearer {bot['token']}"}

    def check(resource: str, action: str) -> bool:
        params = {"principal_id": bot["id"], "resource": resource, "action": action}
        return world.admin("GET", f"/orgs/{ORG}/permissions/check", params=params)["has_permission"]

    with httpx.Client(base_url=world.server.url, headers=bearer, timeout=60) as http:
        assert http.patch(f"/orgs/{ORG}/shared", json={"description": "x"}).status_code == 403
        assert http.get(f"/repos/{ORG}/shared/open").json()["can_write"] is False
        assert not check(f"{ORG}/shared", "CAN_WRITE")

        world.admin("PUT", f"/repos/{ORG}/shared/grants/granted-bot", json={"level": "write"})
        assert http.patch(f"/orgs/{ORG}/shared", json={"description": "by grant"}).status_code == 200
        assert http.get(f"/repos/{ORG}/shared/open").json()["can_write"] is True
        assert check(f"{ORG}/shared", "CAN_WRITE") and check(f"{ORG}/shared", "repo:write")
        assert not check(f"{ORG}/shared", "CAN_MANAGE_USERS")  # write, not admin
        assert not check(f"{ORG}/elsewhere", "CAN_WRITE")
        assert not check(ORG, "CAN_WRITE_REPOS")  # the org role is unchanged
        assert http.patch(f"/orgs/{ORG}/elsewhere", json={"description": "no"}).status_code == 403
        assert http.put(f"/orgs/{ORG}/shared/status", json={"mode": "online"}).status_code == 403

        grants = world.admin("GET", f"/repos/{ORG}/shared/grants")
        assert {"principal": "granted-bot", "principal_kind": "api_client", "level": "write"}.items() <= next(
            g for g in grants if g["principal"] == "granted-bot"
        ).items()
        world.admin("DELETE", f"/orgs/{ORG}/api-clients/granted-bot")
        assert all(g["principal"] != "granted-bot" for g in world.admin("GET", f"/repos/{ORG}/shared/grants"))
