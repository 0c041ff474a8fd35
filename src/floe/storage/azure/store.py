"""azure-storage-blob handle on one container (the server's), with plain errors.

The Azure SDK is imported inside the methods that use it, so that importing Floe loads none of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from floe.errors import FloeError, NotFoundError, PermissionDeniedError, StorageError
from floe.storage import timeouts
from floe.storage.azure.config import default_endpoint
from floe.storage.azure.credentials import container_client
from floe.storage.base import BucketSpec
from floe.storage.objects import (
    MAX_LISTED,
    Listing,
    ObjectMissing,
    PreconditionFailed,
    collect_listing,
    listed_prefix,
    with_kind,
)

BATCH_SIZE = 256  # the most sub-requests one Azure blob batch may hold
_REJECTED = frozenset({"AuthenticationFailed", "AuthorizationFailure", "InvalidAuthenticationInfo"})


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
        return container_client(self.spec, self.account, self.endpoint, self.describe())

    def _translate(self, exc: Exception, doing: str, reading: str | None = None) -> Exception:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        if isinstance(exc, ServiceRequestError):
            if _is_tls(exc):
                return with_kind(
                    StorageError(
                        f"the TLS connection to {self.endpoint} failed while {doing}; check that "
                        "extra_config.endpoint_url uses https:// only for a TLS port"
                    ),
                    "tls",
                )
            return with_kind(
                StorageError(
                    f"cannot reach {self.endpoint} while {doing}; check extra_config.account_name "
                    "and extra_config.endpoint_url, and that this server can reach the store"
                ),
                "unreachable",
            )
        if isinstance(exc, ServiceResponseError):
            return timeouts.no_answer(self.endpoint, doing)
        if isinstance(exc, HttpResponseError):
            code = _code(exc)
            status = exc.status_code
            message = str(getattr(exc, "message", "") or "")
            if code == "ContainerNotFound":
                return with_kind(
                    NotFoundError(
                        f"{self.describe()} does not exist (while {doing}); check the container name in the "
                        "URI and extra_config.account_name; Floe never creates containers"
                    ),
                    "bucket_missing",
                )
            if code == "BlobNotFound" or (status == 404 and code in ("", "ResourceNotFound")):
                return (
                    ObjectMissing(reading, self.describe())
                    if reading is not None
                    else NotFoundError(f"not found while {doing} in {self.describe()}")
                )
            if code == "AuthenticationFailed" and "date header" in message.lower():
                return with_kind(
                    StorageError("the store says this server's clock is wrong; fix the server's time"),
                    "clock_skew",
                )
            if isinstance(exc, ClientAuthenticationError) or code in _REJECTED:
                return with_kind(
                    PermissionDeniedError(
                        f"the store rejected the account key / SAS ({code or status}) while {doing} on "
                        f"{self.describe()}; check auth_config (account_name, account_key or sas_token, "
                        "and that the SAS has not expired)"
                    ),
                    "keys_rejected",
                )
            if status == 403:
                return with_kind(
                    PermissionDeniedError(
                        f"access denied to {self.describe()} while {doing} ({code or status}): the key or "
                        "SAS lacks the permission for this"
                    ),
                    "access_denied",
                )
            if code == "AccountNotFound" or (status == 400 and "account" in code.lower()):
                return with_kind(
                    NotFoundError(
                        f"storage account {self.account!r} not found (while {doing}); check "
                        "extra_config.account_name"
                    ),
                    "bucket_missing",
                )
            return StorageError(f"the store answered {code or status} while {doing} on {self.describe()}")
        return exc

    def _call(self, doing: str, fn: Any, *args: Any, reading: str | None = None, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` with errors translated; ``reading``: the key a 404 is about."""
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
            raise self._translate(exc, doing, reading) from None

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
        return self._call(
            f"reading {key!r}", lambda: self._client().download_blob(key).readall(), reading=key
        )

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
            raise with_kind(
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
