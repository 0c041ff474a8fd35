"""Azure Blob Storage: bucket-config validation, vended SAS tokens, the server's object store, and
secrets kept out of responses -- against Azurite where a store is needed."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import icechunk
import numpy as np
import pytest
import zarr
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ContainerClient

import floe
from floe.errors import NotFoundError, PermissionDeniedError, StorageError
from floe.models import AzureCredentials, S3Credentials
from floe.storage import BucketSpec, PreconditionFailed, StoragePolicy, credentials_for, normalize
from floe.storage import icechunk_storage as make_storage
from floe.storage import object_store as make_store
from floe.storage.azure import sas_expiry

POLICY = StoragePolicy()
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
FUTURE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
PAST = "2020-01-01T00:00:00Z"


def _sas(sp: str = "racwdl", se: str = FUTURE, sr: str = "c") -> str:
    return f"sv=2024-05-04&sr={sr}&sp={sp}&se={se}&sig=c2lnbmF0dXJl"


def _spec(extra=None, auth=None, name="data") -> BucketSpec:
    return BucketSpec(platform="azure", name=name, extra_config=extra or {}, auth=auth)


def _fields(token: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(token).items()}


# --------------------------------------------------------------------------------------------- normalize


def test_normalize_fills_account_name_from_auth():
    spec = normalize(
        _spec(auth={"method": "azure_account_key", "account_name": "labdata", "account_key": KEY}), POLICY
    )
    assert spec.extra_config == {"account_name": "labdata", "use_ssl": True}
    assert spec.auth["duration_seconds"] == 3600


def test_normalize_fills_auth_account_name_from_extra_config():
    spec = normalize(
        _spec({"account_name": "labdata"}, {"method": "azure_sas", "sas_token": "?" + _sas()}), POLICY
    )
    assert spec.auth["account_name"] == "labdata"
    assert spec.auth["sas_token"] == _sas()  # the leading '?' is dropped


def test_normalize_endpoint_and_use_ssl():
    spec = normalize(
        _spec(
            {"account_name": "devstoreaccount1", "endpoint_url": "http://127.0.0.1:10000/devstoreaccount1/"}
        ),
        POLICY,
    )
    assert spec.extra_config["endpoint_url"] == "http://127.0.0.1:10000/devstoreaccount1"
    assert spec.extra_config["use_ssl"] is False
    assert spec.auth == {"method": "anonymous"}


@pytest.mark.parametrize(
    ("extra", "auth", "name", "expected"),
    [
        ({}, {"method": "anonymous"}, "data", "needs extra_config.account_name"),
        (
            {"account_name": "lab"},
            {"method": "hmac", "access_key_id": "a"},
            "data",
            "'hmac' is not supported",
        ),
        (
            {"account_name": "labdata"},
            {"method": "azure_account_key", "account_name": "otheracct", "account_key": KEY},
            "data",
            "differ",
        ),
        ({"account_name": "Lab_Data"}, None, "data", "invalid extra_config.account_name"),
        ({"account_name": "labdata"}, None, "My_Data", "invalid container name"),
        ({"account_name": "labdata"}, None, "a--b", "invalid container name"),
        ({}, None, "data@labdata.dfs.core.windows.net", "az://data/PREFIX"),
        (
            {"account_name": "labdata", "region_name": "x"},
            None,
            "data",
            "unknown extra_config key(s) region_name",
        ),
        (
            {"account_name": "labdata", "endpoint_url": "blob.example.org"},
            None,
            "data",
            "invalid extra_config.endpoint_url",
        ),
        (
            {"account_name": "labdata", "endpoint_url": "http://127.0.0.1:10000/x", "use_ssl": True},
            None,
            "data",
            "use_ssl is true",
        ),
        ({"account_name": "labdata", "use_ssl": "false"}, None, "data", "needs an http://"),
        (
            {"account_name": "labdata"},
            {"method": "azure_account_key", "account_key": "not*base64"},
            "data",
            "account_key",
        ),
        (
            {"account_name": "labdata"},
            {"method": "azure_account_key", "account_key": KEY, "duration_seconds": 10},
            "data",
            "duration_seconds",
        ),
        (
            {"account_name": "labdata"},
            {"method": "azure_sas", "sas_token": "hello"},
            "data",
            "does not look like",
        ),
        ({"account_name": "labdata"}, {"method": "azure_sas", "sas_token": _sas(se=PAST)}, "data", "expired"),
        ({"account_name": "labdata"}, {"method": "azure_sas", "sas_token": _sas(sr="b")}, "data", "sr=b"),
        (
            {"account_name": "labdata"},
            {"method": "azure_sas", "sas_token": _sas(sp="r")},
            "data",
            "list permission",
        ),
        (
            {"account_name": "labdata"},
            {"method": "azure_sas", "sas_token": "https://labdata.blob.core.windows.net/data?" + _sas()},
            "data",
            "token only",
        ),
    ],
)
def test_normalize_errors_name_field_and_fix(extra, auth, name, expected):
    with pytest.raises(ValueError) as info:
        normalize(_spec(extra, auth, name), POLICY)
    assert expected in str(info.value)


# --------------------------------------------------------------------------------------------- credentials


def _key_spec(**extra) -> BucketSpec:
    return normalize(
        _spec(
            {"account_name": "labdata", **extra},
            {"method": "azure_account_key", "account_key": KEY, "duration_seconds": 1200},
        ),
        POLICY,
    )


def test_vended_sas_is_container_scoped_short_lived_and_read_only_for_readers():
    spec = _key_spec()
    reader = credentials_for(spec, prefix="lab/repo", read_only=True)
    writer = credentials_for(spec, prefix="lab/repo", read_only=False)
    assert isinstance(reader, AzureCredentials) and reader.storage_account == "labdata"
    assert _fields(reader.sas_token)["sp"] == "rl"
    assert _fields(writer.sas_token)["sp"] == "racwdl"
    for creds in (reader, writer):
        fields = _fields(creds.sas_token)
        assert fields["sr"] == "c" and fields["spr"] == "https"
        assert KEY not in creds.sas_token
        left = (creds.expiration - dt.datetime.now(dt.UTC)).total_seconds()
        assert 1100 < left <= 1200
        assert sas_expiry(creds.sas_token) == creds.expiration
        start = dt.datetime.fromisoformat(fields["st"].replace("Z", "+00:00"))
        assert start < dt.datetime.now(dt.UTC) - dt.timedelta(minutes=4)  # room for clock skew


def test_vended_sas_allows_http_only_for_an_http_endpoint():
    spec = _key_spec(endpoint_url="http://127.0.0.1:10000/labdata")
    assert "spr" not in _fields(credentials_for(spec, read_only=True).sas_token)


def test_given_sas_is_handed_out_with_its_expiry():
    spec = normalize(
        _spec({"account_name": "labdata"}, {"method": "azure_sas", "sas_token": _sas(sp="rl")}), POLICY
    )
    creds = credentials_for(spec, read_only=True)
    assert creds.sas_token == _sas(sp="rl")
    assert creds.expiration == dt.datetime.fromisoformat(FUTURE.replace("Z", "+00:00"))
    no_expiry = "sv=2024-05-04&sr=c&sp=rl&si=policy1&sig=c2ln"  # expiry in a stored access policy
    spec = normalize(
        _spec({"account_name": "labdata"}, {"method": "azure_sas", "sas_token": no_expiry}), POLICY
    )
    assert credentials_for(spec).expiration is None


def test_anonymous_and_from_env_vend_nothing():
    for method in ("anonymous", "from_env"):
        spec = normalize(_spec({"account_name": "labdata"}, {"method": method}), POLICY)
        assert credentials_for(spec, read_only=True) is None


def test_icechunk_storage_refuses_other_platforms_credentials():
    spec = _key_spec()
    with pytest.raises(ValueError, match="needs Azure credentials"):
        make_storage(spec, "p", S3Credentials(aws_access_key_id="a", aws_secret_access_key="b"))


# --------------------------------------------------------------------------------------------- against Azurite


def _azurite_spec(azurite, container: str, auth: dict | None = None, **extra) -> BucketSpec:
    return normalize(
        BucketSpec(
            platform="azure",
            name=container,
            extra_config={
                "account_name": azurite.account_name,
                "endpoint_url": azurite.blob_endpoint,
                **extra,
            },
            auth=auth
            or {
                "method": "azure_account_key",
                "account_name": azurite.account_name,
                "account_key": azurite.account_key,
            },
        ),
        POLICY,
    )


def test_reader_sas_cannot_write(azurite):
    container = azurite.create_container()
    spec = _azurite_spec(azurite, container)
    writer = credentials_for(spec, prefix="lab", read_only=False)
    reader = credentials_for(spec, prefix="lab", read_only=True)
    as_writer = ContainerClient(azurite.blob_endpoint, container, credential=writer.sas_token)
    as_reader = ContainerClient(azurite.blob_endpoint, container, credential=reader.sas_token)

    as_writer.upload_blob("lab/a", b"written by the writer")
    assert as_reader.download_blob("lab/a").readall() == b"written by the writer"
    assert list(as_reader.list_blob_names(name_starts_with="lab/")) == ["lab/a"]
    with pytest.raises(HttpResponseError) as info:
        as_reader.upload_blob("lab/b", b"the reader may not write")
    assert info.value.status_code == 403
    with pytest.raises(HttpResponseError):
        as_reader.delete_blob("lab/a")
    assert azurite.list_blobs(container) == ["lab/a"]

    # the same through Icechunk: a reader SAS cannot create a repo, a writer SAS can
    with pytest.raises(icechunk.IcechunkError):
        icechunk.Repository.create(make_storage(spec, "lab/repo", reader))
    icechunk.Repository.create(make_storage(spec, "lab/repo", writer))
    assert icechunk.Repository.exists(make_storage(spec, "lab/repo", reader))


def test_object_store_contract(azurite):
    container = azurite.create_container()
    store = make_store(_azurite_spec(azurite, container))
    assert container in store.describe() and azurite.blob_endpoint in store.describe()
    assert store.is_empty("p")

    etag = store.put("p/one", b"1")
    assert store.get("p/one") == b"1"
    assert not store.is_empty("p") and store.is_empty("q")
    with pytest.raises(PreconditionFailed):
        store.put_if_absent("p/one", b"again")
    assert store.get("p/one") == b"1"
    created = store.put_if_absent("p/two", b"2")
    with pytest.raises(PreconditionFailed):
        store.put_if_match("p/one", b"stale", created)
    new_etag = store.put_if_match("p/one", b"1b", etag)
    assert new_etag != etag and store.get("p/one") == b"1b"
    with pytest.raises(PreconditionFailed):
        store.put_if_match("p/one", b"stale", etag)

    store.delete("p/two")
    store.delete("p/two")  # absent: no error
    with pytest.raises(NotFoundError):
        store.get("p/two")

    for i in range(300):  # more than one batch of 256
        store.put(f"p/many/{i:03d}", b"x")
    store.put("keep/me", b"k")
    assert store.delete_prefix("p") == 301
    assert azurite.list_blobs(container) == ["keep/me"]
    with pytest.raises(ValueError):
        store.delete_prefix("")


def test_object_store_with_a_sas(azurite):
    container = azurite.create_container()
    rw = _azurite_spec(
        azurite,
        container,
        {
            "method": "azure_sas",
            "account_name": azurite.account_name,
            "sas_token": azurite.container_sas(container),
        },
    )
    store = make_store(rw)
    store.put("p/a", b"a")
    assert store.delete_prefix("p") == 1

    read_only = _azurite_spec(
        azurite,
        container,
        {"method": "azure_sas", "sas_token": azurite.container_sas(container, "rl")},
    )
    with pytest.raises(PermissionDeniedError, match="lacks the permission") as info:
        make_store(read_only).put("p/b", b"b")
    assert info.value.kind == "access_denied"


def test_object_store_errors_are_plain(azurite, monkeypatch):
    missing = make_store(_azurite_spec(azurite, "no-such-container"))
    with pytest.raises(NotFoundError, match=r"'no-such-container'.*does not exist") as info:
        missing.is_empty("p")
    assert info.value.kind == "bucket_missing"

    container = azurite.create_container()
    wrong_key = "d3Jvbmcga2V5" * 8
    bad = make_store(
        _azurite_spec(azurite, container, {"method": "azure_account_key", "account_key": wrong_key})
    )
    with pytest.raises(PermissionDeniedError, match="rejected the account key / SAS") as info:
        bad.put("p/x", b"x")
    assert info.value.kind == "keys_rejected"
    assert wrong_key not in str(info.value)

    unreachable = make_store(
        normalize(
            BucketSpec(
                platform="azure",
                name=container,
                extra_config={
                    "account_name": "devstoreaccount1",
                    "endpoint_url": "http://127.0.0.1:9/devstoreaccount1",
                },
                auth={"method": "azure_account_key", "account_key": azurite.account_key},
            ),
            POLICY,
        )
    )
    with pytest.raises(StorageError, match=r"cannot reach http://127\.0\.0\.1:9/") as info:
        unreachable.is_empty("p")
    assert info.value.kind == "unreachable"

    from_env = make_store(_azurite_spec(azurite, container, {"method": "from_env"}))
    for var in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("AZURE_STORAGE_SAS_TOKEN", raising=False)
    monkeypatch.delenv("AZURE_STORAGE_SAS_KEY", raising=False)
    with pytest.raises(StorageError, match="AZURE_STORAGE_CONNECTION_STRING") as info:
        from_env.is_empty("p")
    assert info.value.kind == "no_credentials"
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    from_env = make_store(_azurite_spec(azurite, container, {"method": "from_env"}))
    from_env.put("p/env", b"e")
    assert from_env.get("p/env") == b"e"


def _write_repo(storage: icechunk.Storage) -> None:
    repo = icechunk.Repository.create(storage)
    session = repo.writable_session("main")
    array = zarr.create_array(session.store, name="t", shape=(100,), chunks=(50,), dtype="f8")
    array[:] = np.arange(100.0)
    session.commit("data")


def test_anonymous_reads_a_public_container(azurite):
    container = azurite.create_container(public=True)
    owner = _azurite_spec(azurite, container)
    _write_repo(make_storage(owner, "pub", credentials_for(owner)))

    public = _azurite_spec(azurite, container, {"method": "anonymous"})
    assert credentials_for(public, read_only=True) is None
    client_view = public.with_changes(auth=None)  # clients get the bucket config without its auth
    repo = icechunk.Repository.open(make_storage(client_view, "pub", None))
    got = zarr.open_array(repo.readonly_session("main").store, path="t")[:]
    np.testing.assert_array_equal(got, np.arange(100.0))
    session = repo.writable_session("main")
    zarr.open_array(session.store, path="t")[:] = 0.0
    with pytest.raises(icechunk.IcechunkError):
        session.commit("anonymous may not write")


def test_stale_sas_is_replaced_when_the_storage_is_built(azurite):
    container = azurite.create_container()
    spec = _azurite_spec(azurite, container)
    _write_repo(make_storage(spec, "lab", credentials_for(spec)))
    client_view = spec.with_changes(auth=None)
    stale = AzureCredentials(
        sas_token="sv=2024-05-04&sr=c&sp=rl&se=2020-01-01T00:00:00Z&sig=c3RhbGU=",
        storage_account=azurite.account_name,
        expiration=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )
    calls = []

    def refresh():
        calls.append(1)
        return credentials_for(spec, read_only=True)

    repo = icechunk.Repository.open(make_storage(client_view, "lab", stale, refresh))
    assert zarr.open_array(repo.readonly_session("main").store, path="t")[3] == 3.0
    assert calls == [1]
    fresh = credentials_for(spec, read_only=True)
    make_storage(client_view, "lab", fresh, refresh)
    assert calls == [1], "fresh credentials are used as they are"


# --------------------------------------------------------------------------------------------- through the server


def test_secrets_never_in_bucket_config_responses(azurite, floe_server_sqlite):
    server = floe_server_sqlite
    admin = floe.Client(service_uri=server.url, token=server.token)
    container = azurite.create_container()
    sas = azurite.container_sas(container)
    extra = {"account_name": azurite.account_name, "endpoint_url": azurite.blob_endpoint}
    keyed = admin.create_bucket_config(
        org="default",
        nickname="az-key",
        uri=f"az://{container}/lab",
        extra_config=extra,
        auth_config={
            "method": "azure_account_key",
            "account_name": azurite.account_name,
            "account_key": azurite.account_key,
        },
    )
    sassed = admin.create_bucket_config(
        org="default",
        nickname="az-sas",
        uri=f"az://{container}/other",
        extra_config={"endpoint_url": azurite.blob_endpoint, "account_name": azurite.account_name},
        auth_config={"method": "azure_sas", "account_name": azurite.account_name, "sas_token": sas},
    )
    assert keyed.platform == "azure" and keyed.name == container and keyed.prefix == "lab"
    assert keyed.extra_config["account_name"] == azurite.account_name
    assert keyed.auth_config["account_key"] == "********"
    assert sassed.auth_config["sas_token"] == "********"
    signature = _fields(sas)["sig"]

    texts = [
        admin._http.get("/orgs/default/buckets").text,
        admin._http.get(f"/orgs/default/buckets/{keyed.id}").text,
        admin._http.get(f"/orgs/default/buckets/{sassed.id}").text,
        repr(admin.list_bucket_configs("default")),
    ]
    repo = admin.create_repo("default/az", bucket_config_nickname="az-key")
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="t", shape=(4,), chunks=(2,), dtype="i4")[:] = [1, 2, 3, 4]
    session.commit("one")
    texts += [
        admin._http.get("/repos/default/az").text,
        admin._http.get("/orgs/default/repos/paginated").text,
        admin._http.get("/repos/default/az/open").text,  # vends a SAS, never the key
        admin._http.get("/repos/default/az/bucket-credentials").text,
    ]
    for text in texts:
        assert azurite.account_key not in text
        assert signature not in text and sas not in text
    assert azurite.account_key not in server.log_text()
    assert signature not in server.log_text()


def test_viewer_gets_a_read_only_sas_and_bad_configs_are_explained(azurite, floe_server_sqlite):
    server = floe_server_sqlite
    admin = floe.Client(service_uri=server.url, token=server.token)
    with pytest.raises(floe.ValidationError, match=r"extra_config\.account_name"):
        admin.create_bucket_config(
            org="default",
            nickname="az-bad",
            uri="az://somewhere",
            auth_config={"method": "anonymous"},
        )
    container = azurite.create_container()
    admin.create_bucket_config(
        org="default",
        nickname="az-shared",
        uri=f"az://{container}",
        extra_config={"account_name": azurite.account_name, "endpoint_url": azurite.blob_endpoint},
        auth_config={
            "method": "azure_account_key",
            "account_name": azurite.account_name,
            "account_key": azurite.account_key,
        },
    )
    admin.create_repo("default/shared", bucket_config_nickname="az-shared")
    viewer = admin.create_api_client("default", name="az-viewer", role="viewer").token
    as_viewer = floe.Client(service_uri=server.url, token=viewer)
    creds = AzureCredentials.model_validate(
        as_viewer._http.get("/repos/default/shared/bucket-credentials").json()
    )
    assert _fields(creds.sas_token)["sp"] == "rl"
    assert creds.expiration is not None
    mine = AzureCredentials.model_validate(admin._http.get("/repos/default/shared/bucket-credentials").json())
    assert _fields(mine.sas_token)["sp"] == "racwdl"
    with pytest.raises(HttpResponseError):
        ContainerClient(azurite.blob_endpoint, container, credential=creds.sas_token).upload_blob("x", b"x")


def test_missing_container_is_named(azurite, floe_server_sqlite):
    server = floe_server_sqlite
    admin = floe.Client(service_uri=server.url, token=server.token)
    # refused when the bucket config is registered (if the server probes it), else when a repo is created
    with pytest.raises(floe.FloeError, match="'never-created'"):
        admin.create_bucket_config(
            org="default",
            nickname="gone",
            uri="az://never-created",
            extra_config={"account_name": azurite.account_name, "endpoint_url": azurite.blob_endpoint},
            auth_config={
                "method": "azure_account_key",
                "account_name": azurite.account_name,
                "account_key": azurite.account_key,
            },
        )
        admin.create_repo("default/nowhere", bucket_config_nickname="gone")


def test_arraylake_client_sees_a_delegated_azure_bucket(azurite, floe_server_sqlite, tmp_path, monkeypatch):
    """The official client reads an ``azure_account_key`` config as ``azure_credential_delegation`` and
    fetches working SAS tokens from the credential route (it cannot reach Azurite itself: it ignores
    ``endpoint_url``)."""
    arraylake = pytest.importorskip("arraylake")
    from arraylake.asyn import sync

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARRAYLAKE_USER__DIAGNOSTICS", "false")
    server = floe_server_sqlite
    # (nicknames of at least 3 characters: this client refuses shorter ones, which Floe allows)
    admin = floe.Client(service_uri=server.url, token=server.token)
    container = azurite.create_container()
    admin.create_bucket_config(
        org="default",
        nickname="azure",
        uri=f"az://{container}/lab",
        extra_config={"account_name": azurite.account_name, "endpoint_url": azurite.blob_endpoint},
        auth_config={
            "method": "azure_account_key",
            "account_name": azurite.account_name,
            "account_key": azurite.account_key,
        },
    )
    admin.create_repo("default/az", bucket_config_nickname="azure")

    client = arraylake.Client(service_uri=server.url, token=server.token)
    shown = client.get_bucket_config(org="default", nickname="azure")
    assert shown.platform == "azure" and shown.name == container
    assert shown.auth_config.method == "azure_credential_delegation"
    assert shown.auth_config.storage_account == azurite.account_name
    assert client.get_repo_object("default/az").bucket.auth_config.method == "azure_credential_delegation"
    assert isinstance(client.get_icechunk_storage("default/az"), icechunk.Storage)
    creds = sync(client.aclient._get_azure_delegated_credentials_from_repo, "default", "az")
    assert creds.storage_account == azurite.account_name and creds.expiration is not None
    writer = ContainerClient(azurite.blob_endpoint, container, credential=creds.sas_token)
    writer.upload_blob("lab/from-arraylake", b"ok")
    assert azurite.account_key not in server.log_text()
