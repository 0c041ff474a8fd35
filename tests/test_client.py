"""floe.Client and floe.AsyncClient against a real server (and the moto S3 server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import icechunk
import pytest
import zarr

import floe


def _write(repo: icechunk.Repository, values: list[int], message: str = "write") -> str:
    session = repo.writable_session("main")
    array = zarr.create_array(
        session.store, name="x", shape=(len(values),), chunks=(2,), dtype="i4", overwrite=True
    )
    array[:] = values
    return session.commit(message)


def _read(repo: icechunk.Repository) -> list[int]:
    return zarr.open_array(repo.readonly_session("main").store, path="x")[:].tolist()


def _count_requests(client: floe.Client) -> list[str]:
    seen: list[str] = []
    client._http.event_hooks["request"].append(
        lambda request: seen.append(f"{request.method} {request.url.path}")
    )
    return seen


@pytest.fixture
def client(floe_server) -> floe.Client:
    with floe.Client(service_uri=floe_server.url, token=floe_server.token) as c:
        yield c


@pytest.fixture
def sqlite_client(floe_server_sqlite) -> floe.Client:
    with floe.Client(service_uri=floe_server_sqlite.url, token=floe_server_sqlite.token) as c:
        yield c


def _moto_bucket_config(client: floe.Client, moto, bucket: str, nickname: str = "moto") -> None:
    client.create_bucket_config(
        org="default",
        nickname=nickname,
        uri=f"s3://{bucket}",
        extra_config={"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
        auth_config={"method": "hmac", "access_key_id": "testing", "secret_access_key": "testing-secret"},
    )


def test_create_write_get_read_on_embedded_default(client):
    repo = client.create_repo("default/era5", description="reanalysis")
    assert isinstance(repo, floe.FloeRepository) and isinstance(repo, icechunk.Repository)
    _write(repo, [1, 2, 3, 4], "first")

    seen = _count_requests(client)
    again = client.get_repo("default/era5")
    assert seen == ["GET /repos/default/era5/open"]  # one round trip to the catalog
    assert _read(again) == [1, 2, 3, 4]
    snapshot = next(iter(again.ancestry(branch="main")))
    assert snapshot.message == "first"
    assert snapshot.metadata["author_email"] == client.whoami().email

    entry = client.get_repo_object("default/era5")
    assert entry.description == "reanalysis" and entry.bucket.nickname == "local"
    assert [r.name for r in client.list_repos("default")] == ["era5"]


def test_config_given_at_creation_is_kept_and_used_on_open(client, moto, s3_bucket):
    _moto_bucket_config(client, moto, s3_bucket)
    config = icechunk.RepositoryConfig(
        storage=icechunk.StorageSettings(
            unsafe_use_conditional_update=False, unsafe_use_conditional_create=False
        )
    )
    repo = client.create_repo("default/jasmin-like", bucket_config_nickname="moto", config=config)
    _write(repo, [5, 6])
    opened = client.get_repo("default/jasmin-like")
    assert opened.config.storage.unsafe_use_conditional_update is False
    assert opened.config.storage.unsafe_use_conditional_create is False
    assert _read(opened) == [5, 6]
    # the catalog prefix is where the objects are
    prefix = client.get_repo_object("default/jasmin-like").prefix
    keys = [o["Key"] for o in moto.s3_client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys and all(k.startswith(prefix + "/") for k in keys)
    storage = client.get_icechunk_storage("default/jasmin-like")
    assert icechunk.Repository.exists(storage)


def test_status_controls_writes(sqlite_client):
    client = sqlite_client
    repo = client.create_repo("default/statusful")
    _write(repo, [1, 2])

    client.set_repo_status("default/statusful", mode="maintenance", message="moving buckets")
    in_maintenance = client.get_repo("default/statusful")
    assert _read(in_maintenance) == [1, 2]
    with pytest.raises(floe.RepoUnavailableError, match="maintenance mode: moving buckets"):
        in_maintenance.writable_session("main")
    with pytest.raises(floe.RepoUnavailableError):
        in_maintenance.create_tag("v1", in_maintenance.lookup_branch("main"))

    client.set_repo_status("default/statusful", mode="offline", message="gone fishing")
    with pytest.raises(floe.RepoUnavailableError, match="offline"):
        client.get_repo("default/statusful")

    client.set_repo_status("default/statusful", mode="online")
    _write(client.get_repo("default/statusful"), [7, 8], "back online")
    read_only = client.get_repo("default/statusful", read_only=True)
    assert _read(read_only) == [7, 8]
    with pytest.raises(floe.RepoUnavailableError, match="read_only"):
        read_only.writable_session("main")
    with pytest.raises(floe.ValidationError, match="online, maintenance or offline"):
        client.set_repo_status("default/statusful", mode="sleeping")


def test_failed_icechunk_create_leaves_no_catalog_entry(floe_server_sqlite, sqlite_client):
    client = sqlite_client
    # a `file` bucket config whose "directory" is a regular file: the probe refuses to register it ...
    blocker = Path(floe_server_sqlite.data_dir) / "storage" / "default" / "not-a-dir"
    blocker.write_text("in the way")
    with pytest.raises(floe.StorageError, match="Not a directory"):
        client.create_bucket_config(org="default", nickname="broken", uri=f"file://{blocker}")
    # ... so register a folder, then put a file in its place: the catalog has it, Icechunk cannot write
    folder = Path(floe_server_sqlite.data_dir) / "storage" / "default" / "soon-blocked"
    folder.mkdir()
    client.create_bucket_config(org="default", nickname="broken", uri=f"file://{folder}")
    folder.rmdir()
    folder.write_text("in the way")
    with pytest.raises(floe.StorageError, match="creating the Icechunk repo for default/doomed"):
        client.create_repo("default/doomed", bucket_config_nickname="broken")
    assert [r.name for r in client.list_repos("default")] == []
    with pytest.raises(floe.NotFoundError):
        client.get_repo_object("default/doomed")


def test_missing_bucket_refuses_before_registering(client, moto, s3_bucket):
    _moto_bucket_config(client, moto, s3_bucket)
    moto.s3_client().delete_bucket(Bucket=s3_bucket)  # gone since the bucket config was checked
    with pytest.raises(floe.NotFoundError, match="does not exist"):
        client.create_repo("default/nowhere", bucket_config_nickname="moto")
    assert client.list_repos("default") == []


def test_get_or_create_delete_keep_data_and_import(sqlite_client):
    client = sqlite_client
    first = client.get_or_create_repo("default/goc", prefix="goc-data")
    _write(first, [3, 1])
    same = client.get_or_create_repo("default/goc")
    assert _read(same) == [3, 1]

    with pytest.raises(floe.BadRequestError, match="imsure"):
        client.delete_repo("default/goc")
    client.delete_repo("default/goc", imsure=True, imreallysure=True, keep_data=True)
    assert client.list_repos("default") == []
    with pytest.raises(floe.ConflictError, match="already holds data"):
        client.create_repo("default/clash", prefix="goc-data")
    assert client.list_repos("default") == []

    imported = client.import_repo("default/goc-again", prefix="goc-data")  # opened, as arraylake's is
    assert isinstance(imported, floe.FloeRepository)
    assert _read(imported) == [3, 1]
    assert client.get_repo_object("default/goc-again").prefix == "goc-data"

    with pytest.raises(floe.ConflictError, match="overlaps repo default/goc-again"):
        client.create_repo("default/nested", prefix="goc-data/inner")
    client.delete_repo("default/goc-again", imsure=True, imreallysure=True)
    with pytest.raises(floe.ConflictError, match="in the trash"):  # its objects are kept there
        client.import_repo("default/ghost", prefix="goc-data")
    client.purge_repo("default/goc-again", imsure=True, imreallysure=True)
    with pytest.raises(floe.NotFoundError, match="no Icechunk repo found"):
        client.import_repo("default/ghost", prefix="goc-data")


def test_import_repo_undoes_the_registration_when_the_repo_cannot_be_opened(
    floe_server_sqlite, sqlite_client
):
    """The server finds the Icechunk repo (its refs), but its config cannot be read: ``import_repo``
    raises and leaves nothing registered, and the objects untouched; ``import_repo_object`` registers it
    without opening and returns the catalog entry."""
    client = sqlite_client
    _write(client.create_repo("default/spoilt", prefix="spoilt-data"), [7])
    client.delete_repo("default/spoilt", imsure=True, imreallysure=True, keep_data=True)
    folder = Path(floe_server_sqlite.data_dir) / "storage" / "default" / "spoilt-data"
    (folder / "config.yaml").write_text("{{{ not yaml")
    files = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    with pytest.raises(floe.StorageError, match="opening default/spoilt-again failed"):
        client.import_repo("default/spoilt-again", prefix="spoilt-data")
    assert client.list_repos("default") == []
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == files
    entry = client.import_repo_object("default/spoilt-again", prefix="spoilt-data", description="as is")
    assert (entry.name, entry.prefix, entry.description) == ("spoilt-again", "spoilt-data", "as is")


def test_token_and_permission_methods(sqlite_client):
    client = sqlite_client
    viewer = client.create_api_client("default", name="reader", role="viewer")
    assert viewer.token.startswith("ema_")
    viewer_id = client.get_api_client_id_from_token("default", viewer.token)
    assert viewer_id == str(viewer.id)
    client.create_repo("default/perm")
    assert client.get_permission_check("default", viewer_id, "default/perm", "CAN_READ") is True
    assert client.get_permission_check("default", viewer_id, "default/perm", "CAN_WRITE") is False
    assert client.get_permission_check("default", viewer_id, "default/missing", "CAN_READ") is False
    with floe.Client(service_uri=client.service_uri, token=viewer.token) as as_viewer:
        with pytest.raises(floe.PermissionDeniedError, match="viewer"):
            as_viewer.create_repo("default/nope")
        assert as_viewer.get_repo("default/perm").list_branches() == {"main"}
        with pytest.raises(floe.PermissionDeniedError):
            as_viewer.delete_repo("default/perm", imsure=True, imreallysure=True)
    client.revoke_api_client("default", "reader")
    with (
        floe.Client(service_uri=client.service_uri, token=viewer.token) as revoked,
        pytest.raises(floe.AuthenticationError, match="revoked"),
    ):
        revoked.list_repos("default")


def test_async_client_same_operations(floe_server_sqlite):
    async def scenario() -> None:
        async with floe.AsyncClient(
            service_uri=floe_server_sqlite.url, token=floe_server_sqlite.token
        ) as client:
            repo = await client.create_repo("default/async-repo")
            await asyncio.to_thread(_write, repo, [9, 9, 9])
            opened = await client.get_repo("default/async-repo")
            assert await asyncio.to_thread(_read, opened) == [9, 9, 9]
            assert [r.name for r in await client.list_repos("default")] == ["async-repo"]
            configs = await client.list_bucket_configs("default")
            assert [b.nickname for b in configs] == ["local"]
            with pytest.raises(floe.NotFoundError):
                await client.get_repo("default/absent")
            await client.delete_repo("default/async-repo", imsure=True, imreallysure=True)
            assert await client.list_repos("default") == []

    asyncio.run(scenario())


def test_clients_over_an_asgi_transport(floe_server_sqlite):
    """``floe.Client(..., transport=...)`` / ``floe.AsyncClient(..., transport=...)`` reach the app
    through the given transport: here an ASGI one that calls the in-process app without a socket."""
    server = floe_server_sqlite
    with floe.Client(service_uri=server.url, token=server.token, transport=server.transport()) as client:
        repo = client.create_repo("default/asgi-repo")
        _write(repo, [4, 2])
        assert _read(client.get_repo("default/asgi-repo")) == [4, 2]
        assert client.whoami().org == "default"

    async def scenario() -> None:
        async with floe.AsyncClient(
            service_uri=server.url, token=server.token, transport=server.async_transport()
        ) as aclient:
            assert [r.name for r in await aclient.list_repos("default")] == ["asgi-repo"]
            await aclient.delete_repo("default/asgi-repo", imsure=True, imreallysure=True)
            assert await aclient.list_repos("default") == []

    asyncio.run(scenario())
    # the catalog calls went through the transport, none over HTTP to uvicorn; only the commit-lease
    # helper opens its own connection to service_uri
    over_http = [line for line in server.log_text().splitlines() if "asgi-repo" in line]
    assert all("/leases/" in line for line in over_http), over_http


def test_client_finds_service_and_token_in_env_then_config_file(floe_server_sqlite, monkeypatch, tmp_path):
    monkeypatch.delenv("FLOE_SERVICE_URI", raising=False)
    monkeypatch.delenv("FLOE_TOKEN", raising=False)
    # `floe serve` wrote the user config file on first start
    config_dir = next(Path(floe_server_sqlite.data_dir).parent.glob("floe-config-*"))
    monkeypatch.setenv("FLOE_CONFIG_DIR", str(config_dir))
    assert (config_dir / "config.toml").stat().st_mode & 0o077 == 0
    with floe.Client() as from_file:
        assert from_file.service_uri == floe_server_sqlite.url
        me = from_file.whoami()
        assert me.org == "default" and me.is_site_admin  # the bootstrap token `floe serve` saved

    monkeypatch.setenv("FLOE_CONFIG_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("FLOE_SERVICE_URI", floe_server_sqlite.url)
    monkeypatch.setenv("FLOE_TOKEN", floe_server_sqlite.token)
    with floe.Client() as from_env:
        assert not from_env.whoami().is_site_admin  # the `floe admin token` token the tests use

    monkeypatch.setenv("FLOE_TOKEN", "ema_wrong")
    with floe.Client() as wrong, pytest.raises(floe.AuthenticationError, match="not known"):
        wrong.list_repos("default")
    with pytest.raises(floe.ValidationError, match="http"):
        floe.Client(service_uri="ftp://example.org")


def test_unreachable_server_is_one_clear_error():
    with (
        floe.Client(service_uri="http://127.0.0.1:9", token="ema_x") as client,
        pytest.raises(floe.ServiceUnreachableError, match="cannot reach the Floe server"),
    ):
        client.list_repos("default")


def test_bad_repo_names_fail_before_any_request(sqlite_client):
    seen = _count_requests(sqlite_client)
    for bad in ("noslash", "a/b/c", "org/bad name", "-x/y"):
        with pytest.raises(floe.ValidationError):
            sqlite_client.get_repo(bad)
    assert seen == []


def test_repeat_get_repo_uses_no_request_until_something_changes(sqlite_client):
    client = sqlite_client
    _write(client.create_repo("default/cached"), [1, 2])
    seen = _count_requests(client)
    first = client.get_repo("default/cached")
    again = client.get_repo("default/cached")
    assert seen == ["GET /repos/default/cached/open"]  # the repeat costs nothing
    assert _read(again) == _read(first) == [1, 2]

    client.set_repo_status("default/cached", mode="maintenance")  # a status change the client makes
    seen.clear()
    with pytest.raises(floe.RepoUnavailableError):
        client.get_repo("default/cached").writable_session("main")
    assert seen == ["GET /repos/default/cached/open"]
    client.set_repo_status("default/cached", mode="online")

    repo = client.get_repo("default/cached")
    session = repo.writable_session("main")
    stale = client.get_repo("default/cached").writable_session("main")
    zarr.open_array(session.store, path="x")[0] = 5
    session.commit("first writer")
    zarr.open_array(stale.store, path="x")[1] = 6
    seen.clear()
    client.get_repo("default/cached")
    assert seen == []
    with pytest.raises(icechunk.ConflictError):
        stale.commit("stale writer")  # a write error the client sees drops what it cached
    client.get_repo("default/cached")
    assert seen == ["GET /repos/default/cached/open"]
