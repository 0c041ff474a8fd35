"""Azure Blob Storage: bucket config = one container of one storage account.

Credential methods:

* ``azure_account_key`` (delegated): the server keeps the storage account key and vends
  container SAS tokens -- read+list for readers, read/add/create/write/delete/list for
  writers -- that expire after ``duration_seconds``. A plain blob SAS cannot be narrowed to
  a prefix (only a directory SAS on an account with a hierarchical namespace can), so
  vended tokens cover the whole container.
* ``azure_sas``: a SAS token issued outside Floe, handed to permitted clients as is.
* ``from_env``: whoever opens the repo brings credentials in its environment.
* ``anonymous``: a public container, read only.

Icechunk 1.x has no refreshable Azure credentials, so a vended SAS is fixed for the life of
the Icechunk storage that holds it: a repo opened longer than ``duration_seconds`` must be
opened again (clients do fetch a fresh SAS when the one they are given has already expired).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import icechunk

from floe.errors import FloeError, NotFoundError, PermissionDeniedError, StorageError
from floe.models import AzureCredentials, TempCredentials
from floe.storage.base import (
    MAX_LISTED,
    BucketSpec,
    Listing,
    Location,
    PreconditionFailed,
    Refresher,
    StoragePolicy,
    collect_listing,
    config_bool,
    join_prefix,
    listed_prefix,
)

# 3-63 characters of lower-case letters, digits and single hyphens, starting and ending with a letter or digit
_CONTAINER_RE = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
_SPECIAL_CONTAINERS = frozenset({"$root", "$web"})
_ACCOUNT_RE = re.compile(r"[a-z0-9]{3,24}")
CLOCK_SKEW = timedelta(minutes=5)  # vended SAS tokens start this far in the past
DEFAULT_DURATION = 3600
BATCH_SIZE = 256  # the most sub-requests one Azure blob batch may hold


def default_endpoint(account: str) -> str:
    return f"https://{account}.blob.core.windows.net"


def _check_account(value: Any, field: str) -> str:
    account = str(value).strip() if value is not None else ""
    if not _ACCOUNT_RE.fullmatch(account):
        raise ValueError(
            f"invalid {field} {value!r}: Azure storage account names are 3-24 lower-case letters and digits, "
            "e.g. mystorageaccount (the part before .blob.core.windows.net)"
        )
    return account


def _sas_fields(token: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(token, keep_blank_values=True).items()}


def sas_expiry(token: str) -> datetime | None:
    """The expiry (``se=``) of a SAS token, or None when it has none or it cannot be read."""
    value = _sas_fields(token).get("se")
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _check_sas(value: Any) -> str:
    token = str(value or "").strip().removeprefix("?")
    if "://" in token:
        raise ValueError(
            "auth_config.sas_token must be the token only (the query string after '?'), not a SAS URL"
        )
    fields = _sas_fields(token)
    if not fields.get("sig") or not fields.get("sv"):
        raise ValueError(
            "auth_config.sas_token does not look like a SAS token: expected a query string such as "
            "sv=...&sp=rl&sr=c&se=...&sig=... (from the portal's 'Shared access tokens' page or `az storage container generate-sas`)"
        )
    if fields.get("sr") not in (None, "c", "d"):
        raise ValueError(
            f"auth_config.sas_token is scoped to sr={fields['sr']}: give a container SAS (sr=c), "
            "a directory SAS (sr=d) or an account SAS, since repos span many blobs"
        )
    if "ss" in fields and "b" not in fields["ss"]:
        raise ValueError(
            "auth_config.sas_token is an account SAS without the blob service (ss must contain b)"
        )
    permissions = fields.get("sp", "")
    missing = [p for p in "rl" if p not in permissions]
    if missing:
        raise ValueError(
            f"auth_config.sas_token lacks the {' and '.join({'r': 'read', 'l': 'list'}[p] for p in missing)} "
            f"permission (sp={permissions!r}): Icechunk needs at least sp=rl to read a repo, racwdl to write"
        )
    expiry = sas_expiry(token)
    if expiry is not None and expiry <= datetime.now(UTC):
        raise ValueError(
            f"auth_config.sas_token expired at {expiry.isoformat()}: issue a new SAS and update the bucket config"
        )
    return token


def _check_account_key(value: Any) -> str:
    key = str(value or "").strip()
    try:
        ok = bool(key) and bool(base64.b64decode(key, validate=True))
    except (binascii.Error, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            "auth_config.account_key is not a storage account key: copy key1 or key2 (a base64 string) "
            "from the storage account's 'Access keys' page"
        )
    return key


class AzureAdapter:
    """``azure`` bucket configs (``az://CONTAINER/prefix``)."""

    platforms = ("azure",)
    auth_methods = ("azure_account_key", "azure_sas", "from_env", "anonymous")
    extra_config_keys = ("account_name", "endpoint_url", "use_ssl")

    # --- validation ---

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        if "@" in spec.name:
            container, _, host = spec.name.partition("@")
            raise ValueError(
                f"invalid container name {spec.name!r}: write az://{container}/PREFIX and give the account "
                f"({host.split('.')[0]}) as extra_config.account_name"
            )
        if not (_CONTAINER_RE.fullmatch(spec.name) or spec.name in _SPECIAL_CONTAINERS):
            raise ValueError(
                f"invalid container name {spec.name!r}: Azure container names are 3-63 characters of "
                "lower-case letters, digits and single hyphens, starting and ending with a letter or digit"
            )
        unknown = sorted(set(spec.extra_config) - set(self.extra_config_keys))
        if unknown:
            raise ValueError(
                f"unknown extra_config key(s) {', '.join(unknown)} for platform azure: "
                f"allowed are {', '.join(self.extra_config_keys)}"
            )
        auth = dict(spec.auth or {"method": "anonymous"})
        method = auth.get("method")
        if method not in self.auth_methods:
            raise ValueError(
                f"auth_config.method {method!r} is not supported for azure: use one of "
                f"{', '.join(self.auth_methods)} (azure_account_key keeps the key on the server and "
                "hands out short-lived SAS tokens)"
            )

        extra: dict[str, str | bool] = {}
        given = spec.extra_config.get("account_name")
        in_auth = auth.get("account_name")
        if given in (None, "") and in_auth in (None, ""):
            raise ValueError(
                "platform azure needs extra_config.account_name, the storage account that holds the "
                "container, e.g. mystorageaccount"
            )
        if given not in (None, ""):
            account = _check_account(given, "extra_config.account_name")
        else:
            account = _check_account(in_auth, "auth_config.account_name")
        if in_auth not in (None, "") and _check_account(in_auth, "auth_config.account_name") != account:
            raise ValueError(
                f"extra_config.account_name {account!r} and auth_config.account_name {in_auth!r} differ: "
                "they must name the same storage account (or leave one out)"
            )
        extra["account_name"] = account

        endpoint = spec.extra_config.get("endpoint_url")
        if endpoint not in (None, ""):
            endpoint = str(endpoint).strip().rstrip("/")
            parsed = urlparse(endpoint)
            if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.query:
                raise ValueError(
                    f"invalid extra_config.endpoint_url {endpoint!r}: give the blob service URL of the account, "
                    "e.g. https://mystorageaccount.blob.core.usgovcloudapi.net or, for Azurite, "
                    "http://127.0.0.1:10000/devstoreaccount1"
                )
            extra["endpoint_url"] = endpoint
        else:
            endpoint = None
        use_ssl = config_bool(
            "use_ssl", spec.extra_config.get("use_ssl", not (endpoint or "").startswith("http://"))
        )
        if endpoint and endpoint.startswith("http://") and use_ssl:
            raise ValueError(
                "extra_config.use_ssl is true but endpoint_url starts with http://: use https:// or set use_ssl false"
            )
        if not use_ssl and not (endpoint or "").startswith("http://"):
            raise ValueError(
                "extra_config.use_ssl false needs an http:// extra_config.endpoint_url (Azure itself is reached over https)"
            )
        extra["use_ssl"] = use_ssl

        if method == "azure_account_key":
            auth["account_key"] = _check_account_key(auth.get("account_key"))
            duration = auth.get("duration_seconds", DEFAULT_DURATION)
            try:
                duration = int(duration)
            except (TypeError, ValueError):
                duration = -1
            if not 300 <= duration <= 7 * 24 * 3600:
                raise ValueError(
                    "auth_config.duration_seconds must be between 300 and 604800 (the SAS lifetime in seconds)"
                )
            auth["duration_seconds"] = duration
        elif method == "azure_sas":
            auth["sas_token"] = _check_sas(auth.get("sas_token"))
        if method in ("azure_account_key", "azure_sas"):
            auth["account_name"] = account
        return spec.with_changes(extra_config=extra, auth=auth)

    # --- settings ---

    @staticmethod
    def _account(spec: BucketSpec, credentials: AzureCredentials | None = None) -> str:
        account = spec.extra_config.get("account_name") or (spec.auth or {}).get("account_name")
        if not account and credentials is not None:
            account = credentials.storage_account
        if not account:
            raise ValueError("platform azure needs extra_config.account_name")
        return str(account)

    @classmethod
    def _endpoint(cls, spec: BucketSpec) -> str:
        return str(spec.extra_config.get("endpoint_url") or default_endpoint(cls._account(spec)))

    def endpoints(self, spec: BucketSpec) -> tuple[tuple[str, str], ...]:
        return (("extra_config.endpoint_url", self._endpoint(spec)),)

    def location(self, spec: BucketSpec) -> Location:
        return Location.at("azure", self._endpoint(spec), join_prefix(spec.name, spec.prefix))

    # --- credentials ---

    def credentials(
        self, spec: BucketSpec, *, prefix: str | None, read_only: bool
    ) -> AzureCredentials | None:
        method = spec.auth_method
        auth = spec.auth or {}
        account = self._account(spec)
        if method == "azure_account_key":
            token, expiry = container_sas(
                account,
                spec.name,
                str(auth["account_key"]),
                read_only=read_only,
                duration=timedelta(seconds=int(auth.get("duration_seconds", DEFAULT_DURATION))),
                https_only=self._endpoint(spec).startswith("https://"),
            )
            return AzureCredentials(sas_token=token, storage_account=account, expiration=expiry)
        if method == "azure_sas":
            token = str(auth["sas_token"])
            return AzureCredentials(sas_token=token, storage_account=account, expiration=sas_expiry(token))
        return None

    # --- Icechunk ---

    def icechunk_storage(
        self,
        spec: BucketSpec,
        prefix: str,
        credentials: TempCredentials | None,
        refresh: Refresher | None = None,
    ) -> icechunk.Storage:
        if credentials is not None and not isinstance(credentials, AzureCredentials):
            raise ValueError(f"platform azure needs Azure credentials, got {type(credentials).__name__}")
        if (
            refresh is not None
            and credentials is not None
            and credentials.expiration is not None
            and credentials.expiration <= datetime.now(UTC) + timedelta(seconds=60)
        ):
            # Icechunk cannot refresh Azure credentials later, but a SAS that is already stale
            # (an open response kept around) is replaced before it is ever used.
            fresh = refresh()
            if not isinstance(fresh, AzureCredentials):
                raise TypeError(f"expected Azure credentials from the catalog, got {type(fresh).__name__}")
            credentials = fresh
        config: dict[str, str] = {}
        endpoint = spec.extra_config.get("endpoint_url")
        if endpoint:
            config["azure_storage_endpoint"] = str(endpoint)
            if str(endpoint).startswith("http://"):
                config["azure_allow_http"] = "true"
        account = self._account(spec, credentials)
        if credentials is not None:
            return icechunk.azure_storage(
                account=account,
                container=spec.name,
                prefix=prefix,
                sas_token=credentials.sas_token,
                config=config or None,
            )
        if spec.auth_method == "from_env":
            return icechunk.azure_storage(
                account=account, container=spec.name, prefix=prefix, from_env=True, config=config or None
            )
        # anonymous: a public container, requests go unsigned
        config["azure_skip_signature"] = "true"
        return icechunk.Storage.new_azure_blob(
            account=account, container=spec.name, prefix=prefix, credentials=None, config=config
        )

    # --- server-side handle ---

    def object_store(self, spec: BucketSpec) -> AzureObjectStore:
        return AzureObjectStore(spec, self._account(spec), self._endpoint(spec))


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


# --------------------------------------------------------------------------------------------- object store

_REJECTED = frozenset({"AuthenticationFailed", "AuthorizationFailure", "InvalidAuthenticationInfo"})


def _kind(exc: FloeError, kind: str) -> FloeError:
    """Tag an error with what went wrong, for the capability probe (as ``base.with_kind`` does)."""
    exc.kind = kind  # type: ignore[attr-defined]
    return exc


def _code(exc: Any) -> str:
    """The Azure error code (``x-ms-error-code``) of an azure-core error, as a plain string."""
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or "")


