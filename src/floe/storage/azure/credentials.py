"""Azure credentials: container SAS tokens signed with the account key, what a client receives, and
the server's own container client. The Azure SDK is imported only inside the functions that use it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from floe.errors import StorageError
from floe.models import AzureCredentials
from floe.storage import timeouts
from floe.storage.azure.config import DEFAULT_DURATION, account_of, endpoint_of, sas_expiry
from floe.storage.base import BucketSpec
from floe.storage.objects import with_kind

CLOCK_SKEW = timedelta(minutes=5)  # vended SAS tokens start this far in the past


def vend(spec: BucketSpec, *, read_only: bool) -> AzureCredentials | None:
    """What a permitted client receives: a fresh container SAS (``azure_account_key``), the stored
    SAS (``azure_sas``), or nothing (``from_env``, ``anonymous``)."""
    auth = spec.auth or {}
    account = account_of(spec)
    if spec.auth_method == "azure_account_key":
        token, expiry = container_sas(
            account,
            spec.name,
            str(auth["account_key"]),
            read_only=read_only,
            duration=timedelta(seconds=int(auth.get("duration_seconds", DEFAULT_DURATION))),
            https_only=endpoint_of(spec).startswith("https://"),
        )
        return AzureCredentials(sas_token=token, storage_account=account, expiration=expiry)
    if spec.auth_method == "azure_sas":
        token = str(auth["sas_token"])
        return AzureCredentials(sas_token=token, storage_account=account, expiration=sas_expiry(token))
    return None


def container_sas(
    account: str,
    container: str,
    account_key: str,
    *,
    read_only: bool,
    duration: timedelta,
    https_only: bool = True,
) -> tuple[str, datetime]:
    """A container SAS signed with the account key; returns ``(token, expiry)``."""
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    if read_only:
        permission = ContainerSasPermissions(read=True, list=True)
    else:
        permission = ContainerSasPermissions(
            read=True, add=True, create=True, write=True, delete=True, list=True
        )
    now = datetime.now(UTC).replace(microsecond=0)
    expiry = now + duration
    token = generate_container_sas(
        account,
        container,
        account_key=account_key,
        permission=permission,
        start=now - CLOCK_SKEW,
        expiry=expiry,
        protocol="https" if https_only else None,
    )
    return token, expiry


def container_client(spec: BucketSpec, account: str, endpoint: str, where: str) -> Any:
    """The server's ``ContainerClient``, with the bucket config's own auth: the account key, the
    SAS token, nothing (anonymous), or for ``from_env`` the server's
    ``AZURE_STORAGE_CONNECTION_STRING``, else ``AZURE_STORAGE_KEY`` / ``AZURE_STORAGE_ACCOUNT_KEY``,
    else ``AZURE_STORAGE_SAS_TOKEN``. ``where`` describes the container in error messages."""
    from azure.storage.blob import ContainerClient

    options: dict[str, Any] = {
        "connection_timeout": timeouts.current().connect,
        "read_timeout": timeouts.current().read,
        "permit_redirects": False,  # the server follows no redirects (its egress policy)
        # the SDK's storage retry waits 15 s and more between tries: fail fast instead
        "retry_total": 2,
        "retry_connect": 1,
        "initial_backoff": 0.5,
        "increment_base": 2,
        "random_jitter_range": 0.5,
    }
    auth = spec.auth or {}
    method = spec.auth_method
    credential: Any = None
    if method == "azure_account_key":
        credential = {"account_name": account, "account_key": str(auth["account_key"])}
    elif method == "azure_sas":
        credential = str(auth["sas_token"])
    elif method == "from_env":
        conn = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        if conn:
            try:
                return ContainerClient.from_connection_string(conn, spec.name, **options)
            except ValueError:
                raise with_kind(
                    StorageError(
                        "AZURE_STORAGE_CONNECTION_STRING in the Floe server's environment is not a valid "
                        "connection string"
                    ),
                    "no_credentials",
                ) from None
        key = next(
            (os.environ[v] for v in ("AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY") if os.environ.get(v)),
            None,
        )
        sas = next(
            (
                os.environ[v]
                for v in ("AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_SAS_KEY")
                if os.environ.get(v)
            ),
            None,
        )
        if key:
            credential = {"account_name": account, "account_key": key}
        elif sas:
            credential = sas.removeprefix("?")
        else:
            raise with_kind(
                StorageError(
                    f"the bucket config for {where} uses from_env, but the Floe server's "
                    "environment has no Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, "
                    "AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN for the server"
                ),
                "no_credentials",
            )
    return ContainerClient(endpoint, spec.name, credential=credential, **options)
