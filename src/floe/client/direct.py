"""Catalog-free use: open an Icechunk repo by URI with per-bucket settings from the user's config.

For people who have a bucket but no Floe server (the habit dtool users have: one endpoint
and key pair per bucket). Settings for a bucket come from, in order:

1. environment variables ``FLOE_BUCKET_<NAME>_<KEY>`` where ``NAME`` is the bucket name
   upper-cased with every non-alphanumeric character replaced by ``_`` and ``KEY`` one of
   ``ENDPOINT_URL``, ``REGION_NAME``, ``ACCESS_KEY_ID``, ``SECRET_ACCESS_KEY``, ``USE_SSL``,
   ``FORCE_PATH_STYLE``, ``PLATFORM``;
2. the ``[buckets."NAME"]`` table of the user config file (``floe`` config dir, mode 0600
   when it holds secrets);
3. otherwise credentials from the environment (``AWS_*``, instance roles), as Icechunk finds them.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import icechunk

from floe.client.config import config_path
from floe.errors import PermissionDeniedError, StorageError, ValidationError
from floe.models import S3Credentials
from floe.storage import BucketSpec, icechunk_storage, normalize, parse_uri
from floe.storage.base import StoragePolicy

SETTING_KEYS = (
    "endpoint_url",
    "region_name",
    "access_key_id",
    "secret_access_key",
    "use_ssl",
    "force_path_style",
    "platform",
)
_EXTRA_KEYS = ("endpoint_url", "region_name", "use_ssl", "force_path_style")
_ANYWHERE = StoragePolicy(file_roots=(Path("/"),))  # no server here: every local folder is the user's own


def _env_name(bucket: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", bucket).upper()


def bucket_settings(bucket: str) -> dict[str, Any]:
    """The settings for ``bucket`` from the environment and the user config file."""
    settings: dict[str, Any] = {}
    path = config_path()
    if path.exists():
        try:
            with path.open("rb") as fh:
                table = tomllib.load(fh).get("buckets", {}).get(bucket, {})
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError(f"cannot read {path}: {exc}") from None
        if not isinstance(table, dict):
            raise ValidationError(f'{path}: [buckets."{bucket}"] must be a table')
        unknown = sorted(set(table) - set(SETTING_KEYS))
        if unknown:
            raise ValidationError(
                f'{path}: unknown key(s) {", ".join(unknown)} in [buckets."{bucket}"]; allowed: {", ".join(SETTING_KEYS)}'
            )
        if table.get("secret_access_key") and path.stat().st_mode & 0o077:
            raise PermissionDeniedError(
                f"{path} holds a secret but others may read it: run `chmod 600 {path}`"
            )
        settings.update(table)
    prefix = f"FLOE_BUCKET_{_env_name(bucket)}_"
    for key in SETTING_KEYS:
        value = os.environ.get(prefix + key.upper())
        if value is not None:
            settings[key] = value
    return settings


def storage_for_uri(uri: str) -> icechunk.Storage:
    """The Icechunk storage at ``uri`` (``s3://bucket/prefix``, ``gs://...``, ``file:///...``)."""
    try:
        platform, bucket, prefix = parse_uri(uri)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    settings = bucket_settings(bucket) if platform not in ("file", "memory") else {}
    extra = {k: settings[k] for k in _EXTRA_KEYS if k in settings}
    platform = settings.get("platform") or (
        "s3-compatible" if platform == "s3" and "endpoint_url" in extra else platform
    )
    if platform == "s3" and "region_name" not in extra:
        extra["region_name"] = (
            os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        )
    creds = None
    if settings.get("access_key_id") or settings.get("secret_access_key"):
        if not (settings.get("access_key_id") and settings.get("secret_access_key")):
            raise ValidationError(
                f"bucket {bucket!r}: give both access_key_id and secret_access_key, or neither"
            )
        creds = S3Credentials(
            aws_access_key_id=settings["access_key_id"], aws_secret_access_key=settings["secret_access_key"]
        )
        auth = {"method": "hmac", **{k: settings[k] for k in ("access_key_id", "secret_access_key")}}
    elif platform in ("file", "memory"):
        auth = {"method": "none"}
    else:
        auth = {"method": "from_env"}
    try:
        spec = normalize(BucketSpec(platform=platform, name=bucket, extra_config=extra, auth=auth), _ANYWHERE)
    except ValueError as exc:
        raise ValidationError(f"bucket {bucket!r}: {exc}") from None
    return icechunk_storage(spec, prefix, creds)


def open_uri(
    uri: str, *, create: bool = False, config: icechunk.RepositoryConfig | None = None
) -> icechunk.Repository:
    """Open (or with ``create=True`` create, if absent) the Icechunk repo at ``uri`` without a catalog."""
    storage = storage_for_uri(uri)
    try:
        if create:
            return icechunk.Repository.open_or_create(storage, config=config)
        return icechunk.Repository.open(storage, config=config)
    except icechunk.IcechunkError as exc:
        raise StorageError(f"opening {uri} failed: {str(exc).strip().splitlines()[0][:300]}") from None
