"""Tenants stay apart: org storage locations, the outbound-request policy, read-only keys.

Each test is an attack that worked on Floe 0.1, tried again over HTTP against a real server
process (and a real S3 test server, with IAM enforced where keys must be told apart).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
import zarr
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import floe
from cli_runner import Floe
from floe.storage import egress
from services import (
    S3_READ_ACTIONS,
    FloeServer,
    MotoServer,
    admin_token,
    bootstrap_token,
    start_floe,
    start_floe_in_process,
    start_moto,
    unique_name,
)


def api(server: FloeServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {token}"}, timeout=60)


def s3_body(moto: MotoServer, bucket: str, prefix: str = "", nickname: str = "moto", **auth) -> dict:
    return {
        "nickname": nickname,
        "platform": "s3-compatible",
        "name": bucket,
        "prefix": prefix,
        "extra_config": {"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
        "auth_config": auth
        or {"method": "hmac", "access_key_id": "testing", "secret_access_key": "s3cr3t-key"},
    }


class Listener:
    """A TCP listener on loopback that counts the connections it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FloeServer]:
    """One server, allowing loopback (where the test stores live), with orgs alpha and beta."""
    found = start_floe_in_process(tmp_path_factory.mktemp("tenants") / "data")
    with api(found, bootstrap_token(found)) as site:
        for org in ("alpha", "beta"):
            assert site.post("/orgs", json={"name": org}).status_code == 201
    yield found
    found.stop()


@pytest.fixture(scope="module")
def tokens(server: FloeServer) -> dict[str, str]:
    return {
        "site": bootstrap_token(server),
        "alpha": admin_token(server, org="alpha"),
        "beta": admin_token(server, org="beta"),
    }


def _files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


# --- 1. storage locations belong to one org --------------------------------------------------


def test_file_configs_stay_inside_the_orgs_own_folder(server, tokens, tmp_path):
    storage = server.data_dir / "storage"
    with api(server, tokens["alpha"]) as alpha:
        made = alpha.post(
            "/orgs/alpha/buckets",
            json={"nickname": "alpha-local", "platform": "file", "name": str(storage / "alpha")},
        )
        assert made.status_code == 201, made.text
        assert (
            alpha.post(
                "/orgs/alpha/repos", json={"name": "secret", "bucket_nickname": "alpha-local"}
            ).status_code
            == 201
        )
        prefix = alpha.get("/repos/alpha/secret").json()["prefix"]
    client = floe.Client(service_uri=server.url, token=tokens["alpha"])
    repo = client.create_repo("alpha/data", bucket_config_nickname="alpha-local")
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="x", shape=(4,), dtype="i4")[:] = 7
    session.commit("alpha's data")
    before = _files(storage / "alpha")
    assert before > 0

    with api(server, tokens["beta"]) as beta:
        for name in (storage, storage / "alpha", storage / "default", storage / "alpha" / "deeper"):
            refused = beta.post(
                "/orgs/beta/buckets", json={"nickname": "grab", "platform": "file", "name": str(name)}
            )
            assert refused.status_code == 422, (name, refused.text)
            assert "outside the folders this server allows" in refused.json()["detail"]
            assert str(storage / "beta") in refused.json()["detail"]
        # its own folder is fine; importing alpha's repo prefix from there finds nothing of alpha's
        own = beta.post(
            "/orgs/beta/buckets",
            json={"nickname": "beta-local", "platform": "file", "name": str(storage / "beta")},
        )
        assert own.status_code == 201, own.text
        stolen = beta.post(
            "/orgs/beta/repos",
            json={
                "name": "stolen",
                "bucket_nickname": "beta-local",
                "prefix": prefix,
                "create_mode": "import",
            },
        )
        assert stolen.status_code == 404
        escape = beta.post(
            "/orgs/beta/repos",
            json={
                "name": "stolen",
                "bucket_nickname": "beta-local",
                "prefix": f"../alpha/{prefix}",
                "create_mode": "import",
            },
        )
        assert escape.status_code == 422
    assert _files(storage / "alpha") == before
    assert client.get_repo("alpha/data").readonly_session("main").store is not None

    # a site admin may share a folder outside the org's own with it
    elsewhere = tmp_path / "shared-folder"
    with api(server, tokens["beta"]) as beta:
        assert (
            beta.post(
                "/orgs/beta/buckets", json={"nickname": "outside", "platform": "file", "name": str(elsewhere)}
            ).status_code
            == 422
        )
        assert (
            beta.post("/orgs/beta/locations", json={"platform": "file", "name": str(elsewhere)}).status_code
            == 403
        )
    with api(server, tokens["site"]) as site:
        shared = site.post("/orgs/beta/locations", json={"platform": "file", "name": str(elsewhere)})
        assert shared.status_code == 201, shared.text
    with api(server, tokens["beta"]) as beta:
        made = beta.post(
            "/orgs/beta/buckets", json={"nickname": "outside", "platform": "file", "name": str(elsewhere)}
        )
        assert made.status_code == 201, made.text
        assert [loc["name"] for loc in beta.get("/orgs/beta/locations").json()] == [str(elsewhere)]
    with api(server, tokens["alpha"]) as alpha:
        assert alpha.get("/orgs/beta/locations").status_code == 404


