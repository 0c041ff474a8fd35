"""The adapter registry: what callers outside the storage package ask of a platform, and lazy SDKs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from floe import storage
from floe.storage import BucketSpec, StoragePolicy
from floe.storage.base import PlatformAdapter
from floe.storage.registry import ADAPTERS


def test_importing_floe_loads_no_cloud_sdk():
    """boto3, the Azure SDK and google-auth load when a store or a token needs them, not before."""
    code = (
        "import sys, floe, floe.storage, floe.storage.probe, floe.storage.virtual, floe.storage.registry; "
        "print([m for m in ('boto3', 'botocore', 'azure', 'google') "
        "if any(k == m or k.startswith(m + '.') for k in sys.modules)])"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", found.stdout + found.stderr


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: type(a).__name__)
def test_every_adapter_is_a_platform_adapter(adapter):
    assert isinstance(adapter, PlatformAdapter)
    assert adapter.platforms and adapter.auth_methods
    for platform in adapter.platforms:
        assert storage.adapter_for(platform) is adapter


def test_platform_facts_come_from_the_adapters():
    reachable = {p for p in storage.SUPPORTED_PLATFORMS if storage.server_reachable(BucketSpec(p, "x"))}
    assert set(storage.SUPPORTED_PLATFORMS) - reachable == {"memory"}
    assert storage.NESTED_NAME_PLATFORMS == ("file",)

    assert storage.location_root(BucketSpec("file", "/srv/data", "lab")) == Path("/srv/data/lab")
    assert storage.location_root(BucketSpec("s3", "data", "lab")) is None

    aws = storage.location_only("s3", "data", "lab", {})
    assert aws.extra_config == {"region_name": "us-east-1"} and aws.auth == {"method": "anonymous"}
    assert storage.location_only("file", "/srv/data", "", {}).auth == {"method": "none"}
    assert storage.normalize(aws, StoragePolicy()).name == "data"

    azure = BucketSpec("azure", "data", extra_config={"account_name": "acct", "use_ssl": True})
    assert storage.store_settings(azure) == {"account_name": "acct"}
    s3 = BucketSpec(
        "s3-compatible", "data", extra_config={"endpoint_url": "https://s3.example", "use_ssl": True}
    )
    assert storage.store_settings(s3) == {"endpoint_url": "https://s3.example"}

    with pytest.raises(ValueError, match="not supported by this Floe version"):
        storage.adapter_for("ftp")
