"""AWS S3 and S3-compatible stores (JASMIN, IBM COS, Ceph, MinIO) with HMAC or anonymous access."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import boto3
import icechunk
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from floe.errors import NotFoundError, PermissionDeniedError, StorageError
from floe.models import S3Credentials
from floe.storage.base import BucketSpec, StoragePolicy

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
DEFAULT_REGION = "us-east-1"


def _as_bool(key: str, value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"extra_config.{key} must be true or false, got {value!r}")


class S3Adapter:
    """``s3``, ``s3-compatible`` and ``minio`` bucket configs."""

    platforms = ("s3", "s3-compatible", "minio")
    auth_methods = ("hmac", "anonymous")
    extra_config_keys = ("region_name", "endpoint_url", "use_ssl", "force_path_style")

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        if not _BUCKET_RE.fullmatch(spec.name) or ".." in spec.name:
            raise ValueError(
                f"invalid bucket name {spec.name!r}: S3 bucket names are 3-63 characters of lower-case "
                "letters, digits, '.', '-' (and '_' on some S3-compatible stores)"
            )
        unknown = sorted(set(spec.extra_config) - set(self.extra_config_keys))
        if unknown:
            raise ValueError(
                f"unknown extra_config key(s) {', '.join(unknown)} for platform {spec.platform}: "
                f"allowed are {', '.join(self.extra_config_keys)}"
            )
        extra: dict[str, str | bool] = {}
        endpoint = spec.extra_config.get("endpoint_url")
        if endpoint is not None:
            endpoint = str(endpoint).strip().rstrip("/")
            parsed = urlparse(endpoint)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ValueError(
                    f"invalid extra_config.endpoint_url {endpoint!r}: give a full URL such as "
                    "https://my-project.s3-ext.jc.rl.ac.uk"
                )
            extra["endpoint_url"] = endpoint
        elif spec.platform in ("s3-compatible", "minio"):
            raise ValueError(
                f"platform {spec.platform} needs extra_config.endpoint_url, e.g. "
                "https://my-project.s3-ext.jc.rl.ac.uk (JASMIN) or https://s3.eu-de.cloud-object-storage.appdomain.cloud (IBM COS)"
            )
        region = spec.extra_config.get("region_name")
        if region is not None:
            if not isinstance(region, str) or not region.strip():
                raise ValueError("extra_config.region_name must be a region name such as us-east-1")
            extra["region_name"] = region.strip()
        elif spec.platform == "s3":
            raise ValueError("platform s3 needs extra_config.region_name, e.g. us-east-1")
        use_ssl_default = not (endpoint or "").startswith("http://")
        use_ssl = _as_bool("use_ssl", spec.extra_config.get("use_ssl", use_ssl_default))
        if endpoint and endpoint.startswith("http://") and use_ssl:
            raise ValueError(
                "extra_config.use_ssl is true but endpoint_url starts with http://: use https:// or set use_ssl false"
            )
        extra["use_ssl"] = use_ssl
        if "force_path_style" in spec.extra_config:
            extra["force_path_style"] = _as_bool("force_path_style", spec.extra_config["force_path_style"])
        auth = dict(spec.auth or {"method": "anonymous"})
        if auth.get("method") not in self.auth_methods:
            raise ValueError(
                f"auth_config.method {auth.get('method')!r} is not supported for {spec.platform}: "
                f"use one of {', '.join(self.auth_methods)}"
            )
        return spec.with_changes(extra_config=extra, auth=auth)

    # --- settings shared by the Icechunk storage and the boto3 handle ---

    @staticmethod
    def _settings(spec: BucketSpec) -> dict[str, Any]:
        extra = spec.extra_config
        use_ssl = bool(extra.get("use_ssl", True))
        return {
            "endpoint_url": extra.get("endpoint_url") or None,
            "region": extra.get("region_name") or DEFAULT_REGION,
            "use_ssl": use_ssl,
            "force_path_style": bool(extra.get("force_path_style", not use_ssl)),
        }

    def credentials(self, spec: BucketSpec, *, read_only: bool) -> S3Credentials | None:
        if spec.auth_method == "hmac":
            assert spec.auth is not None
            return S3Credentials(
                aws_access_key_id=spec.auth["access_key_id"],
                aws_secret_access_key=spec.auth["secret_access_key"],
            )
        return None

    def icechunk_storage(
        self, spec: BucketSpec, prefix: str, credentials: S3Credentials | None
    ) -> icechunk.Storage:
        s = self._settings(spec)
        kwargs: dict[str, Any] = {
            "bucket": spec.name,
            "prefix": prefix,
            "region": s["region"],
            "endpoint_url": s["endpoint_url"],
            "allow_http": not s["use_ssl"],
            "force_path_style": s["force_path_style"],
        }
        if credentials is None:
            kwargs["anonymous"] = True
        else:
            kwargs.update(
                access_key_id=credentials.aws_access_key_id,
                secret_access_key=credentials.aws_secret_access_key,
                session_token=credentials.aws_session_token,
                expires_after=credentials.expiration,
            )
        return icechunk.s3_storage(**kwargs)

    def object_store(self, spec: BucketSpec) -> S3ObjectStore:
        return S3ObjectStore(spec, self._settings(spec), self.credentials(spec, read_only=False))


class S3ObjectStore:
    """boto3 handle on one S3 bucket, with errors translated into plain messages."""

    def __init__(self, spec: BucketSpec, settings: dict[str, Any], credentials: S3Credentials | None) -> None:
        self.spec = spec
        self.endpoint = settings["endpoint_url"]
        config = Config(
            s3={"addressing_style": "path" if settings["force_path_style"] else "auto"},
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 2, "mode": "standard"},
            signature_version=UNSIGNED if credentials is None else None,
        )
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=settings["region"],
            use_ssl=settings["use_ssl"],
            aws_access_key_id=credentials.aws_access_key_id if credentials else None,
            aws_secret_access_key=credentials.aws_secret_access_key if credentials else None,
            aws_session_token=credentials.aws_session_token if credentials else None,
            config=config,
        )

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"bucket {self.spec.name!r}{where}"

    def _translate(self, exc: Exception, doing: str) -> Exception:
        if isinstance(exc, EndpointConnectionError):
            return StorageError(f"cannot reach the endpoint {self.endpoint or 'AWS S3'} while {doing}")
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchBucket", "404"):
                return NotFoundError(
                    f"{self.describe()} does not exist (while {doing}); check the bucket name"
                )
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"):
                return PermissionDeniedError(
                    f"the store rejected the bucket config's keys ({code}) while {doing}; "
                    "check access_key_id and secret_access_key"
                )
            if code in ("AccessDenied", "403", "AllAccessDisabled"):
                return PermissionDeniedError(f"access denied to {self.describe()} while {doing}")
            if code == "RequestTimeTooSkewed":
                return StorageError("the store says this server's clock is skewed; fix the server's time")
            return StorageError(f"the store answered {code or 'an error'} while {doing} on {self.describe()}")
        if isinstance(exc, BotoCoreError):
            return StorageError(
                f"object store error while {doing} on {self.describe()}: {type(exc).__name__}"
            )
        return exc

    def is_empty(self, prefix: str) -> bool:
        try:
            resp = self._client.list_objects_v2(Bucket=self.spec.name, Prefix=f"{prefix}/", MaxKeys=1)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, f"listing {prefix!r}") from None
        return not resp.get("KeyCount", len(resp.get("Contents", [])))

    def delete_prefix(self, prefix: str) -> int:
        if not prefix:
            raise ValueError("refusing to delete a whole bucket: the repo prefix is empty")
        deleted = 0
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.spec.name, Prefix=f"{prefix}/"):
                keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
                for start in range(0, len(keys), 1000):
                    batch = keys[start : start + 1000]
                    self._client.delete_objects(
                        Bucket=self.spec.name, Delete={"Objects": batch, "Quiet": True}
                    )
                    deleted += len(batch)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, f"deleting {prefix!r}") from None
        return deleted
