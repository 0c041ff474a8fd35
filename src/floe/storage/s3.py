"""AWS S3 and S3-compatible stores (JASMIN, IBM COS, Ceph, MinIO) with HMAC or anonymous access."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import icechunk

from floe.errors import PermissionDeniedError, StorageError
from floe.models import S3Credentials, TempCredentials
from floe.storage.base import BucketSpec, Location, Refresher, StoragePolicy, config_bool, join_prefix
from floe.storage.s3_store import S3ObjectStore

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]")
DEFAULT_REGION = "us-east-1"


class S3Adapter:
    """``s3``, ``s3-compatible`` and ``minio`` bucket configs."""

    platforms = ("s3", "s3-compatible", "minio")
    auth_methods = ("hmac", "anonymous", "from_env", "aws_sts")
    extra_config_keys = ("region_name", "endpoint_url", "use_ssl", "force_path_style")

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        return self._normalize_s3(spec, self.extra_config_keys)

    def _normalize_s3(self, spec: BucketSpec, allowed_keys: tuple[str, ...]) -> BucketSpec:
        if not _BUCKET_RE.fullmatch(spec.name) or ".." in spec.name:
            raise ValueError(
                f"invalid bucket name {spec.name!r}: S3 bucket names are 3-63 characters of lower-case "
                "letters, digits, '.', '-' (and '_' on some S3-compatible stores)"
            )
        unknown = sorted(set(spec.extra_config) - set(allowed_keys))
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
        elif spec.platform != "s3":
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
        use_ssl = config_bool("use_ssl", spec.extra_config.get("use_ssl", use_ssl_default))
        if endpoint and endpoint.startswith("http://") and use_ssl:
            raise ValueError(
                "extra_config.use_ssl is true but endpoint_url starts with http://: use https:// or set use_ssl false"
            )
        extra["use_ssl"] = use_ssl
        if "force_path_style" in spec.extra_config:
            extra["force_path_style"] = config_bool("force_path_style", spec.extra_config["force_path_style"])
        auth = dict(spec.auth or {"method": "anonymous"})
        if auth.get("method") not in self.auth_methods:
            raise ValueError(
                f"auth_config.method {auth.get('method')!r} is not supported for {spec.platform}: "
                f"use one of {', '.join(self.auth_methods)}"
            )
        if auth.get("method") == "hmac":
            for optional in ("read_access_key_id", "read_secret_access_key", "readers_get_write_keys"):
                if not auth.get(optional):
                    auth.pop(optional, None)  # stored only when given
            if bool(auth.get("read_access_key_id")) != bool(auth.get("read_secret_access_key")):
                raise ValueError(
                    "auth_config needs both read_access_key_id and read_secret_access_key for a read-only "
                    "key pair, or neither"
                )
            if auth.get("read_access_key_id") and auth.get("read_access_key_id") == auth.get("access_key_id"):
                raise ValueError(
                    "auth_config.read_access_key_id is the same key as access_key_id: give a key that can "
                    "only read (for example IBM COS service credentials with the Reader role)"
                )
        return spec.with_changes(extra_config=extra, auth=auth)

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

    def credentials(self, spec: BucketSpec, *, prefix: str | None, read_only: bool) -> S3Credentials | None:
        method = spec.auth_method
        auth = spec.auth or {}
        if method == "hmac":
            return hmac_credentials(auth, read_only=read_only)
        if method == "aws_sts":
            return assume_role(spec, self._settings(spec), prefix=prefix, read_only=read_only)
        return None

    def _icechunk_constructor(self) -> Callable[..., icechunk.Storage]:
        return icechunk.s3_storage

    def _icechunk_kwargs(self, spec: BucketSpec) -> dict[str, Any]:
        s = self._settings(spec)
        return {
            "bucket": spec.name,
            "region": s["region"],
            "endpoint_url": s["endpoint_url"],
            "allow_http": not s["use_ssl"],
            "force_path_style": s["force_path_style"],
        }

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
        elif refresh is not None and credentials is not None and credentials.expiration is not None:
            kwargs["get_credentials"] = _S3Refresh(refresh, initial=credentials)
        elif refresh is not None and credentials is None:
            kwargs["get_credentials"] = _S3Refresh(refresh, initial=None)
        else:
            assert credentials is not None
            kwargs.update(
                access_key_id=credentials.aws_access_key_id,
                secret_access_key=credentials.aws_secret_access_key,
                session_token=credentials.aws_session_token,
                expires_after=credentials.expiration,
            )
        return self._icechunk_constructor()(**kwargs)

    def object_store(self, spec: BucketSpec) -> S3ObjectStore:
        auth = spec.auth or {}
        creds = None
        if spec.auth_method in ("hmac", "aws_sts"):
            # the server probes and deletes with the long-lived keys it keeps
            creds = S3Credentials(
                aws_access_key_id=auth["access_key_id"], aws_secret_access_key=auth["secret_access_key"]
            )
        return S3ObjectStore(spec, self._settings(spec), creds, from_env=spec.auth_method == "from_env")

    def read_only_store(self, spec: BucketSpec) -> S3ObjectStore | None:
        """A handle using the read-only key pair of an ``hmac`` config, if it has one (for the probe)."""
        auth = spec.auth or {}
        if spec.auth_method != "hmac" or not auth.get("read_access_key_id"):
            return None
        creds = S3Credentials(
            aws_access_key_id=auth["read_access_key_id"], aws_secret_access_key=auth["read_secret_access_key"]
        )
        return S3ObjectStore(spec, self._settings(spec), creds)


class ReaderKeysMissing(PermissionDeniedError):
    """An ``hmac`` bucket config with no read-only key pair: readers get no keys."""


def hmac_credentials(auth: dict[str, Any] | Any, *, read_only: bool) -> S3Credentials:
    """The keys a caller receives from an ``hmac`` config: readers get the read-only pair.

    Without a read-only pair, readers get the write keys only where an org admin allowed it
    (``readers_get_write_keys``); otherwise :class:`ReaderKeysMissing` says how to fix it.
    """
    if read_only and auth.get("read_access_key_id"):
        return S3Credentials(
            aws_access_key_id=auth["read_access_key_id"], aws_secret_access_key=auth["read_secret_access_key"]
        )
    if read_only and not auth.get("readers_get_write_keys"):
        raise ReaderKeysMissing(
            "this repo's bucket config holds only keys that can write, and readers never receive those: "
            "an org admin can add a read-only key pair (`floe bucket modify NICKNAME --access-key-id ... "
            "--read-access-key-id ...`), or allow readers the write keys for that bucket config "
            "(`floe bucket modify NICKNAME --access-key-id ... --readers-get-write-keys`)"
        )
    return S3Credentials(
        aws_access_key_id=auth["access_key_id"], aws_secret_access_key=auth["secret_access_key"]
    )


class _S3Refresh:
    """Icechunk's credential callback: the vended credentials while they are fresh, then new ones.

    Icechunk pickles the callback (and Dask ships it to workers), so it keeps no state
    between calls: it decides from the initial credentials' expiry alone. Icechunk caches
    what it returns until ``expires_after``, so the catalog is asked about once per expiry.
    """

    def __init__(self, refresh: Refresher, initial: S3Credentials | None) -> None:
        self.refresh = refresh
        self.initial = initial

    def __call__(self) -> icechunk.S3StaticCredentials:
        creds = self.initial
        if creds is None or (creds.expiration is not None and creds.expiration <= _soon()):
            creds = self.refresh()
        if not isinstance(creds, S3Credentials):
            raise TypeError(f"expected S3 credentials from the catalog, got {type(creds).__name__}")
        return icechunk.S3StaticCredentials(
            access_key_id=creds.aws_access_key_id,
            secret_access_key=creds.aws_secret_access_key,
            session_token=creds.aws_session_token,
            expires_after=creds.expiration.astimezone(UTC) if creds.expiration else None,
        )


def _soon() -> datetime:
    """Credentials expiring before this are not worth handing out."""
    return datetime.now(UTC) + timedelta(seconds=60)


class R2Adapter(S3Adapter):
    """Cloudflare R2: S3 API at ``https://ACCOUNT_ID.r2.cloudflarestorage.com``."""

    platforms = ("r2",)
    auth_methods = ("hmac", "anonymous")
    extra_config_keys = ("account_id", "endpoint_url", "use_ssl")

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        extra = dict(spec.extra_config)
        account = extra.pop("account_id", None)
        if account and not extra.get("endpoint_url"):
            if not re.fullmatch(r"[0-9a-fA-F]{32}", str(account)):
                raise ValueError(
                    f"invalid extra_config.account_id {account!r}: R2 account ids are 32 hex characters"
                )
            extra["endpoint_url"] = f"https://{account}.r2.cloudflarestorage.com"
        if not extra.get("endpoint_url"):
            raise ValueError("platform r2 needs extra_config.account_id or extra_config.endpoint_url")
        extra.setdefault("region_name", "auto")
        return self._normalize_s3(spec.with_changes(extra_config=extra), S3Adapter.extra_config_keys)

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
        extra = dict(spec.extra_config)
        extra.setdefault("endpoint_url", self.DEFAULT_ENDPOINT)
        if extra.get("region_name") in (None, "", "auto"):
            raise ValueError(
                "platform tigris needs extra_config.region_name set to a Tigris region, e.g. iad"
            )
        return self._normalize_s3(spec.with_changes(extra_config=extra), S3Adapter.extra_config_keys)

    def _icechunk_constructor(self) -> Callable[..., icechunk.Storage]:
        return icechunk.tigris_storage

    def _icechunk_kwargs(self, spec: BucketSpec) -> dict[str, Any]:
        kwargs = super()._icechunk_kwargs(spec)
        kwargs.pop("force_path_style")
        return kwargs


