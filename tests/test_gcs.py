"""Google Cloud Storage: validation, token minting, the server's handle, Icechunk's requests, the catalog.

Real services: the GCS emulator (gcp-storage-emulator, JSON API), a stand-in for Google's OAuth2
token endpoint that checks the signed JWTs service accounts send (``services.GcsTokenEndpoint``),
and Floe itself. The emulator neither enforces generation preconditions nor serves the XML API
Icechunk uses (see ``conformance/cases_gcs.py``); where a test needs an answer the emulator cannot
give (412, 401, 403) or needs to see request headers, a small scripted HTTP responder stands in
for GCS and records what it was sent.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import pickle
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import icechunk
import pytest

import floe
from conformance.cases_gcs import SKIP_REASON
from floe.client.credentials import CatalogCredentials
from floe.errors import NotFoundError, PermissionDeniedError, StorageError
from floe.models import REDACTED, GSCredentials
from floe.server.catalog import creation
from floe.storage import BucketSpec, PreconditionFailed, StoragePolicy, icechunk_storage, normalize
from floe.storage.gcs import (
    GCS_READ_ONLY,
    GCS_READ_WRITE,
    GOOGLE_TOKEN_URI,
    GcsAdapter,
    mint_token,
    refreshing,
)
from services import free_port, unique_name

POLICY = StoragePolicy()
EMAIL = "floe-data@floe-test.iam.gserviceaccount.com"
ONE_TRY = icechunk.RepositoryConfig(
    storage=icechunk.StorageSettings(retries=icechunk.StorageRetriesSettings(max_tries=1))
)


def pem_body(key: dict[str, Any]) -> str:
    """A distinctive stretch of the private key's base64 body (what must never leak)."""
    return "".join(key["private_key"].splitlines()[1:-1])[100:160]


def gs_spec(name: str = "floe-data", *, endpoint: str | None = None, auth: dict | None = None) -> BucketSpec:
    extra = {"endpoint_url": endpoint} if endpoint else {}
    return BucketSpec(platform="gs", name=name, prefix="lab", extra_config=extra, auth=auth)


def sa_auth(key: dict[str, Any]) -> dict[str, Any]:
    return {"method": "gcs_service_account", "service_account_key": key}


def kind(exc: BaseException) -> str | None:
    return getattr(exc, "kind", None)


# --------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("name", ["abc", "my-bucket", "data_2024", "data.example.org", "a" * 63])
def test_valid_bucket_names(name):
    assert normalize(gs_spec(name), POLICY).name == name


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("ab", "3-63 characters"),
        ("a" * 64, "3-63 characters"),
        ("My-Bucket", "lower-case"),
        ("-abc", "starting and ending with a letter or digit"),
        ("abc_", "starting and ending with a letter or digit"),
        ("bad..dots", "every dot-separated part"),
        ("192.168.10.1", "cannot be IP addresses"),
        ("goog-data", "cannot start with 'goog'"),
        ("my-google-data", "contain 'google'"),
    ],
)
def test_invalid_bucket_names_say_which_rule(name, says):
    with pytest.raises(ValueError, match="invalid bucket name") as err:
        normalize(gs_spec(name), POLICY)
    assert says in str(err.value)


def test_extra_config_and_method_errors_name_the_field():
    with pytest.raises(
        ValueError, match=r"unknown extra_config key\(s\) region_name .* allowed is endpoint_url"
    ):
        normalize(BucketSpec(platform="gs", name="abc", extra_config={"region_name": "eu"}), POLICY)
    with pytest.raises(ValueError, match=r"invalid extra_config.endpoint_url 'localhost:4443'.*http"):
        normalize(gs_spec(endpoint="localhost:4443"), POLICY)
    with pytest.raises(ValueError, match=r"auth_config.method 'hmac' is not supported for gs: use one of"):
        normalize(gs_spec(auth={"method": "hmac", "access_key_id": "a", "secret_access_key": "b"}), POLICY)


