"""Bucket configs are checked when registered: the probe against real stores, and what follows from it.

Real services only: the moto S3 server (which honours If-Match / If-None-Match), a proxy in front
of it that drops those headers (a store like JASMIN's, ``jasmin_like``), a second moto server with
IAM authentication switched on (for rejected and read-only keys), and Floe servers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
import icechunk
import pytest
import zarr
from botocore.stub import Stubber

import floe
from floe.storage import BucketSpec, StoragePolicy, normalize, object_store
from floe.storage.probe import icechunk_config_for, probe
from services import S3_READ_ACTIONS, MotoServer, start_moto, unique_name

UNREACHABLE = "http://127.0.0.1:9"


def _s3_config(endpoint: str, bucket: str, **auth: str) -> dict:
    return {
        "uri": f"s3://{bucket}",
        "extra_config": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        "auth_config": {
            "method": "hmac",
            "access_key_id": auth.get("key", "testing"),
            "secret_access_key": auth.get("secret", "probe-secret"),
        },
    }


def _objects(moto: MotoServer, bucket: str) -> list[str]:
    return [o["Key"] for o in moto.s3_client().list_objects_v2(Bucket=bucket).get("Contents", [])]


def _write(repo: icechunk.Repository, values: list[int]) -> None:
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="x", shape=(len(values),), chunks=(2,), dtype="i4")[:] = values
    session.commit("probe test write")


def _stored_settings(client: floe.Client, name: str) -> icechunk.StorageSettings | None:
    """The storage settings Icechunk saved with the repo (opened with plain Icechunk, no Floe merging)."""
    return icechunk.Repository.open(client.get_icechunk_storage(name)).config.storage


@pytest.fixture
def client(floe_server_sqlite) -> Iterator[floe.Client]:
    with floe.Client(service_uri=floe_server_sqlite.url, token=floe_server_sqlite.token) as c:
        yield c


def _nicknames(client: floe.Client) -> list[str]:
    return [b.nickname for b in client.list_bucket_configs("default")]


# --------------------------------------------------------------------------------------------- (a) a store with conditional writes


def test_probe_on_moto_finds_conditional_writes_and_leaves_nothing(client, moto, s3_bucket):
    spec = normalize(
        BucketSpec(
            "s3-compatible",
            s3_bucket,
            "lab",
            {"endpoint_url": moto.endpoint},
            {"method": "hmac", "access_key_id": "testing", "secret_access_key": "x"},
        ),
        StoragePolicy(),
    )
    found = probe(object_store(spec), spec.prefix, writable=True)
    assert found.ok and found.reachable
    assert (found.can_list, found.can_read, found.can_write) == (True, True, True)
    assert (found.conditional_create, found.conditional_update) == (True, True)
    assert _objects(moto, s3_bucket) == []

    bucket = client.create_bucket_config(
        org="default", nickname="moto", **_s3_config(moto.endpoint, s3_bucket)
    )
    caps = bucket.capabilities
    assert caps.conditional_create is True and caps.conditional_update is True
    assert caps.can_write is True and caps.error is None and caps.checked_at
    assert client.get_bucket_config(org="default", nickname="moto").capabilities == caps
    assert _objects(moto, s3_bucket) == []  # the probe object was deleted

    repo = client.create_repo("default/safe", bucket_config_nickname="moto")
    assert repo.config.storage is None or repo.config.storage.unsafe_use_conditional_update is None
    _write(repo, [1, 2])
    assert _stored_settings(client, "default/safe") is None


def test_local_folder_has_no_conditional_update(client, floe_server_sqlite):
    # the built-in `local` config is probed at first start; a folder cannot compare-and-swap
    caps = client.get_bucket_config(org="default", nickname="local").capabilities
    assert caps.can_write is True and caps.error is None
    assert caps.conditional_create is True and caps.conditional_update is False
    storage = Path(floe_server_sqlite.data_dir) / "storage" / "default"
    assert not (storage / ".floe-probe").exists()  # the probe tidied up after itself


# --------------------------------------------------------------------------------------------- (b) a store that ignores them


def test_store_ignoring_conditional_writes_gets_icechunk_settings(
    client, floe_server_sqlite, moto, s3_bucket, jasmin_like
):
    bucket = client.create_bucket_config(
        org="default", nickname="jasmin", **_s3_config(jasmin_like, s3_bucket)
    )
    caps = bucket.capabilities
    assert caps.conditional_create is False and caps.conditional_update is False
    assert caps.can_write is True and caps.error is None
    assert any("ignored If-None-Match" in n for n in caps.notes), caps.notes
    assert any("ignored If-Match" in n for n in caps.notes), caps.notes
    assert client.get_bucket_config(org="default", nickname="jasmin").capabilities == caps  # recorded
    assert _objects(moto, s3_bucket) == []

    # a repo created without any config gets the settings, and Icechunk saves them with the repo
    repo = client.create_repo("default/on-jasmin", bucket_config_nickname="jasmin")
    assert repo.config.storage.unsafe_use_conditional_update is False
    assert repo.config.storage.unsafe_use_conditional_create is False
    _write(repo, [3, 4])
    stored = _stored_settings(client, "default/on-jasmin")
    assert stored.unsafe_use_conditional_update is False and stored.unsafe_use_conditional_create is False
    prefix = client.get_repo_object("default/on-jasmin").prefix
    assert f"{prefix}/config.yaml" in _objects(moto, s3_bucket)

    with floe.Client(service_uri=floe_server_sqlite.url, token=floe_server_sqlite.token) as fresh:
        opened = fresh.get_repo("default/on-jasmin")
        assert opened.config.storage.unsafe_use_conditional_update is False
        assert opened.config.storage.unsafe_use_conditional_create is False
        assert zarr.open_array(opened.readonly_session("main").store, path="x")[:].tolist() == [3, 4]

    # what the user sets explicitly wins; the rest of their config is kept
    mine = icechunk.RepositoryConfig(
        inline_chunk_threshold_bytes=64,
        storage=icechunk.StorageSettings(unsafe_use_conditional_create=True),
    )
    explicit = client.create_repo("default/explicit", bucket_config_nickname="jasmin", config=mine)
    assert explicit.config.inline_chunk_threshold_bytes == 64
    assert explicit.config.storage.unsafe_use_conditional_create is True
    assert explicit.config.storage.unsafe_use_conditional_update is False
    assert mine.storage.unsafe_use_conditional_update is None  # the caller's object is not changed

    # the server's create mode creates with the same settings
    with httpx.Client(
        base_url=floe_server_sqlite.url, headers={"authorization": f"Bearer {floe_server_sqlite.token}"}
    ) as http:
        made = http.post(
            "/orgs/default/repos",
            json={"name": "server-made", "bucket_nickname": "jasmin", "create_mode": "create"},
        )
        assert made.status_code == 201, made.text
    stored = _stored_settings(client, "default/server-made")
    assert stored.unsafe_use_conditional_update is False and stored.unsafe_use_conditional_create is False

    # a repo made elsewhere without the settings gets them whenever Floe opens it
    legacy = icechunk.s3_storage(
        bucket=s3_bucket,
        prefix="legacy",
        endpoint_url=jasmin_like,
        region="us-east-1",
        allow_http=True,
        force_path_style=True,
        access_key_id="testing",
        secret_access_key="x",
    )
    icechunk.Repository.create(legacy)
    client.import_repo("default/legacy", bucket_config_nickname="jasmin", prefix="legacy")
    assert _stored_settings(client, "default/legacy") is None
    opened = client.get_repo("default/legacy")
    assert opened.config.storage.unsafe_use_conditional_update is False
    assert opened.config.storage.unsafe_use_conditional_create is False


def test_icechunk_config_for_touches_only_what_the_store_lacks():
    assert icechunk_config_for(None, None) is None
    assert icechunk_config_for({"conditional_create": True, "conditional_update": None}, None) is None
    only_update = icechunk_config_for({"conditional_create": True, "conditional_update": False}, None)
    assert only_update.storage.unsafe_use_conditional_update is False
    assert only_update.storage.unsafe_use_conditional_create is None


# --------------------------------------------------------------------------------------------- (c) refusals


def test_refusals_say_what_is_wrong_and_create_nothing(client, floe_server_sqlite, moto, s3_bucket):
    before = _nicknames(client)
    missing = unique_name("never-created-")
    with pytest.raises(floe.ValidationError) as refused:
        client.create_bucket_config(org="default", nickname="nope", **_s3_config(moto.endpoint, missing))
    message = str(refused.value)
    assert f"bucket '{missing}' at {moto.endpoint} does not exist" in message
    assert "check the bucket name" in message

    with pytest.raises(floe.StorageError) as refused:
        client.create_bucket_config(org="default", nickname="nope", **_s3_config(UNREACHABLE, s3_bucket))
    assert f"cannot reach bucket '{s3_bucket}' at {UNREACHABLE}: check endpoint_url" in str(refused.value)
    assert _nicknames(client) == before

    with httpx.Client(
        base_url=floe_server_sqlite.url, headers={"authorization": f"Bearer {floe_server_sqlite.token}"}
    ) as http:
        body = {
            "nickname": "nope",
            "platform": "s3-compatible",
            "name": missing,
            "extra_config": {"endpoint_url": moto.endpoint},
            "auth_config": {"method": "hmac", "access_key_id": "testing", "secret_access_key": "x"},
        }
        assert http.post("/orgs/default/buckets", json=body).status_code == 422
        body.update(name=s3_bucket, extra_config={"endpoint_url": UNREACHABLE})
        response = http.post("/orgs/default/buckets", json=body)
        assert response.status_code == 424 and "check endpoint_url" in response.json()["detail"]
    assert _nicknames(client) == before

    # changing the endpoint or keys is checked the same way, and a refused change changes nothing
    good = client.create_bucket_config(org="default", nickname="good", **_s3_config(moto.endpoint, s3_bucket))
    with pytest.raises(floe.StorageError, match="cannot reach"):
        client.modify_bucket_config(
            org="default", nickname="good", extra_config={"endpoint_url": UNREACHABLE}
        )
    assert client.get_bucket_config(org="default", nickname="good") == good
    # a new nickname alone is not a new location: no probe (it would fail: the bucket is gone)
    moto.s3_client().delete_bucket(Bucket=s3_bucket)
    renamed = client.modify_bucket_config(org="default", nickname="good", new_nickname="renamed")
    assert renamed.capabilities == good.capabilities
    with pytest.raises(floe.ValidationError, match="does not exist"):
        client.modify_bucket_config(
            org="default",
            nickname="renamed",
            auth_config={"method": "hmac", "access_key_id": "testing", "secret_access_key": "new"},
        )
    assert (
        client.get_bucket_config(org="default", nickname="renamed").auth_config["access_key_id"] == "testing"
    )


@dataclass
class AuthMoto:
    """A moto server that checks signatures and IAM policies, with one bucket and two users' keys."""

    server: MotoServer
    bucket: str
    writer: tuple[str, str]
    reader: tuple[str, str]


