"""AWS S3, S3-compatible stores (JASMIN, IBM COS, Ceph, MinIO), Cloudflare R2 and Tigris."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any

import icechunk

from floe.models import S3Credentials, TempCredentials
from floe.storage.base import BucketSpec, Location, PlatformAdapter, Refresher, StoragePolicy, join_prefix
from floe.storage.refresh import Refreshing
from floe.storage.s3 import config
from floe.storage.s3.credentials import assume_role, hmac_credentials, static_credentials

if TYPE_CHECKING:
    from floe.storage.s3.store import S3ObjectStore

_REFRESH_MARGIN = timedelta(seconds=60)  # credentials expiring sooner are not worth handing out


class S3Adapter(PlatformAdapter):
    """``s3``, ``s3-compatible`` and ``minio`` bucket configs."""

    platforms = ("s3", "s3-compatible", "minio")
    auth_methods = ("hmac", "anonymous", "from_env", "aws_sts")
    extra_config_keys = config.S3_EXTRA_KEYS
    store_keys = ("endpoint_url",)
    virtual_scheme = "s3"

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        return config.normalize_s3(spec, self.auth_methods, self.extra_config_keys)

    def location_only(self, platform: str, name: str, prefix: str, extra: Mapping[str, Any]) -> BucketSpec:
        extra = dict(extra)
        if platform == "s3":
            extra.setdefault("region_name", config.DEFAULT_REGION)  # AWS is one namespace: the region is moot
        return super().location_only(platform, name, prefix, extra)

    def endpoints(self, spec: BucketSpec) -> tuple[tuple[str, str], ...]:
        found = []
        if spec.extra_config.get("endpoint_url"):
            found.append(("extra_config.endpoint_url", str(spec.extra_config["endpoint_url"])))
        if (spec.auth or {}).get("sts_endpoint_url"):
            found.append(("auth_config.sts_endpoint_url", str((spec.auth or {})["sts_endpoint_url"])))
        return tuple(found)

    def location(self, spec: BucketSpec) -> Location:
        endpoint = str(spec.extra_config.get("endpoint_url") or "https://s3.amazonaws.com")
        return Location.at("s3", endpoint, join_prefix(spec.name, spec.prefix))

    def credentials(self, spec: BucketSpec, *, prefix: str | None, read_only: bool) -> S3Credentials | None:
        if spec.auth_method == "hmac":
            return hmac_credentials(spec.auth or {}, read_only=read_only)
        if spec.auth_method == "aws_sts":
            return assume_role(spec, config.settings(spec), prefix=prefix, read_only=read_only)
        return None

    # --- Icechunk ---

    def _icechunk_constructor(self) -> Callable[..., icechunk.Storage]:
        return icechunk.s3_storage

    def _icechunk_kwargs(self, spec: BucketSpec) -> dict[str, Any]:
        s = config.settings(spec)
        return {
            "bucket": spec.name,
            "region": s["region"],
            "endpoint_url": s["endpoint_url"],
            "allow_http": not s["use_ssl"],
            "force_path_style": s["force_path_style"],
            **self._timeouts(spec),
        }

    @staticmethod
    def _timeouts(spec: BucketSpec) -> dict[str, Any]:
        """A client's ``network_stream_timeout_seconds`` storage option, where it gave one."""
        timeout = spec.extra_config.get("network_stream_timeout_seconds")
        return {} if timeout is None else {"network_stream_timeout_seconds": int(timeout)}

    def icechunk_storage(
        self,
        spec: BucketSpec,
        prefix: str,
        credentials: TempCredentials | None,
        refresh: Refresher | None = None,
    ) -> icechunk.Storage:
        kwargs = self._icechunk_kwargs(spec)
        kwargs["prefix"] = prefix
        if credentials is not None and not isinstance(credentials, S3Credentials):
            raise ValueError(
                f"platform {spec.platform} needs S3 credentials, got {type(credentials).__name__}"
            )
        if spec.auth_method == "from_env":
            kwargs["from_env"] = True
        elif credentials is None and refresh is None:
            kwargs["anonymous"] = True
        elif refresh is not None and (credentials is None or credentials.expiration is not None):
            kwargs["get_credentials"] = refreshing(refresh, credentials)
        else:
            assert credentials is not None
            kwargs.update(
                access_key_id=credentials.aws_access_key_id,
                secret_access_key=credentials.aws_secret_access_key,
                session_token=credentials.aws_session_token,
                # Icechunk takes only datetime.UTC (boto3's STS answers carry dateutil's tzutc)
                expires_after=credentials.expiration.astimezone(UTC) if credentials.expiration else None,
            )
        return self._icechunk_constructor()(**kwargs)

    # --- the server's handle ---

    def object_store(self, spec: BucketSpec) -> S3ObjectStore:
        from floe.storage.s3.store import S3ObjectStore

        auth = spec.auth or {}
        creds = None
        if spec.auth_method in ("hmac", "aws_sts"):
            # the server probes and deletes with the long-lived keys it keeps
            creds = S3Credentials(
                aws_access_key_id=auth["access_key_id"], aws_secret_access_key=auth["secret_access_key"]
            )
        return S3ObjectStore(spec, config.settings(spec), creds, from_env=spec.auth_method == "from_env")

    def read_only_store(self, spec: BucketSpec) -> S3ObjectStore | None:
        """A handle using the read-only key pair of an ``hmac`` config, if it has one (for the probe)."""
        from floe.storage.s3.store import S3ObjectStore

        auth = spec.auth or {}
        if spec.auth_method != "hmac" or not auth.get("read_access_key_id"):
            return None
        creds = S3Credentials(
            aws_access_key_id=auth["read_access_key_id"], aws_secret_access_key=auth["read_secret_access_key"]
        )
        return S3ObjectStore(spec, config.settings(spec), creds)

    # --- virtual chunk containers ---

    def virtual_store(self, spec: BucketSpec) -> Any:
        s = config.settings(spec)
        options = icechunk.S3Options(
            region=str(s["region"]),
            endpoint_url=str(s["endpoint_url"]) if s["endpoint_url"] else None,
            allow_http=not s["use_ssl"],
            anonymous=spec.auth_method == "anonymous",
            force_path_style=s["force_path_style"],
        )
        if spec.platform == "s3":
            return icechunk.ObjectStoreConfig.S3(options)
        return icechunk.ObjectStoreConfig.S3Compatible(options)

    def virtual_credentials(self, auth_method: str, creds: TempCredentials | None) -> object | None:
        if isinstance(creds, S3Credentials):
            return icechunk.s3_static_credentials(
                access_key_id=creds.aws_access_key_id,
                secret_access_key=creds.aws_secret_access_key,
                session_token=creds.aws_session_token,
                expires_after=creds.expiration,
            )
        if auth_method == "from_env":
            return icechunk.s3_from_env_credentials()
        return icechunk.s3_anonymous_credentials()


