"""The ``gs`` adapter: Icechunk's ``gcs_storage``, vended bearer tokens, the server's JSON API handle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import icechunk

from floe.models import GSCredentials, TempCredentials
from floe.storage.base import BucketSpec, Location, PlatformAdapter, Refresher, StoragePolicy, join_prefix
from floe.storage.gcs import config
from floe.storage.gcs.credentials import mint_token, refreshing

if TYPE_CHECKING:
    from floe.storage.gcs.store import GcsObjectStore


class GcsAdapter(PlatformAdapter):
    """``gs`` bucket configs (``gs://bucket/prefix``)."""

    platforms = ("gs",)
    auth_methods = config.AUTH_METHODS
    extra_config_keys = config.EXTRA_KEYS
    store_keys = ("endpoint_url",)
    virtual_scheme = "gs"

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        return config.normalize_gcs(spec)

    @staticmethod
    def endpoint(spec: BucketSpec) -> str:
        return str(spec.extra_config.get("endpoint_url") or config.DEFAULT_ENDPOINT)

    def endpoints(self, spec: BucketSpec) -> tuple[tuple[str, str], ...]:
        found = [("extra_config.endpoint_url", self.endpoint(spec))]
        key = (spec.auth or {}).get("service_account_key")
        if isinstance(key, Mapping) and key.get("token_uri"):
            found.append(("auth_config.service_account_key.token_uri", str(key["token_uri"])))
        return tuple(found)

    def location(self, spec: BucketSpec) -> Location:
        return Location.at("gs", self.endpoint(spec), join_prefix(spec.name, spec.prefix))

    def credentials(self, spec: BucketSpec, *, prefix: str | None, read_only: bool) -> GSCredentials | None:
        # An OAuth scope narrows to reading, not to a prefix: every token covers the bucket (and
        # whatever else the service account may reach). Give the service account access to this
        # bucket only.
        if spec.auth_method == "gcs_service_account":
            return mint_token((spec.auth or {})["service_account_key"], read_only=read_only)
        return None

    def icechunk_storage(
        self,
        spec: BucketSpec,
        prefix: str,
        credentials: TempCredentials | None,
        refresh: Refresher | None = None,
    ) -> icechunk.Storage:
        if credentials is not None and not isinstance(credentials, GSCredentials):
            raise ValueError(f"platform gs needs GCS credentials, got {type(credentials).__name__}")
        kwargs: dict[str, Any] = {"bucket": spec.name, "prefix": prefix, "config": _icechunk_config(spec)}
        if spec.auth_method == "from_env":
            kwargs["from_env"] = True
        elif credentials is None and refresh is None:
            kwargs["anonymous"] = True
        elif refresh is not None and (credentials is None or credentials.expiration is not None):
            # from_env=False: without it Icechunk ignores get_credentials and reads the environment.
            kwargs.update(get_credentials=refreshing(refresh, credentials), from_env=False)
        else:
            assert credentials is not None
            kwargs["bearer_token"] = credentials.access_token
        return icechunk.gcs_storage(**kwargs)

    def object_store(self, spec: BucketSpec) -> GcsObjectStore:
        from floe.storage.gcs.credentials import from_environment, service_account_credentials
        from floe.storage.gcs.store import GcsObjectStore

        method = spec.auth_method
        if method == "gcs_service_account":
            key = (spec.auth or {})["service_account_key"]
            return GcsObjectStore(
                spec,
                self.endpoint(spec),
                service_account_credentials(key, config.GCS_READ_WRITE),
                who=f"service account {key.get('client_email')}",
                token_uri=str(key.get("token_uri")),
            )
        if method == "from_env":
            return GcsObjectStore(
                spec, self.endpoint(spec), from_environment(), who="the server's environment"
            )
        return GcsObjectStore(spec, self.endpoint(spec), None, who="anonymous access")

    # --- virtual chunk containers ---

    def virtual_store(self, spec: BucketSpec) -> Any:
        return icechunk.ObjectStoreConfig.Gcs({})

    def virtual_credentials(self, auth_method: str, creds: TempCredentials | None) -> object | None:
        if isinstance(creds, GSCredentials):
            return icechunk.gcs_static_credentials(bearer_token=creds.access_token)
        if auth_method == "from_env":
            return icechunk.gcs_from_env_credentials()
        # icechunk 1.x has no gcs_anonymous_credentials: anonymous access is a flag of gcs_credentials
        return icechunk.gcs_credentials(anonymous=True)


def _icechunk_config(spec: BucketSpec) -> dict[str, str] | None:
    endpoint = spec.extra_config.get("endpoint_url")
    if not endpoint:
        return None
    settings = {"google_base_url": str(endpoint)}
    if str(endpoint).startswith("http://"):
        settings["allow_http"] = "true"
    return settings