def test_s3_locations_do_not_overlap_across_orgs(server, tokens, moto, s3_bucket):
    with api(server, tokens["alpha"]) as alpha:
        made = alpha.post("/orgs/alpha/buckets", json=s3_body(moto, s3_bucket, "alpha-data", nickname="lake"))
        assert made.status_code == 201, made.text
        # another config of the same org may overlap its own
        assert (
            alpha.post(
                "/orgs/alpha/buckets", json=s3_body(moto, s3_bucket, "alpha-data/sub", nickname="lake-sub")
            ).status_code
            == 201
        )
    with api(server, tokens["beta"]) as beta:
        for prefix in ("", "alpha-data", "alpha-data/x/y"):
            refused = beta.post("/orgs/beta/buckets", json=s3_body(moto, s3_bucket, prefix, nickname="grab"))
            assert refused.status_code == 409, (prefix, refused.text)
            assert "another org" in refused.json()["detail"] and "share-location" in refused.json()["detail"]
        # the same store under another name for its host is still the same store
        alias = s3_body(moto, s3_bucket, "alpha-data", nickname="alias")
        alias["extra_config"]["endpoint_url"] = moto.endpoint.replace("127.0.0.1", "localhost")
        refused = beta.post("/orgs/beta/buckets", json=alias)
        assert refused.status_code == 409, refused.text
        # another prefix of the same bucket is not alpha's
        mine = beta.post("/orgs/beta/buckets", json=s3_body(moto, s3_bucket, "beta-data", nickname="mine"))
        assert mine.status_code == 201, mine.text
        moved = beta.patch("/orgs/beta/buckets/mine", json={"prefix": "alpha-data"})
        assert moved.status_code == 409
        assert [b["nickname"] for b in beta.get("/orgs/beta/buckets").json()].count("grab") == 0
    with api(server, tokens["site"]) as site:
        shared = site.post(
            "/orgs/beta/locations",
            json={
                "platform": "s3-compatible",
                "name": s3_bucket,
                "prefix": "alpha-data/shared",
                "extra_config": {"endpoint_url": moto.endpoint},
            },
        )
        assert shared.status_code == 201, shared.text
        location_id = shared.json()["id"]
    with api(server, tokens["beta"]) as beta:
        made = beta.post(
            "/orgs/beta/buckets", json=s3_body(moto, s3_bucket, "alpha-data/shared/2026", nickname="joint")
        )
        assert made.status_code == 201, made.text
    with api(server, tokens["site"]) as site:
        busy = site.delete(f"/orgs/beta/locations/{location_id}")
        assert busy.status_code == 409 and "joint" in busy.json()["detail"]


