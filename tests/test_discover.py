"""Finding the Icechunk repos under a bucket config (``floe bucket ls``, ``Client.list_bucket_repos``).

One Floe server for the module; per platform (a local folder, the moto S3 server, Azurite) a bucket
config holding: repos registered through Floe (one of them named like a repo written outside it),
Icechunk repos written directly with icechunk (one at the top, one nested two levels deep), and
folders of plain objects (one with a ``refs/`` folder but no ``snapshots/``). The server must find
exactly the repos, name the registered ones, count snapshots and bytes, and register the others on
``--import`` without overwriting anything; other orgs' members and viewers are refused.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import icechunk
import numpy as np
import pytest
import zarr

import floe
from cli_runner import Floe
from floe.client._discover import repo_name_for
from services import (
    AzuriteServer,
    InProcessFloe,
    MotoServer,
    bootstrap_token,
    start_floe_in_process,
    unique_name,
)


@dataclass
class World:
    server: InProcessFloe
    admin: floe.Client
    site: floe.Client
    member: floe.Client
    viewer: floe.Client
    rival: floe.Client
    cli: Floe


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("discover")
    server = start_floe_in_process(base / "data")
    try:
        admin = floe.Client(service_uri=server.url, token=server.token)
        site = floe.Client(service_uri=server.url, token=bootstrap_token(server))
        site.create_org("rival")
        member = admin.create_api_client("default", name="disc-member", role="member").token
        viewer = admin.create_api_client("default", name="disc-viewer", role="viewer").token
        rival = site.create_api_client("rival", name="rival-member", role="member").token
        yield World(
            server=server,
            admin=admin,
            site=site,
            member=floe.Client(service_uri=server.url, token=member),
            viewer=floe.Client(service_uri=server.url, token=viewer),
            rival=floe.Client(service_uri=server.url, token=rival),
            cli=Floe(server, base / "cli-config", in_process=True),
        )
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------- platforms


@dataclass
class Place:
    """A bucket config's storage, seen from outside Floe: write icechunk repos and plain objects, add up sizes."""

    nickname: str
    bucket_config: dict
    prefix: str  # the bucket config's prefix inside the bucket
    storage: Callable[[str], icechunk.Storage]  # full prefix -> icechunk storage
    put: Callable[[str, bytes], None]  # full key -> write
    sizes: Callable[[str], dict[str, int]]  # full prefix -> {key: size}


def _local(world: World) -> Place:
    root = Path(world.server.data_dir) / "storage" / "default" / f"disc-{uuid.uuid4().hex[:6]}"
    root.mkdir(parents=True)

    def put(key: str, data: bytes) -> None:
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)

    def sizes(prefix: str) -> dict[str, int]:
        found = {}
        for folder, _, files in os.walk(root / prefix):
            for name in files:
                path = Path(folder) / name
                found[str(path.relative_to(root))] = path.stat().st_size
        return found

    return Place(
        nickname="disc-file",
        bucket_config={"uri": f"file://{root}"},
        prefix="",
        storage=lambda prefix: icechunk.local_filesystem_storage(str(root / prefix)),
        put=put,
        sizes=sizes,
    )