def test_normalize_canonical_form(gcs_token_endpoint):
    spec = normalize(gs_spec(endpoint="http://127.0.0.1:4443/"), POLICY)
    assert spec.extra_config == {"endpoint_url": "http://127.0.0.1:4443"}
    assert spec.auth == {"method": "anonymous"}
    key = gcs_token_endpoint.service_account_key(EMAIL)
    del key["token_uri"]
    as_text = normalize(gs_spec(auth=sa_auth(json.dumps(key))), POLICY)
    assert as_text.auth["service_account_key"]["token_uri"] == GOOGLE_TOKEN_URI
    assert normalize(as_text, POLICY) == as_text


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"type": "authorized_user"}, "a user's login .* not a service-account key"),
        ({"type": None}, r"service_account_key.type must be 'service_account'"),
        ({"client_email": None}, "service_account_key.client_email is missing"),
        ({"private_key": None}, "service_account_key.private_key is missing"),
        (
            {"private_key": "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----\n"},
            "service_account_key.private_key cannot be read as an RSA private key",
        ),
        ({"token_uri": "oauth2.example"}, "invalid auth_config.service_account_key.token_uri"),
    ],
)
def test_service_account_key_errors_name_the_field_and_hide_the_key(gcs_token_endpoint, change, says):
    key = gcs_token_endpoint.service_account_key(EMAIL)
    secret = pem_body(key)
    key.update(change)
    with pytest.raises(ValueError, match=says) as err:
        normalize(gs_spec(auth=sa_auth(key)), POLICY)
    assert secret not in str(err.value) and "not-a-key" not in str(err.value)
    with pytest.raises(ValueError, match="service_account_key is not JSON"):
        normalize(gs_spec(auth=sa_auth("{not json")), POLICY)


# --------------------------------------------------------------------------------------------- tokens


def test_tokens_are_scoped_and_expire(gcs_token_endpoint):
    key = gcs_token_endpoint.service_account_key(EMAIL)
    spec = normalize(gs_spec(auth=sa_auth(key)), POLICY)
    adapter = GcsAdapter()
    before = dt.datetime.now(dt.UTC)
    reader = adapter.credentials(spec, prefix="lab/era5", read_only=True)
    writer = adapter.credentials(spec, prefix="lab/era5", read_only=False)
    for creds, scope in ((reader, GCS_READ_ONLY), (writer, GCS_READ_WRITE)):
        assert isinstance(creds, GSCredentials) and creds.principal == EMAIL
        assert creds.expiration.tzinfo is not None
        lifetime = (creds.expiration - before).total_seconds()
        assert gcs_token_endpoint.expires_in - 30 < lifetime <= gcs_token_endpoint.expires_in + 5
        info = gcs_token_endpoint.token_info(creds.access_token)
        assert info is not None and info["scope"] == scope and info["email"] == EMAIL
    assert reader.access_token != writer.access_token
    # the other methods vend nothing: clients use their own environment, or no credentials at all
    for method in ("from_env", "anonymous"):
        assert adapter.credentials(gs_spec(auth={"method": method}), prefix=None, read_only=True) is None


def test_refused_key_and_unreachable_token_endpoint(gcs_token_endpoint):
    deleted = gcs_token_endpoint.service_account_key(EMAIL, register=False)  # Google no longer knows it
    with pytest.raises(StorageError, match=f"Google refused a token for service account {EMAIL}") as err:
        mint_token(deleted, read_only=True)
    assert kind(err.value) == "keys_rejected" and "invalid_grant" in str(err.value)
    assert pem_body(deleted) not in str(err.value)

    key = gcs_token_endpoint.service_account_key(EMAIL)
    key["token_uri"] = f"http://127.0.0.1:{free_port()}/token"
    with pytest.raises(StorageError, match=r"cannot reach the Google token endpoint http://127.0.0.1") as err:
        mint_token(key, read_only=False)
    assert kind(err.value) == "unreachable"


# --------------------------------------------------------------------------------------------- the server's handle


@pytest.fixture
def gcs_store(gcs_emulator, gcs_bucket, gcs_token_endpoint):
    key = gcs_token_endpoint.service_account_key(EMAIL)
    spec = normalize(gs_spec(gcs_bucket, endpoint=gcs_emulator.endpoint, auth=sa_auth(key)), POLICY)
    return GcsAdapter().object_store(spec)


