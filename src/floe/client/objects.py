"""Raw object access from this machine: Floe locations -> ``obstore`` stores.

The one place that maps a Floe location (a bucket config as the catalog shows it, a repo prefix and
the credentials the catalog vended) to an obstore store rooted at that prefix. Used to copy repos
object for object; everything else goes through Icechunk.

Platforms: ``file`` (a local folder), ``s3`` / ``s3-compatible`` / ``minio`` / ``r2`` / ``tigris``,
``azure`` (SAS tokens) and ``gs`` (bearer tokens). ``memory`` lives in one client process and is
refused. Expiring credentials are refreshed through ``refresh`` (the catalog's credential route).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from floe.errors import ValidationError
from floe.models import (
    AzureCredentials,
    Bucket,
    GSCredentials,
    OpenRepoResponse,
    S3Credentials,
    TempCredentials,
)

S3_PLATFORMS = frozenset({"s3", "s3-compatible", "minio", "r2", "tigris"})
DEFAULT_REGION = "us-east-1"

Refresh = Callable[[], TempCredentials | None]


@dataclass(frozen=True)
class ObjectLocation:
    """Where a repo's objects live, with the credentials to reach them."""

    bucket: Bucket
    prefix: str
    credentials: TempCredentials | None = None

    @classmethod
    def from_open(cls, opened: OpenRepoResponse) -> ObjectLocation:
        return cls(opened.repo_bucket, opened.repo_prefix, opened.repo_credentials)

    @property
    def platform(self) -> str:
        return self.bucket.platform

    def describe(self) -> str:
        """A stable description (no secrets): the journal of a copy is keyed by it."""
        b = self.bucket
        if b.platform == "file":
            return f"file://{Path(b.name) / self.prefix}"
        endpoint = b.extra_config.get("endpoint_url") or ""
        account = b.extra_config.get("account_name") or ""
        scheme = {"azure": "az", "gs": "gs"}.get(b.platform, "s3")
        where = f"{scheme}://{b.name}/{self.prefix}".rstrip("/")
        extra = ",".join(str(x) for x in (endpoint, account) if x)
        return f"{where} ({extra})" if extra else where

    @property
    def etag_is_md5(self) -> bool:
        """Whether a single-part upload's ETag is the MD5 of its content (S3; not under SSE-KMS,
        which the checksum comparison then detects and falls back from)."""
        return self.platform in S3_PLATFORMS


def _soon() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=60)


class _Provider:
    """An obstore credential provider: the vended credentials while fresh, then the catalog's."""

    def __init__(
        self, initial: TempCredentials | None, refresh: Refresh | None, shape: Callable[[Any], dict]
    ) -> None:
        self.current = initial
        self.refresh = refresh
        self.shape = shape

    def __call__(self) -> dict[str, Any]:
        creds = self.current
        if creds is None or (creds.expiration is not None and creds.expiration <= _soon()):
            if self.refresh is None:
                raise ValidationError("the vended credentials expired and cannot be refreshed")
            creds = self.current = self.refresh()
        return self.shape(creds)


def _s3_shape(creds: Any) -> dict[str, Any]:
    if not isinstance(creds, S3Credentials):
        raise TypeError(f"expected S3 credentials from the catalog, got {type(creds).__name__}")
    return {
        "access_key_id": creds.aws_access_key_id,
        "secret_access_key": creds.aws_secret_access_key,
        "token": creds.aws_session_token,
        "expires_at": creds.expiration,
    }


def _azure_shape(creds: Any) -> dict[str, Any]:
    if not isinstance(creds, AzureCredentials):
        raise TypeError(f"expected Azure credentials from the catalog, got {type(creds).__name__}")
    pairs = [
        tuple(p.split("=", 1)) if "=" in p else (p, "") for p in creds.sas_token.lstrip("?").split("&") if p
    ]
    from urllib.parse import unquote

    return {"sas_token": [(k, unquote(v)) for k, v in pairs], "expires_at": creds.expiration}


def _gcs_shape(creds: Any) -> dict[str, Any]:
    if not isinstance(creds, GSCredentials):
        raise TypeError(f"expected GCS credentials from the catalog, got {type(creds).__name__}")
    return {"token": creds.access_token, "expires_at": creds.expiration}


def open_store(location: ObjectLocation, refresh: Refresh | None = None) -> Any:
    """An obstore store rooted at the location's prefix (object paths are relative to it)."""
    from obstore.store import AzureStore, GCSStore, LocalStore, S3Store  # loaded only for copies

    bucket, creds = location.bucket, location.credentials
    platform = bucket.platform
    method = str((bucket.auth_config or {}).get("method", "anonymous"))
    extra = bucket.extra_config
    endpoint = str(extra.get("endpoint_url") or "") or None
    client_options: Any = {"allow_http": True} if endpoint and endpoint.startswith("http://") else {}
    prefix = location.prefix.strip("/") or None
    if platform == "file":
        root = Path(bucket.name) / location.prefix
        os.makedirs(root, exist_ok=True)
        return LocalStore(root, mkdir=True)
    if platform == "memory":
        raise ValidationError(
            "memory storage lives in the process that created it: a repo on a memory bucket config cannot be "
            "copied to or from; use a file or object-store bucket config"
        )
    if platform in S3_PLATFORMS:
        config: Any = {"region": str(extra.get("region_name") or DEFAULT_REGION)}
        if endpoint:
            config["endpoint"] = endpoint
            # path-style requests (endpoint/bucket/key), which every S3-compatible store answers
            config["virtual_hosted_style_request"] = False
        kwargs: dict[str, Any] = {}
        if method == "from_env":  # obstore reads AWS_* from the environment unless config says otherwise
            return S3Store(bucket.name, prefix=prefix, config=config, client_options=client_options)
        if creds is None and refresh is None:
            config["skip_signature"] = True
        elif (creds is not None and creds.expiration is not None) or creds is None:
            kwargs["credential_provider"] = _Provider(creds, refresh, _s3_shape)
        elif isinstance(creds, S3Credentials):
            config["access_key_id"] = creds.aws_access_key_id
            config["secret_access_key"] = creds.aws_secret_access_key
            if creds.aws_session_token:
                config["session_token"] = creds.aws_session_token
        return S3Store(bucket.name, prefix=prefix, config=config, client_options=client_options, **kwargs)
    if platform == "azure":
        account = str(
            extra.get("account_name")
            or (bucket.auth_config or {}).get("account_name")
            or (creds.storage_account if isinstance(creds, AzureCredentials) else "")
        )
        if not account:
            raise ValidationError("platform azure needs extra_config.account_name")
        config = {"account_name": account}
        if endpoint:
            config["endpoint"] = endpoint
        kwargs = {}
        if creds is None and refresh is None:
            config["skip_signature"] = True
        elif creds is not None or refresh is not None:
            kwargs["credential_provider"] = _Provider(creds, refresh, _azure_shape)
        return AzureStore(bucket.name, prefix=prefix, config=config, client_options=client_options, **kwargs)
    if platform == "gs":
        config = {}
        if endpoint:
            config["base_url"] = endpoint
        kwargs = {}
        if creds is None and refresh is None:
            config["skip_signature"] = True
        else:
            kwargs["credential_provider"] = _Provider(creds, refresh, _gcs_shape)
        return GCSStore(bucket.name, prefix=prefix, config=config, client_options=client_options, **kwargs)
    raise ValidationError(f"platform {platform!r} cannot be copied from this client")
