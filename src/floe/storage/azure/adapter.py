"""The ``azure`` adapter: Icechunk's ``azure_storage``, vended SAS tokens, the server's blob handle.

Icechunk 1.x has no refreshable Azure credentials, so a vended SAS is fixed for the life of
the Icechunk storage that holds it: a repo opened longer than ``duration_seconds`` must be
opened again (clients do fetch a fresh SAS when the one they are given has already expired).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import icechunk

from floe.models import AzureCredentials, TempCredentials
from floe.storage.azure import config
from floe.storage.azure.credentials import vend
from floe.storage.base import BucketSpec, Location, PlatformAdapter, Refresher, StoragePolicy, join_prefix
from floe.storage.refresh import current

if TYPE_CHECKING:
    from floe.storage.azure.store import AzureObjectStore

_STALE = timedelta(seconds=60)  # a SAS expiring sooner is replaced before it is ever used


class AzureAdapter(PlatformAdapter):
    """``azure`` bucket configs (``az://CONTAINER/prefix``)."""

    platforms = ("azure",)
    auth_methods = config.AUTH_METHODS
    extra_config_keys = config.EXTRA_KEYS
    store_keys = ("endpoint_url", "account_name")
    virtual_scheme = "az"

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        return config.normalize_azure(spec)

    def endpoints(self, spec: BucketSpec) -> tuple[tuple[str, str], ...]:
        return (("extra_config.endpoint_url", config.endpoint_of(spec)),)

    def location(self, spec: BucketSpec) -> Location:
        return Location.at("azure", config.endpoint_of(spec), join_prefix(spec.name, spec.prefix))

    def credentials(
        self, spec: BucketSpec, *, prefix: str | None, read_only: bool
    ) -> AzureCredentials | None:
        # A plain blob SAS cannot be narrowed to a prefix (only a directory SAS on an account with
        # a hierarchical namespace can), so vended tokens cover the whole container.
        return vend(spec, read_only=read_only)

    def icechunk_storage(
        self,
        spec: BucketSpec,
        prefix: str,
        credentials: TempCredentials | None,
        refresh: Refresher | None = None,
    ) -> icechunk.Storage:
        if credentials is not None and not isinstance(credentials, AzureCredentials):
            raise ValueError(f"platform azure needs Azure credentials, got {type(credentials).__name__}")
        if refresh is not None and credentials is not None:
            # Icechunk cannot refresh Azure credentials later, but a SAS that is already stale
            # (an open response kept around) is replaced before it is ever used.
            credentials = current(credentials, refresh, AzureCredentials, margin=_STALE, label="Azure")
        settings: dict[str, str] = {}
        endpoint = spec.extra_config.get("endpoint_url")
        if endpoint:
            settings["azure_storage_endpoint"] = str(endpoint)
            if str(endpoint).startswith("http://"):
                settings["azure_allow_http"] = "true"
        account = config.account_of(spec, credentials)
        where = {"account": account, "container": spec.name, "prefix": prefix}
        if credentials is not None:
            return icechunk.azure_storage(**where, sas_token=credentials.sas_token, config=settings or None)
        if spec.auth_method == "from_env":
            return icechunk.azure_storage(**where, from_env=True, config=settings or None)
        # anonymous: a public container, requests go unsigned
        settings["azure_skip_signature"] = "true"
        return icechunk.Storage.new_azure_blob(**where, credentials=None, config=settings)

    def object_store(self, spec: BucketSpec) -> AzureObjectStore:
        from floe.storage.azure.store import AzureObjectStore

        return AzureObjectStore(spec, config.account_of(spec), config.endpoint_of(spec))

    # --- virtual chunk containers ---

    def virtual_store(self, spec: BucketSpec) -> Any:
        return icechunk.ObjectStoreConfig.Azure(
            {"account_name": str(spec.extra_config.get("account_name", ""))}
        )

    def virtual_credentials(self, auth_method: str, creds: TempCredentials | None) -> object | None:
        if isinstance(creds, AzureCredentials):
            return icechunk.azure_static_credentials(sas_token=creds.sas_token)
        if auth_method == "from_env":
            return icechunk.azure_from_env_credentials()
        return None  # anonymous: Icechunk has no anonymous Azure credentials; the container is public