def test_object_store_round_trip(gcs_store, gcs_emulator, gcs_bucket):
    store = gcs_store
    assert store.describe() == f"GCS bucket {gcs_bucket!r} at {gcs_emulator.endpoint}"
    assert store.is_empty("lab/era5")
    first = store.put("lab/era5/zarr.json", b"one")
    assert first.isdigit()
    assert store.get("lab/era5/zarr.json") == b"one"
    second = store.put("lab/era5/zarr.json", b"two")
    assert second.isdigit() and second != first
    assert store.get("lab/era5/zarr.json") == b"two"
    assert not store.is_empty("lab/era5")
    assert store.is_empty("lab/era")  # a prefix is a folder, not a string prefix
    for i in range(5):
        store.put(f"lab/era5/chunks/c{i}", bytes([i]))
    store.put("lab/era5-other/keep", b"x")
    store.delete("lab/era5/chunks/c0")
    store.delete("lab/era5/chunks/c0")  # absent: no error
    with pytest.raises(NotFoundError, match="no object found while reading 'lab/era5/chunks/c0'"):
        store.get("lab/era5/chunks/c0")
    assert store.delete_prefix("lab/era5") == 5
    assert gcs_emulator.list_keys(gcs_bucket) == ["lab/era5-other/keep"]
    with pytest.raises(ValueError, match="refusing to delete a whole bucket"):
        store.delete_prefix("")


def test_conditional_writes_send_generation_preconditions(gcs_store, gcs_emulator):
    # The emulator ignores ifGenerationMatch, so this checks what is sent, not that GCS refuses:
    # the refusal (412 -> PreconditionFailed) is checked against a scripted responder below.
    store = gcs_store
    created = store.put_if_absent("lab/cond/obj", b"1")
    updated = store.put_if_match("lab/cond/obj", b"2", created)
    log = gcs_emulator.log_text()
    assert "name=lab%2Fcond%2Fobj&ifGenerationMatch=0 " in log
    assert f"name=lab%2Fcond%2Fobj&ifGenerationMatch={created} " in log
    assert updated.isdigit() and updated != created
    for not_a_generation in ('"9b2cf535f27731c974343645a3985328"', "0", ""):
        with pytest.raises(PreconditionFailed):
            store.put_if_match("lab/cond/obj", b"3", not_a_generation)
    assert store.get("lab/cond/obj") == b"2"


def test_object_store_errors(gcs_emulator, gcs_token_endpoint):
    key = gcs_token_endpoint.service_account_key(EMAIL)
    missing = GcsAdapter().object_store(
        gs_spec("no-such-bucket", endpoint=gcs_emulator.endpoint, auth=sa_auth(key))
    )
    with pytest.raises(
        NotFoundError, match=r"GCS bucket 'no-such-bucket' .* does not exist .* check the bucket name"
    ) as err:
        missing.is_empty("lab")
    assert kind(err.value) == "bucket_missing"
    with pytest.raises(NotFoundError, match="does not exist") as err:
        missing.put("lab/x", b"x")
    assert kind(err.value) == "bucket_missing"

    closed = f"http://127.0.0.1:{free_port()}"
    nowhere = GcsAdapter().object_store(gs_spec("abc", endpoint=closed, auth=sa_auth(key)))
    with pytest.raises(StorageError, match=f"cannot reach the GCS endpoint {closed} while listing") as err:
        nowhere.is_empty("lab")
    assert kind(err.value) == "unreachable"

    deleted = gcs_token_endpoint.service_account_key(EMAIL, register=False)
    refused = GcsAdapter().object_store(gs_spec("abc", endpoint=gcs_emulator.endpoint, auth=sa_auth(deleted)))
    with pytest.raises(StorageError, match="Google refused a token") as err:
        refused.is_empty("lab")
    assert kind(err.value) == "keys_rejected" and pem_body(deleted) not in str(err.value)


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None


class ScriptedGcs:
    """An HTTP responder that answers every request with ``status`` and a GCS-style error body, and
    records what it was sent. It stands in for GCS where the emulator cannot answer."""

    def __init__(self) -> None:
        self.status = 404
        self.message = "No such object"
        self.seen: list[Seen] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.seen.append(Seen(self.command, self.path, self.headers.get("Authorization")))
                body = json.dumps({"error": {"code": outer.status, "message": outer.message}}).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def scripted_gcs() -> Iterator[ScriptedGcs]:
    server = ScriptedGcs()
    yield server
    server.close()


