"""Copying and moving repos between bucket configs (``Client.copy_repo`` / ``move_repo``, ``floe repo
copy`` / ``move``): real Floe server, the moto S3 server and Azurite; the copy goes through vended
credentials only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

import floe
from floe.errors import ConflictError, RepoUnavailableError
from floe.models.transfers import CopyProgress

ROOT = Path(__file__).resolve().parent.parent
HMAC = {"method": "hmac", "access_key_id": "testing", "secret_access_key": "testing"}


def _s3_config(client: floe.Client, moto, bucket: str, nickname: str = "s3c") -> None:
    client.create_bucket_config(
        org="default",
        nickname=nickname,
        uri=f"s3://{bucket}/copies",
        extra_config={"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
        auth_config=HMAC,
    )


def _azure_config(client: floe.Client, azurite, nickname: str = "azc") -> str:
    container = azurite.create_container()
    client.create_bucket_config(
        org="default",
        nickname=nickname,
        uri=f"az://{container}/lab",
        extra_config={"account_name": azurite.account_name, "endpoint_url": azurite.blob_endpoint},
        auth_config={
            "method": "azure_account_key",
            "account_name": azurite.account_name,
            "account_key": azurite.account_key,
        },
    )
    return container


def _history(client: floe.Client, name: str, *, chunks: int = 4) -> dict[str, np.ndarray]:
    """A repo with three commits on main, a branch ``dev`` with one more, and a tag ``v1``."""
    repo = client.create_repo(name, description="copied", metadata={"project": "copy"})
    expected = {}
    rng = np.random.default_rng(0)  # random: chunks do not compress below Icechunk's inlining threshold
    for i in range(3):
        session = repo.writable_session("main")
        data = rng.random(chunks * 128)
        zarr.create_array(session.store, name=f"a{i}", shape=data.shape, chunks=(128,), dtype="f8")[:] = data
        snapshot = session.commit(f"commit {i}")
        expected[f"main/a{i}"] = data
        if i == 1:
            repo.create_tag("v1", snapshot)
    repo.create_branch("dev", repo.lookup_branch("main"))
    session = repo.writable_session("dev")
    dev = rng.random(chunks * 128)
    zarr.create_array(session.store, name="dev", shape=dev.shape, chunks=(128,), dtype="f8")[:] = dev
    session.commit("on dev")
    expected["dev/dev"] = dev
    return expected


def _refs(repo) -> dict[str, str]:
    found = {f"branch.{b}": repo.lookup_branch(b) for b in repo.list_branches()}
    found.update({f"tag.{t}": repo.lookup_tag(t) for t in repo.list_tags()})
    return found


def _check_data(repo, expected: dict[str, np.ndarray]) -> None:
    for key, data in expected.items():
        branch, array = key.split("/")
        got = zarr.open_array(repo.readonly_session(branch).store, path=array)[:]
        np.testing.assert_array_equal(got, data)


def test_copy_local_to_s3_then_s3_to_azure(floe_server_sqlite, moto, s3_bucket, azurite):
    client = floe.Client(service_uri=floe_server_sqlite.url, token=floe_server_sqlite.token)
    _s3_config(client, moto, s3_bucket)
    _azure_config(client, azurite)
    expected = _history(client, "default/era5")
    source = client.get_repo("default/era5")
    seen: list[CopyProgress] = []

    first = client.copy_repo(
        "default/era5", "default/era5-s3", bucket_config_nickname="s3c", progress=seen.append
    )
    copied = client.get_repo("default/era5-s3")
    assert _refs(copied) == _refs(source) and len(_refs(source)) == 3
    assert first.refs == _refs(source)
    _check_data(copied, expected)
    assert first.repo.bucket.nickname == "s3c" and first.repo.status.mode == "online"
    assert first.repo.description == "copied" and first.repo.metadata == {"project": "copy"}
    assert first.objects == first.copied_objects > 10 and first.skipped_objects == 0
    assert seen[-1].objects_done == first.objects and seen[-1].bytes_done == first.bytes
    # the history itself, not only the tips
    assert [s.id for s in copied.ancestry(branch="dev")] == [s.id for s in source.ancestry(branch="dev")]

    second = client.copy_repo(
        "default/era5-s3", "default/era5-az", bucket_config_nickname="azc", prefix="here", concurrency=3
    )
    on_azure = client.get_repo("default/era5-az")
    assert _refs(on_azure) == _refs(source)
    _check_data(on_azure, expected)
    assert second.repo.prefix == "lab/here" and second.objects == first.objects

    # a destination name that is taken: a clear 409, nothing touched
    with pytest.raises(ConflictError, match="already exists"):
        client.copy_repo("default/era5", "default/era5-az", bucket_config_nickname="s3c")
    assert _refs(client.get_repo("default/era5-az")) == _refs(source)


def _cli_env(server, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOE_")}
    env.update(
        FLOE_SERVICE_URI=server.url,
        FLOE_TOKEN=server.token,
        FLOE_CONFIG_DIR=str(cache.parent / "cfg"),
        FLOE_CACHE_DIR=str(cache),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        COLUMNS="200",
    )
    return env


def _copy_cmd(*extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "floe",
        "repo",
        "copy",
        "default/big",
        "default/big-s3",
        "--bucket",
        "s3c",
        *extra,
    ]


def _journal_lines(cache: Path) -> int:
    return (
        sum(len(p.read_text().splitlines()) for p in (cache / "copies").glob("*.jsonl"))
        if (cache / "copies").exists()
        else 0
    )


def test_interrupted_copy_resumes_and_ends_verified(floe_server_sqlite, moto, s3_bucket, tmp_path):
    server = floe_server_sqlite
    client = floe.Client(service_uri=server.url, token=server.token)
    _s3_config(client, moto, s3_bucket)
    expected = _history(client, "default/big", chunks=120)  # about 500 objects
    cache = tmp_path / "cache"
    env = _cli_env(server, cache)

    process = subprocess.Popen(
        _copy_cmd("--concurrency", "1"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    deadline = time.monotonic() + 60
    while _journal_lines(cache) < 40 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the copy ended before it could be interrupted"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    # half copied: nobody can open it, and it says why
    with pytest.raises(RepoUnavailableError, match="being copied from default/big"):
        client.get_repo("default/big-s3")
    answer = client._http.get("/repos/default/big-s3/open")
    assert answer.status_code == 423 and "being copied from default/big" in answer.json()["detail"]

    done = subprocess.run(_copy_cmd("--json"), env=env, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["resumed"] is True and result["skipped_objects"] >= 39
    assert result["copied_objects"] + result["skipped_objects"] == result["objects"]
    copied = client.get_repo("default/big-s3")
    source = client.get_repo("default/big")
    assert _refs(copied) == _refs(source) == result["refs"]
    _check_data(copied, expected)

    # a third run of the same copy: the name is now an ordinary repo
    again = subprocess.run(_copy_cmd(), env=env, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_move_switches_location_and_trashes_the_old_one(floe_server_sqlite, moto, s3_bucket):
    client = floe.Client(service_uri=floe_server_sqlite.url, token=floe_server_sqlite.token)
    _s3_config(client, moto, s3_bucket)
    expected = _history(client, "default/mover")
    before = client.get_repo_object("default/mover")
    refs = _refs(client.get_repo("default/mover"))
    old_folder = Path(before.bucket.name) / before.prefix
    old_files = sorted(p.relative_to(old_folder) for p in old_folder.rglob("*") if p.is_file())

    result = client.move_repo("default/mover", bucket_config_nickname="s3c", prefix="moved")
    after = client.get_repo_object("default/mover")
    assert after.id == before.id and after.bucket.nickname == "s3c" and after.prefix == "copies/moved"
    assert after.status.mode == "online" and after.metadata == before.metadata
    moved = client.get_repo("default/mover")
    assert _refs(moved) == refs
    _check_data(moved, expected)
    assert result.trash_id and result.refs == refs

    trashed = [e for e in client.list_trash("default") if e.id == result.trash_id]
    assert len(trashed) == 1
    assert trashed[0].reason == "moved" and trashed[0].prefix == before.prefix
    assert trashed[0].bucket_nickname == before.bucket.nickname
    # the old objects stay until the trash is purged
    assert sorted(p.relative_to(old_folder) for p in old_folder.rglob("*") if p.is_file()) == old_files
    assert not any(r.name.startswith("_moving-") for r in client.list_repos("default"))
