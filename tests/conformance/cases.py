"""Platform cases for the conformance suite: one entry per platform and credential method.

A case says how to register its storage (the arguments of ``Client.create_bucket_config``)
and how to list what is stored under a prefix, so the suite can check that data landed and
that deleting a repo removed it. Cases for other platforms live in modules beside this one
(``cases_azure.py``, ``cases_gcs.py``) and are gathered in ``test_conformance.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Storage:
    """A case's storage, ready for one test: how to register it and how to look inside."""

    bucket_config: dict[str, Any]
    list_keys: Callable[[str], list[str]]
    expiring: bool = False
    server_reaches: bool = True  # False for client-only storage (memory)
    # the store contract (test_store_contract.py): a store without conditional updates says so
    # (NotImplementedError); an emulator that ignores preconditions cannot show them refused
    conditional_update: bool = True
    enforces_conditions: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """``skip_reason`` skips the round trip through Floe and Icechunk; ``store_skip_reason`` the
    contract of the server's own object-store handle (``test_store_contract.py``), which needs no
    Icechunk and so can run where Icechunk cannot (the GCS emulator)."""

    id: str
    make: Callable[[pytest.FixtureRequest], Storage]
    skip_reason: str | None = None
    store_skip_reason: str | None = None


def _moto_keys(moto, bucket: str) -> Callable[[str], list[str]]:
    def list_keys(prefix: str) -> list[str]:
        resp = moto.s3_client().list_objects_v2(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for o in resp.get("Contents", [])]

    return list_keys


def s3_hmac(request: pytest.FixtureRequest) -> Storage:
    moto = request.getfixturevalue("moto")
    bucket = request.getfixturevalue("s3_bucket")
    return Storage(
        bucket_config={
            "uri": f"s3://{bucket}/lab",
            "extra_config": {"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
            "auth_config": {
                "method": "hmac",
                "access_key_id": "testing",
                "secret_access_key": "conformance-secret",
                # what readers receive (tests/test_tenants.py shows such a pair cannot write)
                "read_access_key_id": "testing-reader",
                "read_secret_access_key": "conformance-reader-secret",
            },
        },
        list_keys=_moto_keys(moto, bucket),
    )


def s3_sts(request: pytest.FixtureRequest) -> Storage:
    moto = request.getfixturevalue("moto")
    bucket = request.getfixturevalue("s3_bucket")
    return Storage(
        bucket_config={
            "uri": f"s3://{bucket}",
            "extra_config": {"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
            "auth_config": {
                "method": "aws_sts",
                "role_arn": "arn:aws:iam::123456789012:role/floe-data",
                "access_key_id": "testing",
                "secret_access_key": "long-lived-secret",
                "duration_seconds": 900,
            },
        },
        list_keys=_moto_keys(moto, bucket),
        expiring=True,
    )


def s3_from_env(request: pytest.FixtureRequest) -> Storage:
    # The keys live only in the environment of the processes that open the repo (and the server, for probes).
    moto = request.getfixturevalue("moto")
    bucket = request.getfixturevalue("s3_bucket")
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    # the server probes and deletes with its own environment only when the operator allows it
    monkeypatch.setenv("FLOE_ALLOW_SERVER_CREDENTIALS", "1")
    return Storage(
        bucket_config={
            "uri": f"s3://{bucket}/env",
            "extra_config": {"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
            "auth_config": {"method": "from_env"},
        },
        list_keys=_moto_keys(moto, bucket),
    )


def r2_hmac(request: pytest.FixtureRequest) -> Storage:
    # R2 speaks the S3 protocol; the moto server stands in for the account endpoint.
    moto = request.getfixturevalue("moto")
    bucket = request.getfixturevalue("s3_bucket")
    return Storage(
        bucket_config={
            "uri": f"r2://{bucket}",
            "extra_config": {"endpoint_url": moto.endpoint},
            "auth_config": {
                "method": "hmac",
                "access_key_id": "testing",
                "secret_access_key": "r2-secret",
                "readers_get_write_keys": True,  # an org admin's explicit choice: readers hold write keys
            },
        },
        list_keys=_moto_keys(moto, bucket),
    )


def tigris_hmac(request: pytest.FixtureRequest) -> Storage:
    moto = request.getfixturevalue("moto")
    bucket = request.getfixturevalue("s3_bucket")
    return Storage(
        bucket_config={
            "uri": f"tigris://{bucket}",
            "extra_config": {"endpoint_url": moto.endpoint, "region_name": "iad"},
            "auth_config": {
                "method": "hmac",
                "access_key_id": "testing",
                "secret_access_key": "tigris-secret",
                "read_access_key_id": "testing-reader",
                "read_secret_access_key": "tigris-reader-secret",
            },
        },
        list_keys=_moto_keys(moto, bucket),
    )


def local_folder(request: pytest.FixtureRequest) -> Storage:
    server = request.getfixturevalue("floe_server_sqlite")
    root = Path(server.data_dir) / "storage" / "default" / "conformance"

    def list_keys(prefix: str) -> list[str]:
        base = root / prefix
        return [str(p.relative_to(root)) for p in base.rglob("*") if p.is_file()] if base.exists() else []

    return Storage(bucket_config={"uri": f"file://{root}"}, list_keys=list_keys, conditional_update=False)


def memory(request: pytest.FixtureRequest) -> Storage:
    return Storage(
        bucket_config={"uri": "memory://scratch"}, list_keys=lambda prefix: [], server_reaches=False
    )


CASES = [
    Case("s3-hmac", s3_hmac),
    Case("s3-sts", s3_sts),
    Case("s3-from-env", s3_from_env),
    Case("r2-hmac", r2_hmac),
    Case("tigris-hmac", tigris_hmac),
    Case("file", local_folder),
    Case("memory", memory),
]