def test_gcs_answers_are_translated(scripted_gcs, gcs_token_endpoint):
    key = gcs_token_endpoint.service_account_key(EMAIL)
    store = GcsAdapter().object_store(gs_spec("abc", endpoint=scripted_gcs.endpoint, auth=sa_auth(key)))

    scripted_gcs.status, scripted_gcs.message = (
        412,
        "At least one of the pre-conditions you specified did not hold.",
    )
    with pytest.raises(PreconditionFailed):
        store.put_if_absent("lab/x", b"x")
    with pytest.raises(PreconditionFailed):
        store.put_if_match("lab/x", b"x", "1700000000000001")
    sent = scripted_gcs.seen[-1]
    assert sent.method == "POST" and "ifGenerationMatch=1700000000000001" in sent.path
    token = sent.authorization.removeprefix("Bearer ")
    assert gcs_token_endpoint.token_info(token)["scope"] == GCS_READ_WRITE  # the server's own handle writes

    scripted_gcs.status, scripted_gcs.message = 401, "Invalid Credentials"
    with pytest.raises(
        PermissionDeniedError, match=f"GCS rejected the credentials of service account {EMAIL}"
    ) as err:
        store.is_empty("lab")
    assert kind(err.value) == "keys_rejected" and "Invalid Credentials" in str(err.value)

    scripted_gcs.status, scripted_gcs.message = 403, f"{EMAIL} does not have storage.objects.list access"
    with pytest.raises(
        PermissionDeniedError, match=r"access denied .* grant it a role .*roles/storage.objectAdmin"
    ) as err:
        store.get("lab/x")
    assert kind(err.value) == "access_denied"

    scripted_gcs.status, scripted_gcs.message = 404, "The specified bucket does not exist."
    with pytest.raises(NotFoundError, match="check the bucket name"):
        store.delete("lab/x")  # an absent object is fine, an absent bucket is not

    scripted_gcs.status, scripted_gcs.message = 503, "Backend Error"
    with pytest.raises(StorageError, match="GCS answered HTTP 503 Backend Error while writing 'lab/x'"):
        store.put("lab/x", b"x")

    anonymous = GcsAdapter().object_store(gs_spec("abc", endpoint=scripted_gcs.endpoint))
    with pytest.raises(StorageError):
        anonymous.put("lab/x", b"x")
    assert scripted_gcs.seen[-1].authorization is None


# --------------------------------------------------------------------------------------------- Icechunk


@dataclass(frozen=True)
class MintReadToken:
    """A picklable refresh callable (like ``CatalogCredentials``) that mints a read-only token."""

    key: dict[str, Any]

    def __call__(self) -> GSCredentials:
        return mint_token(self.key, read_only=True)