def test_repo_prefixes_never_nest_anywhere_in_the_catalog(server, tokens, moto, s3_bucket):
    with api(server, tokens["alpha"]) as alpha:
        assert (
            alpha.post(
                "/orgs/alpha/buckets", json=s3_body(moto, s3_bucket, "lab", nickname="lab")
            ).status_code
            == 201
        )
        assert (
            alpha.post("/orgs/alpha/buckets", json=s3_body(moto, s3_bucket, "", nickname="whole")).status_code
            == 201
        )
        created = alpha.post(
            "/orgs/alpha/repos", json={"name": "outer", "bucket_nickname": "lab", "prefix": "outer"}
        )
        assert created.status_code == 201, created.text
        # the same objects reached through another bucket config: inside, equal, containing
        for prefix in ("lab/outer/inner", "lab/outer", "lab"):
            refused = alpha.post(
                "/orgs/alpha/repos",
                json={
                    "name": "nested",
                    "bucket_nickname": "whole",
                    "prefix": prefix,
                    "create_mode": "import",
                },
            )
            assert refused.status_code == 409, (prefix, refused.text)
            assert "alpha/outer" in refused.json()["detail"]
        assert alpha.get("/repos/alpha/nested").status_code == 404


# --- 2. outbound requests go only where the operator allows ------------------------------------


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FloeServer]:
    """A server with the default policy: public addresses only."""
    found = start_floe_in_process(
        tmp_path_factory.mktemp("strict") / "data", env={"FLOE_ALLOWED_ENDPOINT_NETWORKS": ""}
    )
    yield found
    found.stop()


def _service_account_key(token_uri: str) -> dict:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "client_email": "floe@example.iam.gserviceaccount.com",
        "private_key": pem,
        "token_uri": token_uri,
    }


def test_internal_endpoints_are_refused_before_anything_is_sent(strict_server, listener):
    loopback = f"http://127.0.0.1:{listener.port}"
    bodies = {
        "loopback": {"endpoint_url": loopback},
        "name resolving to loopback": {"endpoint_url": f"http://localhost:{listener.port}"},
        "ipv6 loopback": {"endpoint_url": f"http://[::1]:{listener.port}"},
        "cloud metadata": {"endpoint_url": "http://169.254.169.254"},
        "private range": {"endpoint_url": "http://10.20.30.40:9000"},
    }
    with api(strict_server, strict_server.token) as http:
        for what, extra in bodies.items():
            body = {
                "nickname": "probe",
                "platform": "s3-compatible",
                "name": "bucket",
                "extra_config": {**extra, "region_name": "us-east-1", "use_ssl": False},
                "auth_config": {"method": "hmac", "access_key_id": "k", "secret_access_key": "s"},
            }
            refused = http.post("/orgs/default/buckets", json=body)
            assert refused.status_code == 422, (what, refused.text)
            assert "--allow-endpoint-network" in refused.json()["detail"], what
        sts = http.post(
            "/orgs/default/buckets",
            json={
                "nickname": "sts",
                "platform": "s3",
                "name": "bucket",
                "extra_config": {"region_name": "us-east-1"},
                "auth_config": {
                    "method": "aws_sts",
                    "role_arn": "arn:aws:iam::123456789012:role/floe",
                    "access_key_id": "k",
                    "secret_access_key": "s",
                    "sts_endpoint_url": loopback,
                },
            },
        )
        assert sts.status_code == 422 and "sts_endpoint_url" in sts.json()["detail"]
        gcs = http.post(
            "/orgs/default/buckets",
            json={
                "nickname": "gcs",
                "platform": "gs",
                "name": "bucket",
                "auth_config": {
                    "method": "gcs_service_account",
                    "service_account_key": _service_account_key(f"{loopback}/token"),
                },
            },
        )
        assert gcs.status_code == 422 and "token_uri" in gcs.json()["detail"]
        for url, why in (
            ("http://user:pw@example.org", "user info"),
            ("http://example.org/\r\nX-Injected: 1", "control characters"),
        ):
            body = {
                "nickname": "odd",
                "platform": "s3-compatible",
                "name": "bucket",
                "extra_config": {"endpoint_url": url, "region_name": "us-east-1"},
            }
            refused = http.post("/orgs/default/buckets", json=body)
            assert refused.status_code == 422 and why in refused.json()["detail"], refused.text
        assert [b["nickname"] for b in http.get("/orgs/default/buckets").json()] == ["local"]
    assert listener.connections == 0