@pytest.fixture(scope="module")
def auth_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthMoto]:
    server = start_moto(tmp_path_factory.mktemp("auth-moto"))
    try:
        bucket = server.create_bucket("locked-bucket")
        iam = boto3.client(
            "iam",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )

        def user(name: str, actions: list[str]) -> tuple[str, str]:
            iam.create_user(UserName=name)
            policy = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            }
            iam.put_user_policy(UserName=name, PolicyName="floe", PolicyDocument=json.dumps(policy))
            key = iam.create_access_key(UserName=name)["AccessKey"]
            return key["AccessKeyId"], key["SecretAccessKey"]

        writer = user("writer", ["s3:*"])
        reader = user("reader", S3_READ_ACTIONS)
        # from here on every request must be signed with known keys and be allowed by the user's policy
        httpx.post(f"{server.endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()
        yield AuthMoto(server, bucket, writer, reader)
    finally:
        server.stop()


def test_rejected_and_read_only_keys_are_refused(client, auth_moto):
    before = _nicknames(client)
    endpoint, bucket = auth_moto.server.endpoint, auth_moto.bucket
    for key, secret in [("AKIAUNKNOWNKEY000000", "whatever"), (auth_moto.writer[0], "not-the-secret")]:
        with pytest.raises(floe.ValidationError) as refused:
            client.create_bucket_config(
                org="default", nickname="locked", **_s3_config(endpoint, bucket, key=key, secret=secret)
            )
        assert str(refused.value) == (
            f"bucket config refused: the store rejected the credentials for bucket '{bucket}' at {endpoint}: "
            "check the keys (or service-account key, account key, SAS) in auth_config"
        )
    key, secret = auth_moto.reader
    with pytest.raises(floe.ValidationError) as refused:
        client.create_bucket_config(
            org="default", nickname="locked", **_s3_config(endpoint, bucket, key=key, secret=secret)
        )
    assert f"the keys may read but not write bucket '{bucket}' at {endpoint}" in str(refused.value)
    assert _nicknames(client) == before

    key, secret = auth_moto.writer
    made = client.create_bucket_config(
        org="default", nickname="locked", **_s3_config(endpoint, bucket, key=key, secret=secret)
    )
    assert made.capabilities.conditional_create is True and made.capabilities.conditional_update is True
    key, secret = auth_moto.reader
    # swapping in read-only keys is refused too, and the working keys stay
    with pytest.raises(floe.ValidationError, match="may read but not write"):
        client.modify_bucket_config(
            org="default",
            nickname="locked",
            auth_config={"method": "hmac", "access_key_id": key, "secret_access_key": secret},
        )
    shown = client.get_bucket_config(org="default", nickname="locked")
    assert shown.auth_config["access_key_id"] == auth_moto.writer[0]


def test_clock_skew_message():
    # moto never checks request times, so the store's answer comes from botocore's own Stubber here:
    # the real S3ObjectStore translates it and the real probe words it.
    spec = normalize(
        BucketSpec(
            "s3-compatible",
            "skewed",
            "",
            {"endpoint_url": "https://store.example.org"},
            {"method": "hmac", "access_key_id": "k", "secret_access_key": "s"},
        ),
        StoragePolicy(),
    )
    store = object_store(spec)
    with Stubber(store._client) as stub:
        stub.add_client_error("list_objects_v2", "RequestTimeTooSkewed", http_status_code=403)
        found = probe(store, "", writable=True)
    assert found.error_kind == "clock_skew" and found.reachable
    assert "clock is wrong" in found.error and "fix the server's time" in found.error


# --------------------------------------------------------------------------------------------- (d) the CLI, (e) re-checking


def _floe_cli(server, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOE_")}
    env.update(
        FLOE_SERVICE_URI=server.url, FLOE_TOKEN=server.token, FLOE_CONFIG_DIR=server.env["FLOE_CONFIG_DIR"]
    )
    env.update(NO_PROXY="127.0.0.1,localhost", COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "floe", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_bucket_check_cli(client, floe_server_sqlite, moto, s3_bucket, jasmin_like):
    client.create_bucket_config(org="default", nickname="jasmin", **_s3_config(jasmin_like, s3_bucket))
    done = _floe_cli(floe_server_sqlite, "bucket", "check", "jasmin")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for expected in (
        "Reachable: yes",
        "Can list: yes",
        "Can read: yes",
        "Can write: yes",
        "Conditional create: no",
        "Conditional update: no",
    ):
        assert expected in lines, done.stdout
    assert "unsafe_use_conditional_create/update" in done.stdout

    as_json = _floe_cli(floe_server_sqlite, "bucket", "check", "jasmin", "--json")
    assert (
        as_json.returncode == 0 and json.loads(as_json.stdout)["capabilities"]["conditional_update"] is False
    )

    moto.s3_client().delete_bucket(Bucket=s3_bucket)
    failed = _floe_cli(floe_server_sqlite, "bucket", "check", "jasmin")
    assert failed.returncode == 1
    assert failed.stderr.strip() == (
        f"error: bucket '{s3_bucket}' at {jasmin_like} does not exist: check the bucket name (and the "
        "endpoint or region it lives behind); Floe never creates buckets"
    )
    assert "Reachable: yes" in failed.stdout.splitlines()
    failed_json = _floe_cli(floe_server_sqlite, "bucket", "check", "jasmin", "--json")
    assert failed_json.returncode == 1
    assert json.loads(failed_json.stdout)["capabilities"]["error_kind"] == "bucket_missing"

    client.create_bucket_config(org="default", nickname="scratch", uri="memory://scratch")
    memory = _floe_cli(floe_server_sqlite, "bucket", "check", "scratch")
    assert memory.returncode == 0 and "is not checked" in memory.stdout


def test_check_route_probes_again_and_records_failures(client, floe_server_sqlite, moto, s3_bucket):
    first = client.create_bucket_config(
        org="default", nickname="moto", **_s3_config(moto.endpoint, s3_bucket)
    )
    assert first.capabilities.error is None
    moto.s3_client().delete_bucket(Bucket=s3_bucket)

    checked = client.check_bucket_config(org="default", nickname="moto")  # recorded, not raised
    caps = checked.capabilities
    assert caps.error_kind == "bucket_missing" and "does not exist" in caps.error
    assert caps.reachable is True and caps.can_list is False and caps.can_write is None
    assert client.get_bucket_config(org="default", nickname="moto").capabilities == caps

    moto.create_bucket(s3_bucket)
    again = client.check_bucket_config(org="default", nickname="moto").capabilities
    assert again.error is None and again.conditional_update is True

    viewer = client.create_api_client("default", name="probe-viewer", role="viewer").token
    with (
        floe.Client(service_uri=floe_server_sqlite.url, token=viewer) as as_viewer,
        pytest.raises(floe.PermissionDeniedError),
    ):
        as_viewer.check_bucket_config(org="default", nickname="moto")
    memory = client.create_bucket_config(org="default", nickname="scratch", uri="memory://scratch")
    assert memory.capabilities is None
    assert client.check_bucket_config(org="default", nickname="scratch").capabilities is None
