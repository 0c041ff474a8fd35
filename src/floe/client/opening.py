"""From a catalog ``open`` answer to Icechunk objects: storage, config, virtual chunk containers, the
repository. The one client module that builds Icechunk objects from catalog answers; the operations
(``_operations``) load it on the first open, so ``import floe.client`` loads no Icechunk.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

import icechunk
from pydantic import TypeAdapter

from floe.client._transport import ClientInfo
from floe.client.credentials import CatalogCredentials
from floe.client.leases import LeaseClient
from floe.client.repository import FloeRepository
from floe.errors import StorageError, ValidationError
from floe.models import Bucket, GSCredentials, OpenRepoResponse, RepoMode, S3Credentials, TempCredentials
from floe.storage import BucketSpec, icechunk_storage
from floe.storage.icechunk_logs import warn_local_once
from floe.storage.probe import icechunk_config_for
from floe.storage.virtual import bucket_url
from floe.storage.virtual import container as virtual_container
from floe.storage.virtual import icechunk_credentials as virtual_credentials

LEASES_OFF_ENV = "FLOE_DISABLE_COMMIT_LEASES"  # for demonstrating what leases prevent; never in production

_CREDENTIALS: TypeAdapter[TempCredentials] = TypeAdapter(TempCredentials)


def icechunk_call(doing: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call Icechunk; any failure (including a Rust panic, a BaseException) becomes a StorageError."""
    try:
        return fn(*args, **kwargs)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:
        raise storage_failure(doing, exc) from None