def refreshing(refresh: Refresher, initial: S3Credentials | None) -> Refreshing[S3Credentials]:
    """Icechunk's S3 credential callback."""
    return Refreshing(
        refresh, initial, kind=S3Credentials, convert=static_credentials, margin=_REFRESH_MARGIN, label="S3"
    )


class R2Adapter(S3Adapter):
    """Cloudflare R2: S3 API at ``https://ACCOUNT_ID.r2.cloudflarestorage.com``."""

    platforms = ("r2",)
    auth_methods = ("hmac", "anonymous")
    extra_config_keys = ("account_id", "endpoint_url", "use_ssl")

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        spec = spec.with_changes(extra_config=config.r2_extra(spec))
        return config.normalize_s3(spec, self.auth_methods, self.extra_config_keys)

    def _icechunk_constructor(self) -> Callable[..., icechunk.Storage]:
        return icechunk.r2_storage

    def _icechunk_kwargs(self, spec: BucketSpec) -> dict[str, Any]:
        kwargs = super()._icechunk_kwargs(spec)
        kwargs.pop("force_path_style")
        return {**kwargs, "account_id": None}


class TigrisAdapter(S3Adapter):
    """Tigris: S3 API with its own consistency model (Icechunk's ``tigris_storage``)."""

    platforms = ("tigris",)
    auth_methods = ("hmac", "anonymous")
    extra_config_keys = ("region_name", "endpoint_url", "use_ssl")
    DEFAULT_ENDPOINT = "https://t3.storage.dev"

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        spec = spec.with_changes(extra_config=config.tigris_extra(spec, self.DEFAULT_ENDPOINT))
        return config.normalize_s3(spec, self.auth_methods, self.extra_config_keys)

    def _icechunk_constructor(self) -> Callable[..., icechunk.Storage]:
        return icechunk.tigris_storage

    def _icechunk_kwargs(self, spec: BucketSpec) -> dict[str, Any]:
        kwargs = super()._icechunk_kwargs(spec)
        kwargs.pop("force_path_style")
        return kwargs