def test_icechunk_sends_the_vended_token_and_refreshes_it(scripted_gcs, gcs_token_endpoint):
    """Icechunk's own GCS client (Rust object_store) at the wire: which bearer token it sends, and
    that it calls Floe's refresh callback for expired tokens, also after pickling."""
    spec = normalize(gs_spec("abc", endpoint=scripted_gcs.endpoint), POLICY)
    refresh = MintReadToken(gcs_token_endpoint.service_account_key(EMAIL))
    in_an_hour = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)

    def sent_after(storage: icechunk.Storage) -> Seen:
        scripted_gcs.seen.clear()
        assert icechunk.Repository.exists(storage) is False  # 404 on the branch ref: no repo
        assert scripted_gcs.seen, "Icechunk sent nothing to google_base_url"
        assert scripted_gcs.seen[0].path.startswith("/abc/lab%2Fr%2Frefs%2Fbranch%2Emain")
        return scripted_gcs.seen[0]

    fresh = GSCredentials(access_token="vended-fresh", principal=EMAIL, expiration=in_an_hour)
    assert sent_after(icechunk_storage(spec, "lab/r", fresh, refresh)).authorization == "Bearer vended-fresh"

    expired = GSCredentials(
        access_token="vended-expired", principal=EMAIL, expiration=in_an_hour - dt.timedelta(hours=2)
    )
    header = sent_after(icechunk_storage(spec, "lab/r", expired, refresh)).authorization
    assert header.startswith("Bearer ya29.test-"), header  # minted by the refresh callable
    assert gcs_token_endpoint.token_info(header.removeprefix("Bearer "))["scope"] == GCS_READ_ONLY

    # Icechunk pickles the callback with sessions (Dask ships them): it keeps no state but its inputs
    callback = pickle.loads(pickle.dumps(refreshing(refresh, expired)))
    renewed = callback()
    assert isinstance(renewed, icechunk.GcsBearerCredential) and renewed.bearer.startswith("ya29.test-")
    assert renewed.expires_after > in_an_hour - dt.timedelta(minutes=1)
    assert pickle.loads(pickle.dumps(refreshing(refresh, fresh)))().bearer == "vended-fresh"

    static = GSCredentials(access_token="no-expiry", principal=EMAIL)
    assert sent_after(icechunk_storage(spec, "lab/r", static)).authorization == "Bearer no-expiry"
    assert sent_after(icechunk_storage(spec, "lab/r", None)).authorization is None  # anonymous


def test_icechunk_still_cannot_use_the_emulator(gcs_emulator):
    """Why the GCS conformance case is skipped; fails (asking to drop the skip) once that changes."""
    assert "501" in SKIP_REASON
    bucket = gcs_emulator.create_bucket(unique_name("floetest"))  # no '-': object_store sends it as %2D
    spec = normalize(gs_spec(bucket, endpoint=gcs_emulator.endpoint), POLICY)
    storage = icechunk_storage(spec, "lab/r", GSCredentials(access_token="t", principal=EMAIL))
    try:
        icechunk.Repository.create(storage, config=ONE_TRY)
    except icechunk.IcechunkError as exc:
        assert f"GET {gcs_emulator.endpoint}/{bucket}?list-type=2" in str(exc)
        assert "501 Not Implemented" in str(exc)
    else:
        pytest.fail(
            "Icechunk created a repo on the GCS emulator: drop skip_reason in conformance/cases_gcs.py"
        )

    gcs_emulator.put(bucket, "lab/r/refs/branch.main/ref.json", b'{"snapshot":"1CECHNKREP0F1RSTCMT0"}')
    with pytest.raises(icechunk.IcechunkError, match="Last-Modified Header missing from response"):
        icechunk.Repository.exists(storage)


# --------------------------------------------------------------------------------------------- through Floe


def _register(admin: floe.Client, emulator, bucket: str, key: dict[str, Any]) -> floe.models.Bucket:
    return admin.create_bucket_config(
        org="default",
        nickname="gcs",
        uri=f"gs://{bucket}/lab",
        extra_config={"endpoint_url": emulator.endpoint},
        auth_config=sa_auth(key),
    )