def _s3(moto: MotoServer) -> Place:
    bucket = moto.create_bucket(unique_name("floe-disc-"))
    s3 = moto.s3_client()

    def sizes(prefix: str) -> dict[str, int]:
        found = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
            found.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
        return found

    return Place(
        nickname="disc-s3",
        bucket_config={
            "uri": f"s3://{bucket}/lab",
            "extra_config": {"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
            "auth_config": {"method": "hmac", "access_key_id": "testing", "secret_access_key": "disc-secret"},
        },
        prefix="lab",
        storage=lambda prefix: icechunk.s3_storage(
            bucket=bucket,
            prefix=prefix,
            endpoint_url=moto.endpoint,
            region="us-east-1",
            allow_http=True,
            force_path_style=True,
            access_key_id="testing",
            secret_access_key="disc-secret",
        ),
        put=lambda key, data: s3.put_object(Bucket=bucket, Key=key, Body=data),
        sizes=sizes,
    )


def _azure(azurite: AzuriteServer) -> Place:
    container = azurite.create_container()
    client = azurite.service_client().get_container_client(container)
    sas = azurite.container_sas(container, "racwdl")

    def sizes(prefix: str) -> dict[str, int]:
        return {b.name: b.size for b in client.list_blobs(name_starts_with=f"{prefix}/")}

    return Place(
        nickname="disc-azure",
        bucket_config={
            "uri": f"az://{container}/lab",
            "extra_config": {"account_name": azurite.account_name, "endpoint_url": azurite.blob_endpoint},
            "auth_config": {
                "method": "azure_account_key",
                "account_name": azurite.account_name,
                "account_key": azurite.account_key,
            },
        },
        prefix="lab",
        storage=lambda prefix: icechunk.azure_storage(
            account=azurite.account_name,
            container=container,
            prefix=prefix,
            sas_token=sas,
            config={"azure_storage_endpoint": azurite.blob_endpoint, "azure_allow_http": "true"},
        ),
        put=lambda key, data: client.upload_blob(key, data, overwrite=True),
        sizes=sizes,
    )


@pytest.fixture(params=["file", "s3", "azure"])
def place(request, world: World) -> Place:
    if request.param == "file":
        return _local(world)
    if request.param == "s3":
        return _s3(request.getfixturevalue("moto"))
    return _azure(request.getfixturevalue("azurite"))


def _commit(session, values) -> None:
    zarr.create_array(session.store, name="x", shape=(4,), chunks=(2,), dtype="i4", overwrite=True)[:] = (
        values
    )
    session.commit(f"write {values}")


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


# --------------------------------------------------------------------------------------------- the tests


def test_discover_finds_registered_and_unregistered_repos_and_imports(world: World, place: Place):
    admin, tag = world.admin, place.nickname.removeprefix("disc-")
    admin.create_bucket_config(org="default", nickname=place.nickname, **place.bucket_config)

    # registered through Floe, committed twice (3 snapshots with the initial one)
    registered = admin.create_repo(f"default/reg-{tag}", bucket_config_nickname=place.nickname)
    for values in ([1, 2, 3, 4], [5, 6, 7, 8]):
        _commit(registered.writable_session("main"), values)
    reg_prefix = admin.get_repo_object(f"default/reg-{tag}").prefix
    # a registered repo whose name the nested unregistered one would take
    admin.create_repo(f"default/beta-{tag}", bucket_config_nickname=place.nickname)

    # written directly with icechunk, outside Floe
    alpha = icechunk.Repository.create(place.storage(_join(place.prefix, f"loose/alpha-{tag}")))
    _commit(alpha.writable_session("main"), [9, 9, 9, 9])
    icechunk.Repository.create(place.storage(_join(place.prefix, f"projects/2024/beta-{tag}")))
    # plain objects, one folder with refs/ but no snapshots/
    for key in ("notes/readme.txt", "notes/refs/branch.main/ref.json", "notes/deeper/data.bin"):
        place.put(_join(place.prefix, key), b"not a repo")

    found = admin.list_bucket_repos("default", place.nickname)
    assert found.org == "default" and found.nickname == place.nickname and not found.truncated, found
    by_prefix = {r.prefix: r for r in found.repos}
    rel_reg = reg_prefix.removeprefix(place.prefix + "/") if place.prefix else reg_prefix
    beta_prefix = next(p for p in by_prefix if p.endswith(f"-beta-{tag}"))  # Floe's own random prefix
    assert set(by_prefix) == {rel_reg, beta_prefix, f"loose/alpha-{tag}", f"projects/2024/beta-{tag}"}
    assert not any(p.startswith("notes") for p in by_prefix)

    reg = by_prefix[rel_reg]
    assert reg.catalog_name == f"default/reg-{tag}" and reg.full_prefix == reg_prefix
    assert reg.snapshot_count == 3
    assert reg.size_bytes == sum(place.sizes(reg_prefix).values()) > 0
    assert reg.object_count == len(place.sizes(reg_prefix))
    assert by_prefix[beta_prefix].catalog_name == f"default/beta-{tag}"
    loose = by_prefix[f"loose/alpha-{tag}"]
    assert loose.catalog_name is None and not loose.registered_elsewhere
    assert loose.full_prefix == _join(place.prefix, f"loose/alpha-{tag}")
    assert loose.snapshot_count == 2 and loose.size_bytes == sum(place.sizes(loose.full_prefix).values())
    assert by_prefix[f"projects/2024/beta-{tag}"].snapshot_count == 1

    # a prefix below the bucket config's narrows the search; members may search too
    narrow = world.member.list_bucket_repos("default", place.nickname, prefix="projects")
    assert [r.prefix for r in narrow.repos] == [f"projects/2024/beta-{tag}"] and narrow.prefix == "projects"

    # import: the loose one is registered, the nested one's name is taken (reported, skipped); through
    # the CLI on the local folder (its table first), through the client elsewhere
    if tag == "file":
        table = world.cli.ok("bucket", "ls", place.nickname, "--org", "default").out
        assert f"loose/alpha-{tag}" in table and "not registered" in table and f"default/reg-{tag}" in table
        assert "notes" not in table
        done = world.cli.ok("bucket", "ls", place.nickname, "--org", "default", "--import", "--json").json()
    else:
        done = world.member.import_bucket_repos("default", place.nickname).model_dump(mode="json")
    outcomes = {o["prefix"]: o for o in done["outcomes"]}
    assert outcomes[f"loose/alpha-{tag}"]["status"] == "imported"
    assert outcomes[f"loose/alpha-{tag}"]["name"] == f"default/alpha-{tag}"
    clash = outcomes[f"projects/2024/beta-{tag}"]
    assert (
        clash["status"] == "skipped"
        and "collision" in clash["reason"]
        and "already exists" in clash["reason"]
    )
    assert outcomes[rel_reg] == {**outcomes[rel_reg], "status": "registered", "name": f"default/reg-{tag}"}

    imported = admin.get_repo(f"default/alpha-{tag}")
    got = zarr.open_array(imported.readonly_session("main").store, path="x")[:]
    np.testing.assert_array_equal(got, [9, 9, 9, 9])
    untouched = admin.get_repo_object(f"default/beta-{tag}")
    assert untouched.prefix == _join(place.prefix, beta_prefix)  # never overwritten

    again = admin.list_bucket_repos("default", place.nickname)
    names = {r.prefix: r.catalog_name for r in again.repos}
    assert names[f"loose/alpha-{tag}"] == f"default/alpha-{tag}"
    assert names[f"projects/2024/beta-{tag}"] is None


def test_who_may_search_and_clear_refusals(world: World):
    place = _local(world)
    world.admin.create_bucket_config(org="default", nickname="disc-perm", **place.bucket_config)
    icechunk.Repository.create(place.storage("one"))
    assert [r.prefix for r in world.member.list_bucket_repos("default", "disc-perm").repos] == ["one"]
    bucket_id = world.admin.get_bucket_config(org="default", nickname="disc-perm").id
    by_id = httpx.get(
        f"{world.server.url}/orgs/default/buckets/{bucket_id}/discover",
        headers={"authorization": f"Bearer {world.server.token}"},
        trust_env=False,
    )
    assert by_id.status_code == 200 and by_id.json()["nickname"] == "disc-perm"

    with pytest.raises(floe.PermissionDeniedError, match="may not do bucket:use"):
        world.viewer.list_bucket_repos("default", "disc-perm")
    with pytest.raises(floe.NotFoundError, match="org 'default' not found"):
        world.rival.list_bucket_repos("default", "disc-perm")
    with pytest.raises(floe.NotFoundError, match="bucket config 'nope' not found in org 'default'"):
        world.admin.list_bucket_repos("default", "nope")
    with pytest.raises(floe.ValidationError, match="invalid prefix"):
        world.admin.list_bucket_repos("default", "disc-perm", prefix="../etc")

    world.admin.create_bucket_config(org="default", nickname="disc-mem", uri="memory://scratch")
    with pytest.raises(floe.ValidationError, match="the server cannot look inside it"):
        world.admin.list_bucket_repos("default", "disc-mem")

    bucket = "floe-disc-env"
    world.admin.create_bucket_config(
        org="default",
        nickname="disc-env",
        uri=f"s3://{bucket}",
        extra_config={"endpoint_url": "http://127.0.0.1:9", "region_name": "us-east-1"},
        auth_config={"method": "from_env"},
    )
    with pytest.raises(floe.ValidationError, match="allow-server-credentials"):
        world.admin.list_bucket_repos("default", "disc-env")

    # the CLI says so in one line, exit 1
    refused = world.cli("bucket", "ls", "nope", "--org", "default")
    assert (
        refused.code == 1 and refused.err.count("\n") == 1 and "bucket config 'nope' not found" in refused.err
    )
    audit = world.admin.list_audit_events("default", action="bucket.discover")
    assert any(e.resource == "default/buckets/disc-perm" for e in audit.items)


@pytest.mark.parametrize(
    ("prefix", "name"),
    [
        ("lab/era5", "era5"),
        ("a/b/ERA5 v2", "era5-v2"),
        ("x/My_Data.zarr", "my_data.zarr"),
        ("x/--weird--name..", "weird-name"),
        ("x/é", None),
        ("x/a", None),
        ("", None),
    ],
)
def test_repo_names_from_prefixes(prefix, name):
    assert repo_name_for(prefix) == name
