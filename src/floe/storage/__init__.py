"""Storage layer: bucket config -> Icechunk storage and server-side object-store handle.

One adapter per platform family (``s3/``, ``gcs/``, ``azure/``, ``local``, ``memory``), each
split into configuration and validation, credentials, and the server-side store; they share
``validate`` (validation helpers), ``refresh`` (the one credential refresh callable) and
``objects`` (the store contract and its errors), and are looked up in ``registry``. Everything
above this package calls the functions here (or adapter attributes through them) and never
branches on platform names, builds an Icechunk storage or an object-store client itself.
Cloud SDKs (boto3, azure, google-auth) load only when a store or a token needs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import icechunk

from floe.errors import ValidationError
from floe.models import TempCredentials
from floe.storage import egress
from floe.storage.base import (
    BucketSpec,
    Location,
    ObjectMissing,
    ObjectStore,
    PlatformAdapter,
    PreconditionFailed,
    Refresher,
    StoragePolicy,
    join_prefix,
)
from floe.storage.registry import NESTED_NAME_PLATFORMS, SUPPORTED_PLATFORMS, adapter_for
from floe.storage.s3 import ReaderKeysMissing
from floe.storage.uri import parse_uri

__all__ = [
    "NESTED_NAME_PLATFORMS",
    "SUPPORTED_PLATFORMS",
    "BucketSpec",
    "Location",
    "ObjectMissing",
    "ObjectStore",
    "PlatformAdapter",
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
    "location_only",
    "location_root",
    "normalize",
    "object_store",
    "parse_uri",
    "read_only_store",
    "reading_credentials",
    "server_may_connect",
    "server_reachable",
    "store_settings",
]


class ServerCredentialsOff(ValidationError):
    """A ``from_env`` bucket config, and the operator has not let the server use its own credentials."""


SERVER_CREDENTIALS_SETTING = "`floe serve --allow-server-credentials` (or FLOE_ALLOW_SERVER_CREDENTIALS=1)"


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
    store = adapter_for(spec.platform).read_only_store(spec)
    return _Guarded(store, policy.egress) if store is not None else None


def location_of(spec: BucketSpec) -> Location | None:
    """Where a spec's objects live, for comparing locations across bucket configs and orgs."""
    return adapter_for(spec.platform).location(spec)


def server_reachable(spec: BucketSpec) -> bool:
    """Whether the server can reach the spec's storage at all (memory lives in each client)."""
    return adapter_for(spec.platform).server_reachable


def location_root(spec: BucketSpec) -> Path | None:
    """The folder of the server's filesystem a (shared) location grants; ``None`` off the filesystem."""
    return adapter_for(spec.platform).location_root(spec)


def location_only(platform: str, name: str, prefix: str, extra: Mapping[str, Any]) -> BucketSpec:
    """A spec naming a place and no credentials (a shared location), ready for :func:`normalize`."""
    return adapter_for(platform).location_only(platform, name, prefix, extra)


def store_settings(spec: BucketSpec) -> dict[str, Any]:
    """The spec's extra_config settings that name its store (the endpoint, the account)."""
    return adapter_for(spec.platform).store_settings(spec)


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
