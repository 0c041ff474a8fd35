"""Storage layer: bucket config -> Icechunk storage and server-side object-store handle.

One adapter per platform family; everything above this package calls the functions here
and never builds an Icechunk storage or an object-store client itself.
"""

from __future__ import annotations

from typing import Any

import icechunk

from floe.errors import ValidationError
from floe.models import TempCredentials
from floe.storage import egress
from floe.storage.azure import AzureAdapter
from floe.storage.base import (
    BucketSpec,
    Location,
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
from floe.storage.s3 import R2Adapter, ReaderKeysMissing, S3Adapter, TigrisAdapter
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
    "Location",
    "ObjectStore",
    "PreconditionFailed",
    "ReaderKeysMissing",
    "Refresher",
    "ServerCredentialsOff",
    "StoragePolicy",
    "adapter_for",
    "check_endpoints",
    "credentials_for",
    "icechunk_storage",
    "join_prefix",
    "location_of",
    "normalize",
    "object_store",
    "parse_uri",
    "read_only_store",
    "reading_credentials",
    "server_may_connect",
]


class ServerCredentialsOff(ValidationError):
    """A ``from_env`` bucket config, and the operator has not let the server use its own credentials."""


SERVER_CREDENTIALS_SETTING = "`floe serve --allow-server-credentials` (or FLOE_ALLOW_SERVER_CREDENTIALS=1)"


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


def check_endpoints(spec: BucketSpec, policy: StoragePolicy) -> None:
    """Refuse (``EndpointRefused``, a 4xx naming the setting) a spec whose endpoints the server's
    outbound-request policy does not allow; nothing is sent anywhere before this passes."""
    if policy.egress is None:
        return
    for field, url in adapter_for(spec.platform).endpoints(spec):
        egress.check_url(url, policy.egress, field)


def server_may_connect(spec: BucketSpec, policy: StoragePolicy | None) -> str | None:
    """Why the server must not touch this spec's storage with credentials of its own, or ``None``."""
    if policy is not None and spec.auth_method == "from_env" and not policy.server_credentials:
        return (
            "the bucket config uses from_env credentials, and this server does not use credentials from its "
            f"own environment unless the operator enables {SERVER_CREDENTIALS_SETTING}"
        )
    return None


def credentials_for(
    spec: BucketSpec,
    *,
    prefix: str | None = None,
    read_only: bool = False,
    policy: StoragePolicy | None = None,
) -> TempCredentials | None:
    """Credentials a permitted client receives (server side), narrowed to ``prefix`` and to reading
    where possible. With a ``policy`` (on the server), token and STS calls obey its egress rules.

    On this hot path (every ``open``) only the connection-time check applies: most methods make no
    request at all, and the endpoints were checked when the bucket config was registered.
    """
    adapter = adapter_for(spec.platform)
    if policy is None:
        return adapter.credentials(spec, prefix=prefix, read_only=read_only)
    with egress.guarded(policy.egress):
        return adapter.credentials(spec, prefix=prefix, read_only=read_only)


def icechunk_storage(
    spec: BucketSpec, prefix: str, credentials: TempCredentials | None, refresh: Refresher | None = None
) -> icechunk.Storage:
    """The Icechunk storage of a repo at ``prefix``, a full path inside the bucket.

    Repo prefixes in the catalog already include the bucket config's own prefix, as in the
    arraylake wire format. ``refresh`` fetches new credentials when the given ones expire.
    """
    return adapter_for(spec.platform).icechunk_storage(spec, prefix, credentials, refresh)


def reading_credentials(
    spec: BucketSpec, *, policy: StoragePolicy, prefix: str | None = None
) -> tuple[TempCredentials | None, bool]:
    """Credentials for reading, for callers who may write anyway (the server itself, members): the
    read-only ones where the config has them, else its full keys. Returns them and whether they are
    read-only."""
    try:
        return credentials_for(spec, prefix=prefix, read_only=True, policy=policy), True
    except ReaderKeysMissing:
        return credentials_for(spec, prefix=prefix, policy=policy), False


def object_store(spec: BucketSpec, policy: StoragePolicy | None = None) -> ObjectStore:
    """The server's handle on a bucket, using the spec's own credentials.

    With a ``policy`` (on the server) the endpoints are checked first and every connection the
    handle makes is checked again; ``ServerCredentialsOff`` when it would use the server's own.
    """
    if policy is None:
        return adapter_for(spec.platform).object_store(spec)
    why_not = server_may_connect(spec, policy)
    if why_not:
        raise ServerCredentialsOff(why_not)
    check_endpoints(spec, policy)
    with egress.guarded(policy.egress):
        return _Guarded(adapter_for(spec.platform).object_store(spec), policy.egress)


def read_only_store(spec: BucketSpec, policy: StoragePolicy) -> ObjectStore | None:
    """A handle using the spec's read-only key pair, where it has one (to probe that pair)."""
    adapter = adapter_for(spec.platform)
    make = getattr(adapter, "read_only_store", None)
    store = make(spec) if make is not None else None
    return _Guarded(store, policy.egress) if store is not None else None


def location_of(spec: BucketSpec) -> Location | None:
    """Where a spec's objects live, for comparing locations across bucket configs and orgs."""
    return adapter_for(spec.platform).location(spec)


class _Guarded:
    """An object-store handle whose every call runs under the outbound-request guard."""

    def __init__(self, store: ObjectStore, policy: egress.EgressPolicy | None) -> None:
        self._store = store
        self._policy = policy

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with egress.guarded(self._policy):
                return attr(*args, **kwargs)

        return call
