"""Virtual chunk containers: let a repo reference bytes in another registered bucket.

Icechunk needs, per URL prefix, a container config (how to reach the store) and, when a repo
is opened, credentials for it. Both come from a bucket config: the config from its public
settings, the credentials vended by the catalog.
"""

from __future__ import annotations

import icechunk

from floe.models import AzureCredentials, GSCredentials, S3Credentials, TempCredentials
from floe.storage.base import BucketSpec, join_prefix

_S3_FAMILY = ("s3", "s3-compatible", "minio", "r2", "tigris")


def bucket_url(spec: BucketSpec) -> str:
    """The URL prefix of everything a bucket config covers, e.g. ``s3://bucket/prefix/``."""
    if spec.platform == "file":
        return f"file:///{join_prefix(spec.name, spec.prefix)}/"
    scheme = "s3" if spec.platform in _S3_FAMILY else {"gs": "gs", "azure": "az"}.get(spec.platform)
    if scheme is None:
        raise ValueError(f"platform {spec.platform!r} cannot hold virtual chunks")
    path = join_prefix(spec.name, spec.prefix)
    return f"{scheme}://{path}/"


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
    extra = spec.extra_config
    if spec.platform in _S3_FAMILY:
        use_ssl = bool(extra.get("use_ssl", True))
        options = icechunk.S3Options(
            region=str(extra.get("region_name") or "us-east-1"),
            endpoint_url=str(extra["endpoint_url"]) if extra.get("endpoint_url") else None,
            allow_http=not use_ssl,
            anonymous=spec.auth_method == "anonymous",
            force_path_style=bool(extra.get("force_path_style", not use_ssl)),
        )
        store = (
            icechunk.ObjectStoreConfig.S3(options)
            if spec.platform == "s3"
            else icechunk.ObjectStoreConfig.S3Compatible(options)
        )
    elif spec.platform == "gs":
        store = icechunk.ObjectStoreConfig.Gcs({})
    elif spec.platform == "azure":
        store = icechunk.ObjectStoreConfig.Azure({"account_name": str(extra.get("account_name", ""))})
    elif spec.platform == "file":
        store = icechunk.ObjectStoreConfig.LocalFileSystem("/" + join_prefix(spec.name, spec.prefix))
    else:
        raise ValueError(f"platform {spec.platform!r} cannot hold virtual chunks")
    return icechunk.VirtualChunkContainer(url_prefix, store)


def icechunk_credentials(platform: str, auth_method: str, creds: TempCredentials | None) -> object | None:
    """Catalog-vended credentials in the form ``icechunk.containers_credentials`` takes."""
    if isinstance(creds, S3Credentials):
        return icechunk.s3_static_credentials(
            access_key_id=creds.aws_access_key_id,
            secret_access_key=creds.aws_secret_access_key,
            session_token=creds.aws_session_token,
            expires_after=creds.expiration,
        )
    if isinstance(creds, GSCredentials):
        return icechunk.gcs_static_credentials(bearer_token=creds.access_token)
    if isinstance(creds, AzureCredentials):
        return icechunk.azure_static_credentials(sas_token=creds.sas_token)
    if auth_method == "from_env":
        return {"gs": icechunk.gcs_from_env_credentials, "azure": icechunk.azure_from_env_credentials}.get(
            platform, icechunk.s3_from_env_credentials
        )()
    if platform in _S3_FAMILY:
        return icechunk.s3_anonymous_credentials()
    if platform == "gs":
        return icechunk.gcs_anonymous_credentials()
    return None