def storage_failure(doing: str, exc: BaseException) -> StorageError:
    """A StorageError that says what was being done and the first line of what went wrong."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StorageError(f"{doing} failed: {first_line[:400]}")


STORAGE_OPTIONS = ("network_stream_timeout_seconds",)


def client_spec(bucket: Bucket, storage_options: Mapping[str, Any] | None = None) -> BucketSpec:
    """The bucket config as the storage layer needs it on a client: no secrets, only the auth method
    (``from_env`` means the client's own environment supplies the credentials); ``storage_options``
    (the arraylake client's ``network_stream_timeout_seconds``) travel in its extra config."""
    method = str((bucket.auth_config or {}).get("method", "anonymous"))
    extra: dict[str, Any] = {**bucket.extra_config, **check_storage_options(storage_options or {})}
    return BucketSpec(
        platform=bucket.platform,
        name=bucket.name,
        prefix=bucket.prefix,
        extra_config=extra,
        auth={"method": method},
    )


def check_storage_options(storage_options: Mapping[str, Any]) -> dict[str, Any]:
    """The arraylake client's storage options, checked: only ``network_stream_timeout_seconds``."""
    for key, value in storage_options.items():
        if key not in STORAGE_OPTIONS:
            raise ValidationError(f"unknown storage option {key!r}: use {', '.join(STORAGE_OPTIONS)}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValidationError(f"storage option {key} must be a whole number of seconds (0: no timeout)")
    return dict(storage_options)


def as_temp_credentials(value: Any) -> TempCredentials | None:
    """Credentials given by a caller as Floe's models, the arraylake client's models of the same shape
    (``S3Credentials``, ``GSCredentials``), a dict of their fields, or icechunk's static S3 or
    bearer-token credentials."""
    if value is None or isinstance(value, (S3Credentials, GSCredentials)):
        return value
    inner = getattr(value, "_0", None)  # icechunk.Credentials.S3.Static / Gcs.Static wrap their value
    if inner is not None and hasattr(inner, "access_key_id"):
        return S3Credentials(
            aws_access_key_id=inner.access_key_id,
            aws_secret_access_key=inner.secret_access_key,
            aws_session_token=inner.session_token,
            expiration=inner.expires_after,
        )
    if isinstance(inner, str) and type(value).__name__.endswith("BearerToken"):
        return GSCredentials(access_token=inner, principal="")
    fields = value.model_dump() if hasattr(value, "model_dump") else value
    try:
        return _CREDENTIALS.validate_python(fields)
    except ValueError:
        raise ValidationError(
            "credentials_override must be S3Credentials or GSCredentials (Floe's or arraylake's), "
            "icechunk.s3_static_credentials(...) or a GCS bearer token"
        ) from None


def containers_in_buckets(url_prefixes: list[str], buckets: list[Bucket]) -> dict[str, str]:
    """URL prefix -> the nickname of the bucket config that covers it, for the prefixes one covers."""
    found: dict[str, str] = {}
    for url_prefix in url_prefixes:
        normalized = url_prefix if url_prefix.endswith("/") else url_prefix + "/"
        for bucket in buckets:
            try:
                base = bucket_url(client_spec(bucket))
            except (ValueError, NotImplementedError):
                continue
            if normalized.startswith(base):
                found[url_prefix] = bucket.nickname
                break
    return found


def parse_credentials(body: bytes) -> TempCredentials | None:
    """Vended credentials from a response body (``null`` or empty: none are needed)."""
    return _CREDENTIALS.validate_json(body) if body.strip() not in (b"", b"null") else None


def refresher(info: ClientInfo, org: str, repo: str, *, read_only: bool = False) -> CatalogCredentials:
    """The callable Icechunk calls when the vended credentials expire."""
    return CatalogCredentials(
        service_uri=info.service_uri, token=info.token, org=org, repo=repo, read_only=read_only
    )


def storage_from_open(
    opened: OpenRepoResponse,
    refresh: CatalogCredentials | None,
    credentials: TempCredentials | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> icechunk.Storage:
    """The repo's Icechunk storage; expiring credentials are refreshed from the catalog."""
    spec = client_spec(opened.repo_bucket, storage_options)
    if credentials is not None:
        return icechunk_storage(spec, opened.repo_prefix, credentials)
    creds = opened.repo_credentials
    expiring = creds is not None and creds.expiration is not None
    return icechunk_storage(spec, opened.repo_prefix, creds, refresh if expiring else None)


def repo_storage(
    name: str, opened: OpenRepoResponse, info: ClientInfo, credentials: TempCredentials | None = None
) -> icechunk.Storage:
    """The ``icechunk.Storage`` of ``ORG/REPO`` from its open answer."""
    org, repo = name.split("/")
    return storage_from_open(opened, refresher(info, org, repo), credentials)


def _lease_client(info: ClientInfo, name: str, opened: OpenRepoResponse) -> LeaseClient | None:
    """A lease client when the repo's store lacks conditional writes (no extra requests otherwise)."""
    if opened.repo is None or opened.repo.commit_protection != "leases" or os.environ.get(LEASES_OFF_ENV):
        return None
    org, repo = name.split("/")
    return LeaseClient(service_uri=info.service_uri, token=info.token, org=org, repo=repo)


def _write_block(name: str, opened: OpenRepoResponse, read_only: bool | None) -> str | None:
    if read_only:
        return f"{name} was opened with read_only=True"
    if not opened.can_write:
        return f"your token may only read {name}"
    if opened.status.mode != RepoMode.online:
        reason = f": {opened.status.message}" if opened.status.message else ""
        return f"{name} is in {opened.status.mode.value} mode{reason}; writes resume when it is online"
    return None


def check_config(config: Any) -> None:
    """Refuse a ``config`` that is not an ``icechunk.RepositoryConfig``."""
    if config is not None and not isinstance(config, icechunk.RepositoryConfig):
        raise ValidationError("config must be an icechunk.RepositoryConfig")


def with_containers(
    opened: OpenRepoResponse, config: icechunk.RepositoryConfig | None, overrides: dict[str, Any]
) -> tuple[icechunk.RepositoryConfig | None, dict[str, Any] | None]:
    """The repo config with a container for each authorised URL prefix, and their credentials."""
    if not opened.virtual_chunk_credentials and not overrides:
        return config, None
    config = config if config is not None else icechunk.RepositoryConfig.default()
    authorize: dict[str, Any] = {}
    for url_prefix, access in opened.virtual_chunk_credentials.items():
        config.set_virtual_chunk_container(virtual_container(client_spec(access.bucket), url_prefix))
        authorize[url_prefix] = virtual_credentials(access.platform, access.auth_method, access.credentials)
    authorize.update(overrides)
    return config, icechunk.containers_credentials(authorize)


def bucket_container_credentials(bucket: Bucket, creds: TempCredentials | None) -> Any:
    """Icechunk credentials for virtual chunks in a bucket config, from its vended credentials."""
    method = str((bucket.auth_config or {}).get("method", "anonymous"))
    return virtual_credentials(bucket.platform, method, creds)


def containers_credentials(found: dict[str, Any]) -> Any:
    """``icechunk.containers_credentials`` of URL prefix -> credentials."""
    return icechunk.containers_credentials(found)


def open_repository(
    name: str,
    opened: OpenRepoResponse,
    info: ClientInfo,
    config: icechunk.RepositoryConfig | None,
    *,
    create: bool,
    read_only: bool | None = None,
    container_overrides: dict[str, Any] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> FloeRepository:
    """Open (or create) the Icechunk repo an ``open`` answer describes, as a :class:`FloeRepository`."""
    check_config(config)
    org, repo_name = name.split("/")
    refresh = refresher(info, org, repo_name, read_only=bool(read_only))
    storage = storage_from_open(opened, refresh, storage_options=storage_options)
    # On stores without conditional writes Icechunk must not rely on them; create saves this config with the repo.
    config = icechunk_config_for(opened.repo_bucket.capabilities, config)
    config, authorize = with_containers(opened, config, container_overrides or {})
    repo = icechunk_call(
        f"creating the Icechunk repo for {name}" if create else f"opening {name}",
        FloeRepository.create if create else FloeRepository.open,
        storage,
        config=config,
        authorize_virtual_chunk_access=authorize,
    )
    if opened.repo_bucket.platform == "file" and (create or _write_block(name, opened, read_only) is None):
        warn_local_once(name)
    repo.set_default_commit_metadata({"author_name": opened.author.name, "author_email": opened.author.email})
    return repo._floe_init(
        full_name=name,
        write_block=None if create else _write_block(name, opened, read_only),
        lease_client=_lease_client(info, name, opened),
        on_write_error=functools.partial(info.cache.drop, name),
    )
