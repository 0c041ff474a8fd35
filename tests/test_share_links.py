"""Share links: read-only, expiring, revocable links to a repo, opened without an account.

Against real servers over HTTP: one SQLite server for the module (its default bucket config is a local
folder), an IAM-enforcing moto for the S3 case (a writer, a reader and a "reader" that can write, as in
``test_tenants.py``), and the basic life of a link once per database backend (``floe_server``).
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
import zarr
from botocore.exceptions import ClientError

import floe
from cli_runner import Floe
from floe.client.shared import SharedRepository
from services import (
    S3_READ_ACTIONS,
    InProcessFloe,
    MotoServer,
    bootstrap_token,
    running_floe_in_process,
    start_moto,
    unique_name,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFloe]:
    """One Floe server (SQLite) for the whole module."""
    with running_floe_in_process(tmp_path_factory.mktemp("share-server")) as srv:
        yield srv


@pytest.fixture(autouse=True)
def no_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No FLOE_* variables and an empty config directory: a link holder has no token anywhere."""
    for name in ("FLOE_TOKEN", "FLOE_SERVICE_URI", "FLOE_ORG"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "empty-config"
    monkeypatch.setenv("FLOE_CONFIG_DIR", str(path))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return path


@pytest.fixture(scope="module")
def admin(server: InProcessFloe) -> Iterator[floe.Client]:
    with floe.Client(service_uri=server.url, token=server.token) as client:
        yield client


def anonymous(server: InProcessFloe) -> httpx.Client:
    """An HTTP client that sends no token at all."""
    return httpx.Client(base_url=server.url, timeout=60, trust_env=False)


def write_repo(client: floe.Client, name: str, **kwargs) -> None:
    """A repo with ``x = [1, 2, 3, 4]`` tagged ``v1`` on main, then ``x = [5, 6, 7, 8]``."""
    repo = client.create_repo(name, **kwargs)
    session = repo.writable_session("main")
    array = zarr.create_array(session.store, name="x", shape=(4,), chunks=(2,), dtype="i4")
    array[:] = [1, 2, 3, 4]
    repo.create_tag("v1", session.commit("first"))
    session = repo.writable_session("main")
    zarr.open_array(session.store, path="x")[:] = [5, 6, 7, 8]
    session.commit("second")


def read_x(session) -> list[int]:
    return zarr.open_array(session.store, path="x", mode="r")[:].tolist()


@pytest.fixture(scope="module")
def local_repo(admin: floe.Client) -> str:
    name = f"default/{unique_name('shared-')}"
    write_repo(admin, name)
    return name


def token_of(url: str) -> str:
    return url.rsplit("/shared/", 1)[1]


# --------------------------------------------------------------------------------------------- opening


def test_a_link_opens_without_any_token_and_cannot_write(
    server: InProcessFloe, admin: floe.Client, local_repo: str, no_account: Path
):
    link = admin.share_repo(local_repo, expires_in="1h", ref="v1", note="for the workshop")
    assert link.url == f"{server.url}/shared/{link.token}" and link.token.startswith("fls_")
    assert link.status == "active" and link.ref == "v1" and link.uses == 0
    assert 3500 < (link.expires - link.created).total_seconds() <= 3600
    assert not no_account.exists()  # nothing stored anywhere: the link is all the reader has

    repo = floe.open_shared(link.url)
    assert isinstance(repo, SharedRepository) and isinstance(repo, floe.FloeRepository)
    assert repo.full_name == local_repo and repo.share_ref == "v1"
    assert read_x(repo.shared_session()) == [1, 2, 3, 4]  # the link's ref
    assert read_x(repo.readonly_session("main")) == [5, 6, 7, 8]  # the repo is readable as a whole
    assert floe.open_shared(link.url + "/").full_name == local_repo  # as pasted, with or without /open
    assert floe.open_shared(link.url + "/open").full_name == local_repo

    with pytest.raises(floe.RepoUnavailableError, match="read-only share link"):
        repo.writable_session("main")
    with pytest.raises(floe.RepoUnavailableError, match="read-only share link"):
        repo.create_branch("sneaky", repo.lookup_branch("main"))
    with pytest.raises(floe.RepoUnavailableError, match="read-only share link"):
        repo.reopen().writable_session("main")
    copy = pickle.loads(pickle.dumps(repo))  # as Dask ships it: still read-only, still at the link's ref
    assert copy.share_ref == "v1" and read_x(copy.shared_session()) == [1, 2, 3, 4]
    with pytest.raises(floe.RepoUnavailableError, match="read-only share link"):
        copy.writable_session("main")
    assert "sneaky" not in admin.get_repo(local_repo).list_branches()

    with anonymous(server) as http:
        answer = http.get(f"/shared/{link.token}/open", headers={"authorization": "Bearer ema_garbage"})
    assert answer.status_code == 200, answer.text  # a wrong Authorization header is simply ignored
    body = answer.json()
    assert body["repo"] == local_repo and body["ref"] == "v1" and body["platform"] == "file"
    assert body["credentials"] is None and body["auth_method"] == "none"
    assert answer.headers["cache-control"] == "no-store"


def test_the_landing_page_shows_what_the_link_opens(
    server: InProcessFloe, admin: floe.Client, local_repo: str
):
    link = admin.share_repo(local_repo, expires_in=600)
    with anonymous(server) as http:
        page = http.get(f"/shared/{link.token}", headers={"accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert local_repo in page.text and "main" in page.text and " UTC" in page.text
    assert (
        f"floe.open_shared(&#34;{link.url}&#34;)" in page.text
        or f'floe.open_shared("{link.url}")' in page.text
    )
    assert page.headers["cache-control"] == "no-store"
    assert admin.list_repo_shares(local_repo)[-1].uses == 0  # looking at the page is not a use


def test_uses_are_counted_and_audited_and_lists_never_show_tokens(
    server: InProcessFloe, admin: floe.Client, local_repo: str
):
    link = admin.share_repo(local_repo, expires_in="2d")
    floe.open_shared(link.url)
    floe.open_shared(link.url)
    listed = {s.id: s for s in admin.list_repo_shares(local_repo)}
    assert listed[link.id].uses == 2 and listed[link.id].last_used is not None
    assert listed[link.id].status == "active" and listed[link.id].created_by

    with httpx.Client(
        base_url=server.url, headers={"authorization": f"Bearer {server.token}"}, trust_env=False
    ) as http:
        raw = http.get(f"/repos/{local_repo}/shares", params={"include_revoked": "true"})
    assert raw.status_code == 200 and link.token not in raw.text and "token" not in raw.json()[0]

    uses = admin.list_audit_events("default", action="share.use", resource=local_repo, limit=200).items
    mine = [e for e in uses if e.detail.get("id") == link.id]
    assert len(mine) == 2 and all(e.actor is None and e.detail["read_only"] is True for e in mine)
    assert all(e.address == "127.0.0.1" for e in mine)
    created = admin.list_audit_events("default", action="share.create", resource=local_repo, limit=200).items
    assert any(e.detail.get("id") == link.id and e.actor for e in created)
    trail = json.dumps([e.model_dump(mode="json") for e in uses + created])
    assert link.token not in trail
    assert link.token not in server.log_text()  # the access log prints paths: the token is redacted there


# --------------------------------------------------------------------------------------------- refusals


def test_a_revoked_link_is_refused(server: InProcessFloe, admin: floe.Client, local_repo: str):
    link = admin.share_repo(local_repo, expires_in="1h")
    floe.open_shared(link.url)
    revoked = admin.unshare_repo(local_repo, link.id)
    assert revoked.status == "revoked" and revoked.revoked is not None
    assert admin.unshare_repo(local_repo, link.id).revoked == revoked.revoked  # again: nothing changes

    with anonymous(server) as http:
        answer = http.get(f"/shared/{link.token}/open")
        page = http.get(f"/shared/{link.token}")
    assert answer.status_code == 410, answer.text
    assert "revoked" in answer.json()["detail"] and answer.json()["error"] == "gone"
    assert page.status_code == 410 and "revoked" in page.text
    with pytest.raises(floe.GoneError, match="revoked") as caught:
        floe.open_shared(link.url)
    assert caught.value.status_code == 410 and isinstance(caught.value, floe.FloeError)

    assert link.id not in {s.id for s in admin.list_repo_shares(local_repo)}
    listed = {s.id: s for s in admin.list_repo_shares(local_repo, include_revoked=True)}
    assert listed[link.id].status == "revoked" and listed[link.id].uses == 1
    events = admin.list_audit_events("default", action="share", resource=local_repo, limit=200).items
    kinds = [(e.action, e.detail.get("reason")) for e in events if e.detail.get("id") == link.id]
    assert ("share.revoke", None) in kinds and ("share.refused", "revoked") in kinds


def test_an_expired_link_is_refused(server: InProcessFloe, admin: floe.Client, local_repo: str):
    link = admin.share_repo(local_repo, expires_in=1)
    time.sleep(1.2)
    with anonymous(server) as http:
        answer = http.get(f"/shared/{link.token}/open")
    assert answer.status_code == 410, answer.text
    detail = answer.json()["detail"]
    assert "expired on" in detail and "ask the repo's owner for a new one" in detail
    with pytest.raises(floe.GoneError, match="expired"):
        floe.open_shared(link.url)
    listed = {s.id: s for s in admin.list_repo_shares(local_repo)}
    assert listed[link.id].status == "expired" and listed[link.id].uses == 0


def test_unknown_links_are_not_found(server: InProcessFloe):
    with anonymous(server) as http:
        for token in ("fls_" + "x" * 43, "ema_not-a-share-link", "x"):
            answer = http.get(f"/shared/{token}/open")
            assert answer.status_code == 404 and "no such share link" in answer.json()["detail"], token
        assert http.get("/shared/fls_nothing-here").status_code == 404
    with pytest.raises(floe.NotFoundError, match="no such share link"):
        floe.open_shared(f"{server.url}/shared/fls_{'y' * 43}")
    for bad in (f"{server.url}/repos/default/x", "ftp://host/shared/fls_x", f"{server.url}/shared/ema_x"):
        with pytest.raises(floe.ValidationError, match="not a share link"):
            floe.open_shared(bad)


def test_expiry_is_required_and_bounded(server: InProcessFloe, admin: floe.Client, local_repo: str):
    with pytest.raises(floe.ValidationError, match="at most 90 days"):
        admin.share_repo(local_repo, expires_in="91d")
    with pytest.raises(floe.ValidationError, match="more than 0"):
        admin.share_repo(local_repo, expires_in=0)
    with pytest.raises(floe.ValidationError, match="invalid duration"):
        admin.share_repo(local_repo, expires_in="soon")
    with httpx.Client(
        base_url=server.url, headers={"authorization": f"Bearer {server.token}"}, trust_env=False
    ) as http:
        missing = http.post(f"/repos/{local_repo}/shares", json={})
        too_long = http.post(f"/repos/{local_repo}/shares", json={"expires_in": 91 * 86400})
        as_text = http.post(f"/repos/{local_repo}/shares", json={"expires_in": "12h", "ref": "main"})
    assert missing.status_code == 422 and "expires_in" in missing.json()["detail"]
    assert too_long.status_code == 422 and "90 days" in too_long.json()["detail"]
    assert as_text.status_code == 201 and as_text.json()["url"].endswith(as_text.json()["token"])


def test_only_repo_admins_manage_links(server: InProcessFloe, admin: floe.Client, local_repo: str):
    tokens = {
        role: admin.create_api_client("default", name=unique_name(f"{role}-"), role=role).token
        for role in ("viewer", "member")
    }
    link = admin.share_repo(local_repo, expires_in="1h")
    for token in tokens.values():
        with floe.Client(service_uri=server.url, token=token) as client:
            with pytest.raises(floe.PermissionDeniedError, match="repo:admin"):
                client.share_repo(local_repo, expires_in="1h")
            with pytest.raises(floe.PermissionDeniedError):
                client.list_repo_shares(local_repo)
            with pytest.raises(floe.PermissionDeniedError):
                client.unshare_repo(local_repo, link.id)
    # a member with an admin grant on this repo may share it
    granted = admin.create_api_client("default", name=unique_name("granted-"), role="member")
    admin.grant(local_repo, granted.name, "admin")
    with floe.Client(service_uri=server.url, token=granted.token) as client:
        assert client.share_repo(local_repo, expires_in="1h").status == "active"
    with pytest.raises(floe.NotFoundError):
        admin.unshare_repo(local_repo, "00000000-0000-0000-0000-000000000000")


def test_links_that_could_not_be_honoured_are_refused(
    server: InProcessFloe, admin: floe.Client, moto: MotoServer
):
    bucket = moto.create_bucket(unique_name("share-"))
    headers = {"authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60, trust_env=False) as http:
        for nickname, body in (
            ("mem", {"platform": "memory", "name": "scratch"}),
            (
                "env",
                {
                    "platform": "s3-compatible",
                    "name": bucket,
                    "prefix": "env",
                    "extra_config": {"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
                    "auth_config": {"method": "from_env"},
                },
            ),
        ):
            made = http.post("/orgs/default/buckets", json={"nickname": nickname, **body})
            assert made.status_code == 201, made.text
            repo = http.post(
                "/orgs/default/repos", json={"name": f"on-{nickname}", "bucket_nickname": nickname}
            )
            assert repo.status_code == 201, repo.text
    with pytest.raises(floe.ValidationError, match="memory storage"):
        admin.share_repo("default/on-mem", expires_in="1h")
    with pytest.raises(floe.ValidationError, match="server's own credentials are never handed out") as caught:
        admin.share_repo("default/on-env", expires_in="1h")
    assert "floe services enable default zarr --repo on-env" in caught.value.message


# --------------------------------------------------------------------------------------------- S3 keys


@pytest.fixture(scope="module")
def iam_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MotoServer, str, dict]]:
    """A moto server that enforces IAM, with a bucket and three users: a writer, a reader (get and
    list only) and a "reader" whose policy lets it write."""
    moto = start_moto(tmp_path_factory.mktemp("share-iam-moto"), unauthenticated_requests=40)
    kw = {"endpoint_url": moto.endpoint, "region_name": "us-east-1"}
    setup = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup", **kw}
    bucket = unique_name("share-iam-")
    boto3.client("s3", **setup).create_bucket(Bucket=bucket)
    iam = boto3.client("iam", **setup)
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
            boto3.client("s3", **setup).list_buckets()
        except ClientError:
            break
    else:
        raise AssertionError("moto never started enforcing IAM")
    yield moto, bucket, keys
    moto.stop()


def _hmac(keys: dict, read: str | None = None) -> dict:
    auth = {"method": "hmac", "access_key_id": keys["writer"][0], "secret_access_key": keys["writer"][1]}
    if read:
        auth |= {"read_access_key_id": keys[read][0], "read_secret_access_key": keys[read][1]}
    return auth


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


def test_s3_links_hand_out_the_read_only_pair_and_never_keys_that_write(
    server: InProcessFloe, admin: floe.Client, iam_moto
):
    moto, bucket, keys = iam_moto
    extra = {"endpoint_url": moto.endpoint, "region_name": "us-east-1"}
    for nickname, read in (("iam-read", "reader"), ("iam-leaky", "leaky"), ("iam-write", None)):
        admin.create_bucket_config(
            org="default",
            nickname=nickname,
            uri=f"s3://{bucket}/{nickname}",
            extra_config=extra,
            auth_config=_hmac(keys, read),
        )
    name = f"default/{unique_name('s3-')}"
    write_repo(admin, name, bucket_config_nickname="iam-read")

    link = admin.share_repo(name, expires_in="1d")
    with anonymous(server) as http:
        answer = http.get(f"/shared/{link.token}/open")
    assert answer.status_code == 200, answer.text
    creds = answer.json()["credentials"]
    assert creds["aws_access_key_id"] == keys["reader"][0]  # the read-only pair ...
    assert (
        keys["writer"][0] not in answer.text and keys["writer"][1] not in answer.text
    )  # ... never the writer's
    assert not _can_put(creds, moto.endpoint, bucket, "iam-read/intruder")  # and it cannot write
    repo = floe.open_shared(link.url)
    assert read_x(repo.shared_session()) == [5, 6, 7, 8]
    with pytest.raises(floe.RepoUnavailableError):
        repo.writable_session("main")

    # configs whose "read-only" pair can write, or that have none, cannot be shared
    for nickname, words in (
        ("iam-leaky", "read-only key pair can write"),
        ("iam-write", "only keys that can write"),
    ):
        other = f"default/{unique_name('s3-')}"
        admin.create_repo(other, bucket_config_nickname=nickname)
        with pytest.raises(floe.ValidationError, match=words) as caught:
            admin.share_repo(other, expires_in="1d")
        assert f"floe bucket modify {nickname}" in caught.value.message or nickname == "iam-leaky"
        assert "floe services enable" in caught.value.message

    # the check runs again at every use: a config that loses its read-only pair stops the link
    admin.modify_bucket_config(org="default", nickname="iam-read", auth_config=_hmac(keys))
    with anonymous(server) as http:
        answer = http.get(f"/shared/{link.token}/open")
    assert answer.status_code == 422 and "only keys that can write" in answer.json()["detail"], answer.text
    assert keys["writer"][0] not in answer.text
    admin.modify_bucket_config(org="default", nickname="iam-read", auth_config=_hmac(keys, "reader"))


# --------------------------------------------------------------------------------------------- Azure


def test_azure_links_hand_out_a_read_only_sas(server: InProcessFloe, admin: floe.Client, azurite):
    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import ContainerClient

    container = azurite.create_container()
    extra = {"account_name": azurite.account_name, "endpoint_url": azurite.blob_endpoint}
    admin.create_bucket_config(
        org="default",
        nickname="az-share",
        uri=f"az://{container}/lab",
        extra_config=extra,
        auth_config={
            "method": "azure_account_key",
            "account_name": azurite.account_name,
            "account_key": azurite.account_key,
        },
    )
    name = f"default/{unique_name('az-')}"
    write_repo(admin, name, bucket_config_nickname="az-share")
    link = admin.share_repo(name, expires_in="1h")
    with anonymous(server) as http:
        answer = http.get(f"/shared/{link.token}/open")
    assert answer.status_code == 200, answer.text
    sas = answer.json()["credentials"]["sas_token"]
    assert azurite.account_key not in answer.text
    as_reader = ContainerClient(azurite.blob_endpoint, container, credential=sas)
    with pytest.raises(HttpResponseError) as refused:
        as_reader.upload_blob("lab/intruder", b"a link may not write")
    assert refused.value.status_code == 403
    assert read_x(floe.open_shared(link.url).shared_session()) == [5, 6, 7, 8]

    # a SAS that may write is never handed out through a link
    admin.create_bucket_config(
        org="default",
        nickname="az-sas-rw",
        uri=f"az://{container}/other",
        extra_config=extra,
        auth_config={
            "method": "azure_sas",
            "account_name": azurite.account_name,
            "sas_token": azurite.container_sas(container, "racwdl"),
        },
    )
    other = f"default/{unique_name('az-')}"
    admin.create_repo(other, bucket_config_nickname="az-sas-rw")
    with pytest.raises(floe.ValidationError, match="SAS token that may change data"):
        admin.share_repo(other, expires_in="1h")


# --------------------------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_server(postgres, floe_in_process_factory) -> Iterator[InProcessFloe]:
    """A Floe server on a fresh PostgreSQL database (the module server covers SQLite)."""
    database = unique_name("floe_share_")
    server = floe_in_process_factory(database_url=postgres.create_database(database))
    yield server
    server.stop()
    postgres.drop_database(database)


@pytest.mark.postgres
def test_a_link_lives_and_dies_on_postgresql(pg_server: InProcessFloe):
    with floe.Client(service_uri=pg_server.url, token=pg_server.token) as client:
        name = f"default/{unique_name('db-')}"
        write_repo(client, name)
        link = client.share_repo(name, expires_in="30m", ref="main")
        assert read_x(floe.open_shared(link.url).shared_session()) == [5, 6, 7, 8]
        floe.open_shared(link.url)
        assert client.list_repo_shares(name)[0].uses == 2
        short = client.share_repo(name, expires_in=1)
        client.unshare_repo(name, link.id)
        with pytest.raises(floe.GoneError, match="revoked"):
            floe.open_shared(link.url)
        time.sleep(1.2)
        with pytest.raises(floe.GoneError, match="expired"):
            floe.open_shared(short.url)
        # deleting the repo ends its links
        other = client.share_repo(name, expires_in="30m")
        client.delete_repo(name, imsure=True, imreallysure=True)
        with pytest.raises(floe.NotFoundError):
            floe.open_shared(other.url)


# --------------------------------------------------------------------------------------------- the CLI


def test_cli_share_shares_unshare(server: InProcessFloe, admin: floe.Client, local_repo: str, tmp_path: Path):
    run = Floe(server, tmp_path / "cli-config", in_process=True)
    made = run.ok(
        "repo", "share", local_repo, "--expires-in", "7d", "--ref", "v1", "--note", "cli", "--json"
    ).json()
    assert made["url"].startswith(f"{server.url}/shared/fls_") and made["ref"] == "v1"
    plain = run.ok("repo", "share", local_repo, "--expires-in", "12h")
    url = next(line for line in plain.out.splitlines() if line.startswith(f"{server.url}/shared/"))
    assert "floe.open_shared(" in plain.out and "floe repo unshare" in plain.out
    assert read_x(floe.open_shared(url).shared_session()) == [5, 6, 7, 8]

    listed = run.ok("repo", "shares", local_repo, "--json")
    assert made["id"] in {s["id"] for s in listed.json()}
    assert made["token"] not in listed.out and token_of(url) not in listed.out
    table = run.ok("repo", "shares", local_repo)
    assert made["id"] in table.out and "active" in table.out

    done = run.ok("repo", "unshare", local_repo, made["id"])
    assert "Revoked share link" in done.out
    everything = admin.list_repo_shares(local_repo, include_revoked=True)
    assert {s.id: s.status for s in everything}[made["id"]] == "revoked"

    too_long = run("repo", "share", local_repo, "--expires-in", "100d")
    assert too_long.code == 2 and "90 days" in too_long.err
    viewer = admin.create_api_client("default", name=unique_name("cli-viewer-"), role="viewer").token
    refused = run("repo", "share", local_repo, "--expires-in", "1h", token=viewer)
    assert (
        refused.code == 1 and refused.err.startswith("error:") and len(refused.err.strip().splitlines()) == 1
    )


# --------------------------------------------------------------------------------------------- web pages


def test_repo_admins_manage_links_in_the_browser(server: InProcessFloe, admin: floe.Client, local_repo: str):
    from browser import PASSWORD, Browser, error_text, form

    site = floe.Client(service_uri=server.url, token=bootstrap_token(server))
    people = {}
    for role in ("admin", "viewer"):
        people[role] = f"{unique_name(f'web-{role}-')}@example.org"
        site.create_user(people[role], f"Web {role.title()}", password=PASSWORD)
        site.set_member("default", people[role], role)
    site.close()
    page_url = f"/{local_repo}/-/shares"
    with Browser(server.url) as browser:
        assert browser.sign_in(people["admin"], PASSWORD).status_code == 303
        page = browser.get(page_url)
        assert page.status_code == 200 and "Create a link" in page.text
        fields = form(page, page_url)["fields"]
        refused = browser.post(page_url, data={**fields, "expires_in": "120d"})
        assert refused.status_code == 422 and "90 days" in error_text(refused)
        missing_csrf = browser.post(page_url, data={**fields, "csrf": "forged"})
        assert missing_csrf.status_code == 403
        made = browser.post(page_url, data={**fields, "expires_in": "2h", "note": "from the web"})
        assert made.status_code == 201, made.text
        url = made.text.split('<code id="new-link">', 1)[1].split("</code>", 1)[0]
        assert url.startswith(f"{server.url}/shared/fls_")
        assert read_x(floe.open_shared(url).shared_session()) == [5, 6, 7, 8]
        link = next(s for s in admin.list_repo_shares(local_repo) if s.note == "from the web")
        revoke = f"{page_url}/{link.id}/revoke"
        done = browser.post(revoke, data=form(made, revoke)["fields"])
        assert done.status_code == 303 and done.headers["location"] == f"{page_url}?done=revoked"
        assert token_of(url) not in browser.get(page_url).text  # the list never shows a link again
    with pytest.raises(floe.GoneError, match="revoked"):
        floe.open_shared(url)
    with Browser(server.url) as viewer:
        assert viewer.sign_in(people["viewer"], PASSWORD).status_code == 303
        assert viewer.get(page_url).status_code == 403
