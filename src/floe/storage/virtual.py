"""Virtual chunk containers: let a repo reference bytes in another registered bucket.

Icechunk needs, per URL prefix, a container config (how to reach the store) and, when a repo
is opened, credentials for it. Both come from a bucket config: the config from its public
settings, the credentials vended by the catalog. What each platform needs is its adapter's
(``virtual_url``, ``virtual_store``, ``virtual_credentials``).
"""

from __future__ import annotations

import icechunk

from floe.models import TempCredentials
from floe.storage.base import BucketSpec
from floe.storage.registry import adapter_for


def bucket_url(spec: BucketSpec) -> str:
    """The URL prefix of everything a bucket config covers, e.g. ``s3://bucket/prefix/``."""
    return adapter_for(spec.platform).virtual_url(spec)


def check_url_prefix(spec: BucketSpec, url_prefix: str) -> str:
    """A container's URL prefix must lie inside the bucket config it is served by."""
    base = bucket_url(spec)
    normalized = url_prefix if url_prefix.endswith("/") else url_prefix + "/"
    if not normalized.startswith(base):
        raise ValueError(
            f"virtual chunk container {url_prefix!r} is outside its bucket config: it must start with {base!r}"
        )
    return normalized


def container(spec: BucketSpec, url_prefix: str) -> icechunk.VirtualChunkContainer:
    """The Icechunk container config that reads ``url_prefix`` from this bucket config's store."""
    return icechunk.VirtualChunkContainer(url_prefix, adapter_for(spec.platform).virtual_store(spec))


def icechunk_credentials(platform: str, auth_method: str, creds: TempCredentials | None) -> object | None:
    """Catalog-vended credentials in the form ``icechunk.containers_credentials`` takes."""
    return adapter_for(platform).virtual_credentials(auth_method, creds)
