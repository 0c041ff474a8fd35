"""The one registry of platform adapters: every lookup by platform name goes through here."""

from __future__ import annotations

from floe.storage.azure import AzureAdapter
from floe.storage.base import PlatformAdapter
from floe.storage.gcs import GcsAdapter
from floe.storage.local import LocalAdapter
from floe.storage.memory import MemoryAdapter
from floe.storage.s3 import R2Adapter, S3Adapter, TigrisAdapter

ADAPTERS: tuple[PlatformAdapter, ...] = (
    S3Adapter(),
    R2Adapter(),
    TigrisAdapter(),
    AzureAdapter(),
    GcsAdapter(),
    LocalAdapter(),
    MemoryAdapter(),
)
_BY_PLATFORM: dict[str, PlatformAdapter] = {p: a for a in ADAPTERS for p in a.platforms}

SUPPORTED_PLATFORMS = tuple(_BY_PLATFORM)

# Platforms whose bucket names are paths that can lie inside one another (``file``): a search
# for configs near a location must look at all of them, not only at those of the same name.
NESTED_NAME_PLATFORMS = tuple(p for a in ADAPTERS if a.names_nest for p in a.platforms)


def adapter_for(platform: str) -> PlatformAdapter:
    """The adapter for a platform; ``ValueError`` naming the supported ones otherwise."""
    try:
        return _BY_PLATFORM[platform]
    except KeyError:
        raise ValueError(
            f"platform {platform!r} is not supported by this Floe version: use one of {', '.join(SUPPORTED_PLATFORMS)}"
        ) from None