def _is_tls(exc: BaseException) -> bool:
    import ssl

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError) or "SSLError" in type(current).__name__:
            return True
        current = getattr(current, "inner_exception", None) or current.__cause__ or current.__context__
    return False


class AzureObjectStore:
    """azure-storage-blob handle on one container, with errors translated into plain messages.

    Uses the bucket config's own auth: the account key, the SAS token, nothing (anonymous), or
    for ``from_env`` the server's ``AZURE_STORAGE_CONNECTION_STRING``, else
    ``AZURE_STORAGE_KEY`` / ``AZURE_STORAGE_ACCOUNT_KEY``, else ``AZURE_STORAGE_SAS_TOKEN``.
    """

    list_page_size = 5000  # entries per listing request (the most the service returns)

    def __init__(self, spec: BucketSpec, account: str, endpoint: str) -> None:
        self.spec = spec
        self.account = account
        self.endpoint = endpoint
        self._container: Any = None

    # --- plumbing ---

    def describe(self) -> str:
        where = "" if self.endpoint == default_endpoint(self.account) else f" at {self.endpoint}"
        return f"container {self.spec.name!r} of storage account {self.account!r}{where}"

    def _client(self) -> Any:
        if self._container is None:
            self._container = self._make_client()
        return self._container

    def _blob(self, key: str) -> Any:
        return self._client().get_blob_client(key)

    def _make_client(self) -> Any:
        from azure.storage.blob import ContainerClient

        options: dict[str, Any] = {
            "connection_timeout": 5,
            "read_timeout": 30,
            "permit_redirects": False,  # the server follows no redirects (its egress policy)
            # the SDK's storage retry waits 15 s and more between tries: fail fast instead
            "retry_total": 2,
            "retry_connect": 1,
            "initial_backoff": 0.5,
            "increment_base": 2,
            "random_jitter_range": 0.5,
        }
        auth = self.spec.auth or {}
        method = self.spec.auth_method
        credential: Any = None
        if method == "azure_account_key":
            credential = {"account_name": self.account, "account_key": str(auth["account_key"])}
        elif method == "azure_sas":
            credential = str(auth["sas_token"])
        elif method == "from_env":
            conn = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
            if conn:
                try:
                    return ContainerClient.from_connection_string(conn, self.spec.name, **options)
                except ValueError:
                    raise _kind(
                        StorageError(
                            "AZURE_STORAGE_CONNECTION_STRING in the Floe server's environment is not a valid "
                            "connection string"
                        ),
                        "no_credentials",
                    ) from None
            key = next(
                (
                    os.environ[v]
                    for v in ("AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY")
                    if os.environ.get(v)
                ),
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
                credential = {"account_name": self.account, "account_key": key}
            elif sas:
                credential = sas.removeprefix("?")
            else:
                raise _kind(
                    StorageError(
                        f"the bucket config for {self.describe()} uses from_env, but the Floe server's "
                        "environment has no Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, "
                        "AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN for the server"
                    ),
                    "no_credentials",
                )
        return ContainerClient(self.endpoint, self.spec.name, credential=credential, **options)

    def _translate(self, exc: Exception, doing: str) -> Exception:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        if isinstance(exc, ServiceRequestError):
            if _is_tls(exc):
                return _kind(
                    StorageError(
                        f"the TLS connection to {self.endpoint} failed while {doing}; check that "
                        "extra_config.endpoint_url uses https:// only for a TLS port"
                    ),
                    "tls",
                )
            return _kind(
                StorageError(
                    f"cannot reach {self.endpoint} while {doing}; check extra_config.account_name "
                    "and extra_config.endpoint_url, and that this server can reach the store"
                ),
                "unreachable",
            )
        if isinstance(exc, ServiceResponseError):
            return StorageError(
                f"no answer from {self.endpoint} while {doing} ({type(exc).__name__}); try again"
            )
        if isinstance(exc, HttpResponseError):
            code = _code(exc)
            status = exc.status_code
            message = str(getattr(exc, "message", "") or "")
            if code == "ContainerNotFound":
                return _kind(
                    NotFoundError(
                        f"{self.describe()} does not exist (while {doing}); check the container name in the "
                        "URI and extra_config.account_name; Floe never creates containers"
                    ),
                    "bucket_missing",
                )
            if code == "BlobNotFound" or (status == 404 and code in ("", "ResourceNotFound")):
                return NotFoundError(f"not found while {doing} in {self.describe()}")
            if code == "AuthenticationFailed" and "date header" in message.lower():
                return _kind(
                    StorageError("the store says this server's clock is wrong; fix the server's time"),
                    "clock_skew",
                )
            if isinstance(exc, ClientAuthenticationError) or code in _REJECTED:
                return _kind(
                    PermissionDeniedError(
                        f"the store rejected the account key / SAS ({code or status}) while {doing} on "
                        f"{self.describe()}; check auth_config (account_name, account_key or sas_token, "
                        "and that the SAS has not expired)"
                    ),
                    "keys_rejected",
                )
            if status == 403:
                return _kind(
                    PermissionDeniedError(
                        f"access denied to {self.describe()} while {doing} ({code or status}): the key or "
                        "SAS lacks the permission for this"
                    ),
                    "access_denied",
                )
            if code == "AccountNotFound" or (status == 400 and "account" in code.lower()):
                return _kind(
                    NotFoundError(
                        f"storage account {self.account!r} not found (while {doing}); check "
                        "extra_config.account_name"
                    ),
                    "bucket_missing",
                )
            return StorageError(f"the store answered {code or status} while {doing} on {self.describe()}")
        return exc

    def _call(self, doing: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError

        try:
            return fn(*args, **kwargs)
        except FloeError:
            raise
        except (ResourceModifiedError, ResourceExistsError) as exc:
            code = _code(exc)
            if code in ("ConditionNotMet", "BlobAlreadyExists", "") or exc.status_code in (409, 412):
                raise PreconditionFailed(doing) from None
            raise self._translate(exc, doing) from None
        except AzureError as exc:
            raise self._translate(exc, doing) from None

    # --- the ObjectStore protocol ---

    def is_empty(self, prefix: str) -> bool:
        def first() -> bool:
            names = self._client().list_blob_names(
                name_starts_with=f"{prefix}/" if prefix else None, results_per_page=1
            )
            return next(iter(names), None) is None

        return self._call(f"listing {prefix!r}", first)

    def put(self, key: str, data: bytes) -> str:
        done = self._call(f"writing {key!r}", lambda: self._blob(key).upload_blob(data, overwrite=True))
        return str(done["etag"])

    def get(self, key: str) -> bytes:
        return self._call(f"reading {key!r}", lambda: self._client().download_blob(key).readall())

    def delete(self, key: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        def delete() -> None:
            try:
                self._client().delete_blob(key)
            except ResourceNotFoundError as exc:
                if _code(exc) == "ContainerNotFound":
                    raise

        self._call(f"deleting {key!r}", delete)

    def put_if_absent(self, key: str, data: bytes) -> str:
        # overwrite=False sends If-None-Match: *
        done = self._call(
            f"conditionally creating {key!r}", lambda: self._blob(key).upload_blob(data, overwrite=False)
        )
        return str(done["etag"])

    def put_if_match(self, key: str, data: bytes, etag: str) -> str:
        from azure.core import MatchConditions

        done = self._call(
            f"conditionally updating {key!r}",
            lambda: self._blob(key).upload_blob(
                data, overwrite=True, etag=etag, match_condition=MatchConditions.IfNotModified
            ),
        )
        return str(done["etag"])

    def list_dir(self, prefix: str, *, recursive: bool = False, limit: int = MAX_LISTED) -> Listing:
        from azure.storage.blob import BlobPrefix

        start = listed_prefix(prefix) or None
        per_page = min(self.list_page_size, limit + 1)

        def entries() -> Iterator[tuple[str, int | None]]:
            client = self._client()
            if recursive:
                for blob in client.list_blobs(name_starts_with=start, results_per_page=per_page):
                    yield blob.name, blob.size
                return
            for item in client.walk_blobs(name_starts_with=start, delimiter="/", results_per_page=per_page):
                if isinstance(item, BlobPrefix):
                    yield item.name.removesuffix("/"), None
                elif item.name != start:  # a "folder" marker blob is not an object of its own
                    yield item.name, item.size

        return self._call(f"listing {prefix!r}", collect_listing, entries(), limit)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix:
            raise ValueError("refusing to delete a whole container: the repo prefix is empty")
        doing = f"deleting {prefix!r}"
        names = self._call(
            f"listing {prefix!r}", lambda: list(self._client().list_blob_names(name_starts_with=f"{prefix}/"))
        )
        deleted = 0
        for start in range(0, len(names), BATCH_SIZE):
            deleted += self._call(doing, self._delete_batch, names[start : start + BATCH_SIZE])
        return deleted

    def _delete_batch(self, names: list[str]) -> int:
        """Delete up to 256 blobs in one batch request; one by one where batches are not offered."""
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        client = self._client()
        try:
            responses: Iterable[Any] = client.delete_blobs(*names, raise_on_any_failure=False)
            statuses = [r.status_code for r in responses]
        except HttpResponseError as exc:
            if exc.status_code in (401, 403, 404) or _code(exc) in _REJECTED:
                raise
            statuses = []  # the batch API is not available here (some emulators, some account kinds)
            for name in names:
                try:
                    client.delete_blob(name)
                    statuses.append(202)
                except ResourceNotFoundError:
                    statuses.append(404)
        failed = [s for s in statuses if s not in (200, 202, 404)]
        if 403 in failed:
            raise _kind(
                PermissionDeniedError(
                    f"access denied to {self.describe()} while deleting: the key or SAS lacks the delete permission"
                ),
                "access_denied",
            )
        if failed:
            raise StorageError(
                f"the store refused to delete {len(failed)} object(s) (status {failed[0]}) in {self.describe()}"
            )
        return sum(1 for s in statuses if s in (200, 202))
