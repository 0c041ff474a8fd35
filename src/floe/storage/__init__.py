"""Storage layer: bucket config -> Icechunk storage and server-side object-store handle.

One adapter per platform family; everything above this package calls the functions here
and never builds an Icechunk storage or an object-store client itself.
"""

from __future__ import annotations

import icechunk

from floe.models import TempCredentials
from floe.storage.azure import AzureAdapter
from floe.storage.base import (
    BucketSpec,
    ObjectStore,
    PlatformAdapter,
    PreconditionFailed,
    Refresher,
    StoragePolicy,
    join_prefix,
)
from floe.storage.gcs import GcsAdapter
from floe.storage.local import LocalAdapter
from floe.storage.memory import MemoryAdapter
from floe.storage.s3 import R2Adapter, S3Adapter, TigrisAdapter
from floe.storage.uri import parse_uri

_ADAPTERS: tuple[PlatformAdapter, ...] = (
    S3Adapter(),
    R2Adapter(),
    TigrisAdapter(),
    AzureAdapter(),
    GcsAdapter(),
    LocalAdapter(),
    MemoryAdapter(),
)
_BY_PLATFORM: dict[str, PlatformAdapter] = {p: a for a in _ADAPTERS for p in a.platforms}

SUPPORTED_PLATFORMS = tuple(_BY_PLATFORM)

__all__ = [
    "SUPPORTED_PLATFORMS",
    "BucketSpec",
    "ObjectStore",
    "PreconditionFailed",
    "Refresher",
    "StoragePolicy",
    "adapter_for",
    "credentials_for",
    "icechunk_storage",
    "join_prefix",
    "normalize",
    "object_store",
    "parse_uri",
]


def adapter_for(platform: str) -> PlatformAdapter:
    """The adapter for a platform; ``ValueError`` naming the supported ones otherwise."""
    try:
        return _BY_PLATFORM[platform]
    except KeyError:
        raise ValueError(
            f"platform {platform!r} is not supported by this Floe version: use one of {', '.join(SUPPORTED_PLATFORMS)}"
        ) from None


def normalize(spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
    """Validate a bucket spec and return its canonical form."""
    return adapter_for(spec.platform).normalize(spec, policy)


def credentials_for(
    spec: BucketSpec, *, prefix: str | None = None, read_only: bool = False
) -> TempCredentials | None:
    """Credentials a permitted client receives (server side), narrowed to ``prefix`` where possible."""
    return adapter_for(spec.platform).credentials(spec, prefix=prefix, read_only=read_only)


def icechunk_storage(
    spec: BucketSpec, prefix: str, credentials: TempCredentials | None, refresh: Refresher | None = None
) -> icechunk.Storage:
    """The Icechunk storage of a repo at ``prefix``, a full path inside the bucket.

    Repo prefixes in the catalog already include the bucket config's own prefix, as in the
    arraylake wire format. ``refresh`` fetches new credentials when the given ones expire.
    """
    return adapter_for(spec.platform).icechunk_storage(spec, prefix, credentials, refresh)


def object_store(spec: BucketSpec) -> ObjectStore:
    """The server's handle on a bucket, using the spec's own credentials."""
    return adapter_for(spec.platform).object_store(spec)
