"""Storage layer: bucket config -> Icechunk storage and server-side object-store handle.

One adapter per platform family; everything above this package calls the functions here
and never builds an Icechunk storage or an object-store client itself.
"""

from __future__ import annotations

import icechunk

from floe.models import S3Credentials
from floe.storage.base import BucketSpec, ObjectStore, PlatformAdapter, StoragePolicy, join_prefix
from floe.storage.local import LocalAdapter
from floe.storage.s3 import S3Adapter
from floe.storage.uri import parse_uri

_ADAPTERS: tuple[PlatformAdapter, ...] = (S3Adapter(), LocalAdapter())
_BY_PLATFORM: dict[str, PlatformAdapter] = {p: a for a in _ADAPTERS for p in a.platforms}

SUPPORTED_PLATFORMS = tuple(_BY_PLATFORM)

__all__ = [
    "SUPPORTED_PLATFORMS",
    "BucketSpec",
    "ObjectStore",
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


def credentials_for(spec: BucketSpec, *, read_only: bool = False) -> S3Credentials | None:
    """Credentials a permitted client receives for this bucket (server side)."""
    return adapter_for(spec.platform).credentials(spec, read_only=read_only)


def icechunk_storage(
    spec: BucketSpec, repo_prefix: str, credentials: S3Credentials | None
) -> icechunk.Storage:
    """The Icechunk storage of a repo at ``repo_prefix`` under the bucket config's own prefix."""
    return adapter_for(spec.platform).icechunk_storage(
        spec, join_prefix(spec.prefix, repo_prefix), credentials
    )


def object_store(spec: BucketSpec) -> ObjectStore:
    """The server's handle on a bucket, using the spec's own credentials."""
    return adapter_for(spec.platform).object_store(spec)
