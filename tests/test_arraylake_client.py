"""The official arraylake client (0.33) as an outside caller of a Floe server."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import zarr

import floe

arraylake = pytest.importorskip("arraylake")
from arraylake.exceptions import ArraylakeClientError  # noqa: E402

SECRET = "arraylake-flow-secret-3f9a"


# The arraylake client is an outside caller of a server it does not share a process with: here the
# server is a `floe serve` process, not the in-process app of the conftest fixtures of these names.
@pytest.fixture
def floe_server(database_url, floe_factory):
    """A ``floe serve`` process on ``tmp_path/"data"``, once per database backend."""
    return floe_factory(database_url=database_url)


@pytest.fixture
def floe_server_sqlite(floe_factory):
    """A ``floe serve`` process on ``tmp_path/"data"`` with its embedded SQLite database."""
    return floe_factory()


@pytest.fixture(autouse=True)
def _isolated_arraylake_config(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARRAYLAKE_USER__DIAGNOSTICS", "false")


def test_arraylake_client_full_flow(floe_server, moto, s3_bucket):
    client = arraylake.Client(service_uri=floe_server.url, token=floe_server.token)

    created = client.create_bucket_config(
        org="default",
        nickname="moto-s3",
        uri=f"s3://{s3_bucket}/floe",
        extra_config={"endpoint_url": moto.endpoint, "region_name": "us-east-1", "use_ssl": False},
        auth_config={"method": "hmac", "access_key_id": "testing", "secret_access_key": SECRET},
    )
    assert created.platform == "s3-compatible"
    assert SECRET not in created.model_dump_json()

    client.set_default_bucket_config(org="default", nickname="moto-s3")
    configs = {b.nickname: b for b in client.list_bucket_configs("default")}
    # the embedded `local` bucket config is on the `file` platform, which this client cannot parse
    assert set(configs) == {"moto-s3"}
    assert configs["moto-s3"].is_default
    assert SECRET not in configs["moto-s3"].model_dump_json()

    repo = client.create_repo("default/al-flow")
    session = repo.writable_session("main")
    array = zarr.create_array(session.store, name="temperature", shape=(6, 4), chunks=(3, 2), dtype="f4")
    array[:] = np.arange(24, dtype="f4").reshape(6, 4)
    snapshot = session.commit("first data")
    assert snapshot

    # the data really is in the S3 bucket, under the bucket config's prefix
    keys = [o["Key"] for o in moto.s3_client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert any(k.startswith("floe/") and "/snapshots/" in k for k in keys)

    reopened = client.get_repo("default/al-flow")
    data = zarr.open_array(reopened.readonly_session("main").store, path="temperature")[:]
    np.testing.assert_array_equal(data, np.arange(24, dtype="f4").reshape(6, 4))
    assert next(iter(reopened.ancestry(branch="main"))).message == "first data"

    names = [r.name for r in client.list_repos("default")]
    assert "al-flow" in names
    assert [r.name for r in client.list_repos_for_bucket_config(org="default", nickname="moto-s3")] == [
        "al-flow"
    ]

    with pytest.raises(ArraylakeClientError) as refused:
        client.delete_bucket_config(org="default", nickname="moto-s3", imsure=True, imreallysure=True)
    assert "409" in str(refused.value) and "default/al-flow" in str(refused.value)

    client.delete_repo("default/al-flow", imsure=True, imreallysure=True)
    assert "al-flow" not in [r.name for r in client.list_repos("default")]
    # Floe keeps a deleted repo's objects in the org's trash until it is purged
    with floe.Client(service_uri=floe_server.url, token=floe_server.token) as floe_client:
        assert [e.name for e in floe_client.list_trash("default")] == ["al-flow"]
        assert moto.s3_client().list_objects_v2(Bucket=s3_bucket).get("Contents")
        floe_client.purge_repo("default/al-flow", imsure=True, imreallysure=True)
    remaining = moto.s3_client().list_objects_v2(Bucket=s3_bucket).get("Contents", [])
    assert remaining == []
    client.delete_bucket_config(org="default", nickname="moto-s3", imsure=True, imreallysure=True)
    assert client.list_bucket_configs("default") == []


def test_arraylake_client_token_and_permission_routes(floe_server_sqlite):
    from arraylake.types import OrgActions

    async def scenario() -> None:
        client = arraylake.AsyncClient(service_uri=floe_server_sqlite.url, token=floe_server_sqlite.token)
        found = await client.get_api_client_from_token("default", floe_server_sqlite.token)
        assert await client.get_permission_check(
            "default", str(found.id), "default", OrgActions.CAN_WRITE_REPOS
        )
        with pytest.raises(ArraylakeClientError, match="404"):
            await client.get_api_client_from_token("default", "ema_not-a-real-token")

    asyncio.run(scenario())


def test_arraylake_client_uses_delegated_sts_credentials(floe_server_sqlite, moto, s3_bucket):
    """An `aws_sts` bucket config looks like a customer-managed role to the arraylake client,
    which then fetches (and refreshes) short-lived credentials from Floe's credential route."""
    floe_admin = floe.Client(service_uri=floe_server_sqlite.url, token=floe_server_sqlite.token)
    floe_admin.create_bucket_config(
        org="default",
        nickname="aws-sts",
        uri=f"s3://{s3_bucket}",
        platform="s3",
        extra_config={"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
        auth_config={
            "method": "aws_sts",
            "role_arn": "arn:aws:iam::123456789012:role/floe-writer",
            "access_key_id": "testing",
            "secret_access_key": SECRET,
        },
    )
    client = arraylake.Client(service_uri=floe_server_sqlite.url, token=floe_server_sqlite.token)
    shown = client.get_bucket_config(org="default", nickname="aws-sts")
    assert shown.auth_config.method == "aws_customer_managed_role"
    assert shown.auth_config.external_role_name == "floe-writer"
    repo = client.create_repo("default/delegated", bucket_config_nickname="aws-sts")
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="a", shape=(2,), chunks=(2,), dtype="i4")[:] = [1, 2]
    session.commit("with sts credentials")
    again = client.get_repo("default/delegated")
    assert zarr.open_array(again.readonly_session("main").store, path="a")[:].tolist() == [1, 2]
    assert "GET /repos/default/delegated/bucket-credentials" in floe_server_sqlite.log_text()
    assert SECRET not in floe_server_sqlite.log_text()


