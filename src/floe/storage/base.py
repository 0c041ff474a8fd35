"""What every storage platform provides: a bucket spec, an Icechunk storage, an object-store handle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import icechunk

from floe.models import S3Credentials


def join_prefix(*parts: str | None) -> str:
    """Join object-store prefix parts with '/', skipping empty ones."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


@dataclass(frozen=True)
class BucketSpec:
    """A bucket config as the storage layer sees it.

    ``auth`` holds the decrypted auth config on the server; it is ``None`` on clients,
    which receive credentials separately.
    """

    platform: str
    name: str
    prefix: str = ""
    extra_config: Mapping[str, str | bool] = field(default_factory=dict)
    auth: Mapping[str, Any] | None = None

    @property
    def auth_method(self) -> str:
        return str((self.auth or {}).get("method", "anonymous"))

    def with_changes(self, **changes: Any) -> BucketSpec:
        values = {
            "platform": self.platform,
            "name": self.name,
            "prefix": self.prefix,
            "extra_config": self.extra_config,
            "auth": self.auth,
        }
        values.update(changes)
        return BucketSpec(**values)


@dataclass(frozen=True)
class StoragePolicy:
    """Server-side limits on what bucket configs may point at."""

    file_roots: tuple[Path, ...] = ()


class ObjectStore(Protocol):
    """The server's handle on a bucket: enough to check, clear and inspect repo prefixes."""

    def describe(self) -> str:
        """A human description of the location, free of secrets (for error messages)."""

    def is_empty(self, prefix: str) -> bool:
        """True when nothing is stored under ``prefix``."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; return how many were deleted."""


class PlatformAdapter(Protocol):
    """One family of storage platforms (S3 and its kin, a local folder, ...)."""

    platforms: tuple[str, ...]
    auth_methods: tuple[str, ...]
    extra_config_keys: tuple[str, ...]

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        """Check a spec and return it in canonical form; raise ``ValueError`` naming field and fix."""

    def credentials(self, spec: BucketSpec, *, read_only: bool) -> S3Credentials | None:
        """Credentials to hand a permitted client for this bucket (server side)."""

    def icechunk_storage(
        self, spec: BucketSpec, prefix: str, credentials: S3Credentials | None
    ) -> icechunk.Storage:
        """The Icechunk storage for ``prefix`` (a full path inside the bucket) with these credentials."""

    def object_store(self, spec: BucketSpec) -> ObjectStore:
        """A server-side handle on the bucket, using the spec's own auth."""