def test_allowed_networks_are_reached(server, listener):
    # the module server allows 127.0.0.0/8: the probe connects (and reports the dead store)
    with api(server, server.token) as http:
        body = {
            "nickname": "dead",
            "platform": "s3-compatible",
            "name": "bucket",
            "extra_config": {"endpoint_url": f"http://127.0.0.1:{listener.port}", "region_name": "us-east-1"},
            "auth_config": {"method": "hmac", "access_key_id": "k", "secret_access_key": "s"},
        }
        assert http.post("/orgs/default/buckets", json=body).status_code == 424
    assert listener.connections >= 1


def test_every_connection_is_checked_after_name_resolution(listener):
    """The connection-time guard (what catches DNS rebinding and redirects): the HTTP stacks the server
    uses (httpx for GCS, urllib3 under boto3 and azure-core) connect only to checked addresses."""
    strict = egress.EgressPolicy()
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://localhost:{listener.port}",
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    with egress.guarded(strict):
        with pytest.raises(httpx.ConnectError, match="refused to connect to localhost"):
            httpx.get(f"http://localhost:{listener.port}/")
        with pytest.raises(EndpointConnectionError):
            s3.list_buckets()
    assert listener.connections == 0
    loopback = egress.EgressPolicy.parse(["127.0.0.0/8", "::1/128"])
    with egress.guarded(loopback), pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{listener.port}/")
    assert listener.connections == 1


def test_from_env_configs_do_not_use_the_servers_credentials_without_consent(
    server, moto, s3_bucket, tmp_path
):
    body = s3_body(moto, s3_bucket, "env", nickname="envy", method="from_env")
    # the module server allows loopback but not its own credentials
    with api(server, server.token) as http:
        made = http.post("/orgs/default/buckets", json=body)
        assert made.status_code == 201, made.text
        caps = made.json()["capabilities"]
        assert caps["reachable"] is False and "--allow-server-credentials" in caps["skipped"]
        refused = http.post(
            "/orgs/default/repos", json={"name": "e1", "bucket_nickname": "envy", "create_mode": "create"}
        )
        assert refused.status_code == 422 and "--allow-server-credentials" in refused.json()["detail"]
        assert (
            http.post("/orgs/default/repos", json={"name": "e1", "bucket_nickname": "envy"}).status_code
            == 201
        )
        # deleting only trashes it; purging would delete objects with the server's own credentials
        trashed = http.delete("/orgs/default/e1")
        assert trashed.status_code == 204
        entry = trashed.headers["x-floe-trash-id"]
        kept = http.delete(f"/orgs/default/trash/{entry}")
        assert kept.status_code == 422 and "--keep-data" in kept.json()["detail"]
        assert [e["id"] for e in http.get("/orgs/default/trash").json()] == [entry]
        assert http.delete(f"/orgs/default/trash/{entry}", params={"keep_data": True}).status_code == 200
    consenting = start_floe(
        tmp_path / "consenting",
        extra_args=["--allow-server-credentials"],
        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "env-secret"},
    )
    try:
        with api(consenting, consenting.token) as http:
            made = http.post("/orgs/default/buckets", json=body)
            assert made.status_code == 201, made.text
            caps = made.json()["capabilities"]
            assert caps["can_write"] is True and caps["skipped"] is None
    finally:
        consenting.stop()


# --- 3. readers never get keys that can write ---------------------------------------------------