def test_arraylake_client_with_a_persons_session(floe_server_sqlite, moto, s3_bucket, approve_device):
    """A person signed in with the device flow uses the arraylake client with their session token:
    it sees them as a user (``UserInfo``), and their role governs what it may do."""
    import httpx

    from services import admin_token

    server = floe_server_sqlite
    site = {"authorization": f"Bearer {admin_token(server, site_admin=True)}"}
    with httpx.Client(base_url=server.url, headers=site, timeout=60) as http:
        assert (
            http.post(
                "/users",
                json={
                    "email": "ada@lab.example.org",
                    "name": "Ada Lovelace",
                    "password": "analytical-engine",
                },
            ).status_code
            == 201
        )
        assert (
            http.put("/orgs/default/members/ada@lab.example.org", json={"role": "viewer"}).status_code == 200
        )
        start = http.post("/auth/device/code", data={"client_id": "arraylake test"}).json()
        approve_device(start["verification_uri_complete"], "ada@lab.example.org", "analytical-engine")
        grant = {
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": start["device_code"],
        }
        token = http.post("/auth/token", data=grant).json()["access_token"]

    admin = arraylake.Client(service_uri=server.url, token=server.token)
    # readers (this person is a viewer) receive the read-only pair of an hmac config
    floe.Client(service_uri=server.url, token=server.token).create_bucket_config(
        org="default",
        nickname="moto-s3",
        uri=f"s3://{s3_bucket}/floe",
        extra_config={"endpoint_url": moto.endpoint, "region_name": "us-east-1", "use_ssl": False},
        auth_config={
            "method": "hmac",
            "access_key_id": "testing",
            "secret_access_key": SECRET,
            "read_access_key_id": "testing-reader",
            "read_secret_access_key": "reader-secret",
        },
    )
    admin.set_default_bucket_config(org="default", nickname="moto-s3")
    admin.create_repo("default/shared")

    person = arraylake.Client(service_uri=server.url, token=token)
    assert [r.name for r in person.list_repos("default")] == ["shared"]
    repo = person.get_repo("default/shared")
    assert "main" in set(repo.list_branches())
    with pytest.raises(ArraylakeClientError):
        person.create_repo("default/not-for-viewers")
    me = _user_id(server, token)

    from arraylake.types import RepoActions

    async def check(action: RepoActions) -> bool:
        return await person.aclient.get_permission_check("default", me, "default/shared", action)

    assert asyncio.run(check(RepoActions.CAN_READ)) is True
    assert asyncio.run(check(RepoActions.CAN_WRITE)) is False


def _user_id(server, token: str) -> str:
    import httpx

    me = httpx.get(f"{server.url}/user", headers={"authorization": f"Bearer {token}"}).json()
    assert me["kind"] == "user" and me["first_name"] == "Ada"
    return me["id"]
