"""Catalog-free use: open repos by URI with per-bucket settings from the config file or the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import zarr

import floe


def _write_config(path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    path.chmod(mode)


def test_open_by_uri_with_settings_from_config_file_and_env(moto, s3_bucket, tmp_path, monkeypatch):
    config_dir = tmp_path / "cfg"
    monkeypatch.setenv("FLOE_CONFIG_DIR", str(config_dir))
    _write_config(
        config_dir / "config.toml",
        f"""
        [buckets."{s3_bucket}"]
        endpoint_url = "{moto.endpoint}"
        region_name = "us-east-1"
        access_key_id = "testing"
        secret_access_key = "file-secret"
        """,
    )
    repo = floe.open_uri(f"s3://{s3_bucket}/direct/era5", create=True)
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="v", shape=(3,), chunks=(3,), dtype="i2")[:] = [4, 5, 6]
    session.commit("no catalog")
    keys = [o["Key"] for o in moto.s3_client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert all(k.startswith("direct/era5/") for k in keys)

    # another process, settings from environment variables only
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOE_")}
    name = s3_bucket.upper().replace("-", "_")
    env.update(
        {
            "FLOE_CONFIG_DIR": str(tmp_path / "empty"),
            f"FLOE_BUCKET_{name}_ENDPOINT_URL": moto.endpoint,
            f"FLOE_BUCKET_{name}_ACCESS_KEY_ID": "testing",
            f"FLOE_BUCKET_{name}_SECRET_ACCESS_KEY": "env-secret",
        }
    )
    code = f"""
import floe, zarr
repo = floe.open_uri("s3://{s3_bucket}/direct/era5")
print(zarr.open_array(repo.readonly_session("main").store, path="v")[:].tolist())
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[4, 5, 6]"


def test_config_file_mistakes_are_refused_plainly(tmp_path, monkeypatch, s3_bucket):
    config_dir = tmp_path / "cfg"
    monkeypatch.setenv("FLOE_CONFIG_DIR", str(config_dir))
    _write_config(
        config_dir / "config.toml",
        f'[buckets."{s3_bucket}"]\nsecret_access_key = "x"\naccess_key_id = "y"\n',
        0o644,
    )
    with pytest.raises(floe.PermissionDeniedError, match="chmod 600"):
        floe.open_uri(f"s3://{s3_bucket}/r")
    _write_config(config_dir / "config.toml", f'[buckets."{s3_bucket}"]\nendpoint = "http://x"\n')
    with pytest.raises(floe.ValidationError, match="unknown key"):
        floe.open_uri(f"s3://{s3_bucket}/r")
    with pytest.raises(floe.ValidationError, match="unknown scheme"):
        floe.open_uri("ftp://host/path")
    with pytest.raises(floe.StorageError, match="opening"):
        floe.open_uri(f"file://{tmp_path}/no-repo-here")


def test_local_folder_round_trip(tmp_path):
    repo = floe.open_uri(f"file://{tmp_path}/repo", create=True)
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="v", shape=(2,), chunks=(2,), dtype="i1")[:] = [1, 2]
    session.commit("local")
    again = floe.open_uri(f"file://{tmp_path}/repo")
    assert zarr.open_array(again.readonly_session("main").store, path="v")[:].tolist() == [1, 2]