@pytest.fixture(scope="module")
def iam_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MotoServer, str, dict]]:
    """A moto server that enforces IAM, with a bucket and three users: a writer, a reader (get and
    list only) and a "reader" whose policy lets it write."""
    server = start_moto(tmp_path_factory.mktemp("iam-moto"), unauthenticated_requests=40)
    kw = {"endpoint_url": server.endpoint, "region_name": "us-east-1"}
    anon = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup", **kw}
    bucket = unique_name("iam-")
    boto3.client("s3", **anon).create_bucket(Bucket=bucket)
    iam = boto3.client("iam", **anon)
    keys = {}
    for user, actions in (
        ("writer", ["s3:*"]),
        ("reader", S3_READ_ACTIONS),
        ("leaky", ["s3:*"]),
    ):
        iam.create_user(UserName=user)
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
        iam.put_user_policy(UserName=user, PolicyName="floe", PolicyDocument=json.dumps(policy))
        made = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = (made["AccessKeyId"], made["SecretAccessKey"])
    for _ in range(60):  # spend what is left of the unauthenticated allowance: IAM holds from here on
        try:
            boto3.client("s3", **anon).list_buckets()
        except ClientError:
            break
    else:
        raise AssertionError("moto never started enforcing IAM")
    yield server, bucket, keys
    server.stop()


def _hmac(keys: dict, read: str | None = None, **more) -> dict:
    auth = {"method": "hmac", "access_key_id": keys["writer"][0], "secret_access_key": keys["writer"][1]}
    if read:
        auth |= {"read_access_key_id": keys[read][0], "read_secret_access_key": keys[read][1]}
    return auth | more


def _can_put(creds: dict, endpoint: str, bucket: str, key: str) -> bool:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=creds["aws_access_key_id"],
        aws_secret_access_key=creds["aws_secret_access_key"],
    )
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDenied"
        return False
    return True


def test_readers_receive_the_read_only_key_pair(server, tokens, iam_moto):
    moto, bucket, keys = iam_moto
    with api(server, tokens["alpha"]) as alpha:
        body = s3_body(moto, bucket, "lab", nickname="iam", **_hmac(keys, "reader"))
        made = alpha.post("/orgs/alpha/buckets", json=body)
        assert made.status_code == 201, made.text
        caps = made.json()["capabilities"]
        assert caps["read_keys_can_read"] is True and caps["read_keys_can_write"] is False
        assert made.json()["auth_config"]["read_secret_access_key"] == "********"
        leaky = alpha.post(
            "/orgs/alpha/buckets", json=s3_body(moto, bucket, "lab", nickname="leaky", **_hmac(keys, "leaky"))
        )
        assert leaky.status_code == 201 and leaky.json()["capabilities"]["read_keys_can_write"] is True
        bogus = _hmac(keys) | {"read_access_key_id": "AKIANOTAKEY", "read_secret_access_key": "nope"}
        refused = alpha.post(
            "/orgs/alpha/buckets", json=s3_body(moto, bucket, "lab", nickname="bogus", **bogus)
        )
        assert refused.status_code == 422 and "read-only key pair cannot read" in refused.json()["detail"]
        viewer = alpha.post("/orgs/alpha/api-clients", json={"name": "viewer", "role": "viewer"}).json()[
            "token"
        ]

    writer = floe.Client(service_uri=server.url, token=tokens["alpha"])
    repo = writer.create_repo("alpha/keys", bucket_config_nickname="iam")
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="t", shape=(3,), dtype="f4")[:] = 1.5
    session.commit("written with the write keys")

    with api(server, tokens["alpha"]) as alpha:
        mine = alpha.get("/repos/alpha/keys/open").json()["repo_credentials"]
        assert mine["aws_access_key_id"] == keys["writer"][0]
        ro = alpha.get("/repos/alpha/keys/open", params={"read_only": True}).json()["repo_credentials"]
        assert ro["aws_access_key_id"] == keys["reader"][0]
    with api(server, viewer) as http:
        theirs = http.get("/repos/alpha/keys/open").json()["repo_credentials"]
        assert theirs["aws_access_key_id"] == keys["reader"][0]
        assert not _can_put(theirs, moto.endpoint, bucket, "lab/viewer-was-here")
        refreshed = http.get("/repos/alpha/keys/bucket-credentials").json()
        assert refreshed["aws_access_key_id"] == keys["reader"][0]
        as_arraylake = http.get(
            "/repos/alpha/keys", headers={"client-name": "arraylake-python-client"}
        ).json()
        assert as_arraylake["bucket"]["auth_config"]["access_key_id"] == keys["reader"][0]
        assert as_arraylake["bucket"]["auth_config"]["secret_access_key"] == keys["reader"][1]
        assert keys["writer"][1] not in json.dumps(as_arraylake)
        assert keys["writer"][0] not in http.get("/orgs/alpha/buckets/iam").text
    reader = floe.Client(service_uri=server.url, token=viewer)
    array = zarr.open_array(reader.get_repo("alpha/keys").readonly_session("main").store, path="t")
    assert array[:].tolist() == [1.5, 1.5, 1.5]