def _session_policy(bucket: str, prefix: str | None, read_only: bool) -> str | None:
    """An IAM session policy narrowing STS credentials to ``prefix`` (and to reading)."""
    if not prefix:
        return None
    actions = ["s3:GetObject"] if read_only else ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": actions, "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/*"]},
                {
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{bucket}"],
                    "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}},
                },
            ],
        }
    )


def assume_role(
    spec: BucketSpec, settings: dict[str, Any], *, prefix: str | None, read_only: bool
) -> S3Credentials:
    """Vend short-lived credentials with STS ``AssumeRole`` using the server's long-lived keys."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    auth = spec.auth or {}
    sts = boto3.session.Session().client(
        "sts",
        endpoint_url=auth.get("sts_endpoint_url") or settings["endpoint_url"],
        region_name=settings["region"],
        aws_access_key_id=auth["access_key_id"],
        aws_secret_access_key=auth["secret_access_key"],
    )
    kwargs: dict[str, Any] = {
        "RoleArn": auth["role_arn"],
        "RoleSessionName": f"floe-{'read' if read_only else 'write'}",
        "DurationSeconds": int(auth.get("duration_seconds", 3600)),
    }
    policy = _session_policy(spec.name, prefix, read_only)
    if policy:
        kwargs["Policy"] = policy
    if auth.get("external_id"):
        kwargs["ExternalId"] = auth["external_id"]
    try:
        creds = sts.assume_role(**kwargs)["Credentials"]
    except (ClientError, BotoCoreError) as exc:
        code = (
            exc.response.get("Error", {}).get("Code", "")
            if isinstance(exc, ClientError)
            else type(exc).__name__
        )
        raise StorageError(
            f"STS AssumeRole on {auth['role_arn']} failed ({code}); check role_arn and the keys"
        ) from None
    return S3Credentials(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        expiration=creds["Expiration"],
    )
