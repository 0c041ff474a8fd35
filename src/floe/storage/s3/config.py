"""S3 bucket configs: validation and the settings the Icechunk storage and the boto3 handle share."""

from __future__ import annotations

import re
from typing import Any

from floe.storage.base import BucketSpec
from floe.storage.validate import check_auth, check_extra_keys, check_http_url, check_use_ssl, config_bool

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]")
_R2_ACCOUNT_RE = re.compile(r"[0-9a-fA-F]{32}")
DEFAULT_REGION = "us-east-1"
S3_EXTRA_KEYS = ("region_name", "endpoint_url", "use_ssl", "force_path_style")
_ENDPOINT_FIX = "give a full URL such as https://my-project.s3-ext.jc.rl.ac.uk"
_OPTIONAL_KEYS = ("read_access_key_id", "read_secret_access_key", "readers_get_write_keys")


def normalize_s3(spec: BucketSpec, methods: tuple[str, ...], shown_keys: tuple[str, ...]) -> BucketSpec:
    """The canonical form of an S3-protocol spec; ``shown_keys`` are the keys error messages list."""
    if not _BUCKET_RE.fullmatch(spec.name) or ".." in spec.name:
        raise ValueError(
            f"invalid bucket name {spec.name!r}: S3 bucket names are 3-63 characters of lower-case "
            "letters, digits, '.', '-' (and '_' on some S3-compatible stores)"
        )
    check_extra_keys(spec, S3_EXTRA_KEYS, shown=shown_keys)
    extra: dict[str, str | bool] = {}
    endpoint = spec.extra_config.get("endpoint_url")
    if endpoint is not None:
        endpoint = check_http_url(endpoint, "extra_config.endpoint_url", _ENDPOINT_FIX)
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
    extra["use_ssl"] = check_use_ssl(spec, endpoint)
    if "force_path_style" in spec.extra_config:
        extra["force_path_style"] = config_bool("force_path_style", spec.extra_config["force_path_style"])
    auth = check_auth(spec, methods)
    if auth.get("method") == "hmac":
        _check_hmac(auth)
    return spec.with_changes(extra_config=extra, auth=auth)


def _check_hmac(auth: dict[str, Any]) -> None:
    for optional in _OPTIONAL_KEYS:
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


def r2_extra(spec: BucketSpec) -> dict[str, Any]:
    """R2's extra_config in S3 terms: ``account_id`` becomes the account's endpoint."""
    extra = dict(spec.extra_config)
    account = extra.pop("account_id", None)
    if account and not extra.get("endpoint_url"):
        if not _R2_ACCOUNT_RE.fullmatch(str(account)):
            raise ValueError(
                f"invalid extra_config.account_id {account!r}: R2 account ids are 32 hex characters"
            )
        extra["endpoint_url"] = f"https://{account}.r2.cloudflarestorage.com"
    if not extra.get("endpoint_url"):
        raise ValueError("platform r2 needs extra_config.account_id or extra_config.endpoint_url")
    extra.setdefault("region_name", "auto")
    return extra


def tigris_extra(spec: BucketSpec, default_endpoint: str) -> dict[str, Any]:
    """Tigris's extra_config: its endpoint by default, and a region of its own."""
    extra = dict(spec.extra_config)
    extra.setdefault("endpoint_url", default_endpoint)
    if extra.get("region_name") in (None, "", "auto"):
        raise ValueError("platform tigris needs extra_config.region_name set to a Tigris region, e.g. iad")
    return extra


def settings(spec: BucketSpec) -> dict[str, Any]:
    """Endpoint, region, TLS and addressing of a normalized spec."""
    extra = spec.extra_config
    use_ssl = bool(extra.get("use_ssl", True))
    return {
        "endpoint_url": extra.get("endpoint_url") or None,
        "region": extra.get("region_name") or DEFAULT_REGION,
        "use_ssl": use_ssl,
        "force_path_style": bool(extra.get("force_path_style", not use_ssl)),
    }