def test_without_a_read_pair_readers_get_no_keys_unless_an_admin_allows_it(
    server, tokens, iam_moto, tmp_path
):
    moto, bucket, keys = iam_moto
    with api(server, tokens["beta"]) as beta:
        made = beta.post(
            "/orgs/beta/buckets", json=s3_body(moto, bucket, "beta-only", nickname="wonly", **_hmac(keys))
        )
        assert made.status_code == 201, made.text
        assert (
            beta.post(
                "/orgs/beta/repos",
                json={"name": "beta-repo", "bucket_nickname": "wonly", "create_mode": "create"},
            ).status_code
            == 201
        )
        viewer = beta.post("/orgs/beta/api-clients", json={"name": "viewer", "role": "viewer"}).json()[
            "token"
        ]
    with api(server, viewer) as http:
        refused = http.get("/repos/beta/beta-repo/open")
        assert refused.status_code == 403
        assert (
            "read-only key pair" in refused.json()["detail"]
            and "--readers-get-write-keys" in refused.json()["detail"]
        )
        assert (
            keys["writer"][1]
            not in http.get("/repos/beta/beta-repo", headers={"client-name": "arraylake-python-client"}).text
        )
    with api(server, tokens["beta"]) as beta:
        allowed = beta.patch(
            "/orgs/beta/buckets/wonly", json={"auth_config": _hmac(keys, readers_get_write_keys=True)}
        )
        assert allowed.status_code == 200, allowed.text
    with api(server, viewer) as http:
        assert (
            http.get("/repos/beta/beta-repo/open").json()["repo_credentials"]["aws_access_key_id"]
            == keys["writer"][0]
        )

    shown = Floe(server, tmp_path / "cli", token=tokens["beta"])("bucket", "get", "wonly", "--org", "beta")
    assert shown.code == 0 and "readers of this bucket config receive keys that can write" in shown.out


def test_sts_against_an_s3_compatible_stores_own_sts_endpoint(server, moto, s3_bucket):
    # MinIO and Ceph RGW answer STS at their own endpoint; moto does too (reached here by another name)
    sts_endpoint = moto.endpoint.replace("127.0.0.1", "localhost")
    body = s3_body(
        moto,
        s3_bucket,
        "sts",
        nickname="rgw",
        method="aws_sts",
        role_arn="arn:aws:iam::123456789012:role/floe-data",
        access_key_id="testing",
        secret_access_key="long-lived-secret",
        sts_endpoint_url=sts_endpoint,
    )
    with api(server, server.token) as http:
        made = http.post("/orgs/default/buckets", json=body)
        assert made.status_code == 201, made.text
        assert made.json()["auth_config"]["sts_endpoint_url"] == sts_endpoint
        assert (
            http.post("/orgs/default/repos", json={"name": "sts-repo", "bucket_nickname": "rgw"}).status_code
            == 201
        )
        creds = http.get("/repos/default/sts-repo/open").json()["repo_credentials"]
    assert creds["aws_session_token"] and creds["aws_access_key_id"] != "testing"
    assert creds["expiration"]