def test_catalog_keeps_the_key_and_vends_scoped_tokens(
    floe_server_sqlite, gcs_emulator, gcs_bucket, gcs_token_endpoint
):
    server = floe_server_sqlite
    admin = floe.Client(service_uri=server.url, token=server.token)
    key = gcs_token_endpoint.service_account_key(EMAIL)
    secret = pem_body(key)

    broken = {**key, "private_key": key["private_key"][:200] + "\n-----END PRIVATE KEY-----\n"}
    with pytest.raises(floe.ValidationError, match=r"service_account_key.private_key cannot be read") as err:
        admin.create_bucket_config(
            org="default", nickname="broken", uri=f"gs://{gcs_bucket}", auth_config=sa_auth(broken)
        )
    assert secret[:40] not in str(err.value)
    with pytest.raises(floe.ValidationError, match="invalid bucket name 'Bad_Bucket'"):
        admin.create_bucket_config(
            org="default", nickname="bad", uri="gs://Bad_Bucket", auth_config=sa_auth(key)
        )

    bucket = _register(admin, gcs_emulator, gcs_bucket, key)
    assert bucket.platform == "gs" and bucket.name == gcs_bucket and bucket.prefix == "lab"
    assert bucket.auth_config["service_account_key"] == REDACTED
    assert bucket.auth_config["client_email"] == EMAIL
    for path in ("/orgs/default/buckets", "/orgs/default/buckets/gcs", f"/orgs/default/buckets/{bucket.id}"):
        text = admin._http.get(path).text
        assert EMAIL in text and secret not in text and "PRIVATE KEY" not in text, path

    # bucket-wide credentials (virtual chunks) are read-only tokens
    creds = GSCredentials.model_validate(
        admin._http.get(f"/orgs/default/buckets/{bucket.id}/credentials").json()
    )
    assert creds.principal == EMAIL
    assert gcs_token_endpoint.token_info(creds.access_token)["scope"] == GCS_READ_ONLY

    # a registered repo: writers get read-write tokens, viewers read-only ones, refreshes too
    response = admin._http.post("/orgs/default/repos", json={"name": "era5", "bucket_nickname": "gcs"})
    assert response.status_code in (200, 201), response.text
    prefix = response.json()["prefix"]
    assert prefix.startswith("lab/")
    # the emulator cannot answer Icechunk's listing, so the server cannot see a repo its creator made
    # there: ready it as the server's reaper does when it finds one (floe.server.catalog.creation)
    creation.mark_ready(server.catalog(), response.json()["_id"])
    viewer_token = admin.create_api_client("default", name="gcs-viewer", role="viewer").token
    viewer = floe.Client(service_uri=server.url, token=viewer_token)
    for client, scope in ((admin, GCS_READ_WRITE), (viewer, GCS_READ_ONLY)):
        opened = client._http.get("/repos/default/era5/open").json()
        vended = GSCredentials.model_validate(opened["repo_credentials"])
        assert vended.principal == EMAIL and vended.expiration > dt.datetime.now(dt.UTC)
        assert gcs_token_endpoint.token_info(vended.access_token)["scope"] == scope
        assert secret not in json.dumps(opened)
    refreshed = CatalogCredentials(service_uri=server.url, token=viewer_token, org="default", repo="era5")()
    assert isinstance(refreshed, GSCredentials)
    assert gcs_token_endpoint.token_info(refreshed.access_token)["scope"] == GCS_READ_ONLY

    # deleting the repo trashes it; purging deletes its objects through the server's handle, and nothing else
    for name in ("refs/branch.main/ref.json", "snapshots/A", "chunks/B"):
        gcs_emulator.put(gcs_bucket, f"{prefix}/{name}", b"data")
    gcs_emulator.put(gcs_bucket, "lab/not-floe/keep", b"data")
    admin.delete_repo("default/era5", imsure=True, imreallysure=True)
    assert len(gcs_emulator.list_keys(gcs_bucket, "lab/")) == 4
    assert admin.purge_repo("default/era5", imsure=True, imreallysure=True).objects_deleted == 3
    assert gcs_emulator.list_keys(gcs_bucket, "lab/") == ["lab/not-floe/keep"]
    admin.delete_bucket_config(org="default", nickname="gcs", imsure=True, imreallysure=True)
    log = server.log_text()
    assert secret not in log and "PRIVATE KEY" not in log


def test_create_repo_on_the_emulator_fails_cleanly(
    floe_server_sqlite, gcs_emulator, gcs_bucket, gcs_token_endpoint
):
    """The client's write path reaches Icechunk with a vended token; the emulator refuses Icechunk's
    listing (see cases_gcs.py), and Floe reports it and leaves nothing behind."""
    server = floe_server_sqlite
    admin = floe.Client(service_uri=server.url, token=server.token)
    _register(admin, gcs_emulator, gcs_bucket, gcs_token_endpoint.service_account_key(EMAIL))
    with pytest.raises(floe.StorageError, match="creating the Icechunk repo for default/era5 failed") as err:
        admin.create_repo("default/era5", bucket_config_nickname="gcs")
    assert re.search(r"501|list-type=2", str(err.value)), str(err.value)
    assert [r.name for r in admin.list_repos("default")] == []
    assert [k for k in gcs_emulator.list_keys(gcs_bucket) if "/.floe-probe/" not in k] == []
    assert "GET /repos/default/era5/open" in server.log_text()
