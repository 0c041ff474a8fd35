"""The server's handle on one GCS bucket, over the JSON API with httpx.

GCS has no ``If-Match`` on ETags: conditional writes use object *generations*, so the "etag"
this handle returns and accepts is the generation number, as a string.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx

from floe.errors import NotFoundError, PermissionDeniedError, StorageError
from floe.storage import timeouts
from floe.storage.base import BucketSpec
from floe.storage.gcs.config import DEFAULT_ENDPOINT, GOOGLE_TOKEN_URI
from floe.storage.gcs.credentials import HttpxTransport, http_timeout, refresh_google
from floe.storage.objects import (
    MAX_LISTED,
    Listing,
    ObjectMissing,
    PreconditionFailed,
    collect_listing,
    listed_prefix,
    with_kind,
)
from floe.tls import ssl_context


def _unreachable(exc: httpx.HTTPError) -> str:
    text = f"{exc} {exc.__cause__ or ''} {exc.__context__ or ''}".upper()
    return "tls" if "SSL" in text or "CERTIFICATE" in text else "unreachable"


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", ""))[:200]
    return str(error or "")[:200]


class GcsObjectStore:
    """The server's handle on one GCS bucket over the JSON API, with plain errors.

    ``credentials`` is a google-auth credentials object (refreshed when it expires) or ``None``
    for anonymous access.
    """

    list_page_size = 1000  # entries per listing request (the most the service returns)

    def __init__(
        self,
        spec: BucketSpec,
        endpoint: str,
        credentials: Any | None,
        *,
        who: str,
        token_uri: str = GOOGLE_TOKEN_URI,
    ) -> None:
        self.spec = spec
        self.endpoint = endpoint.rstrip("/")
        self._credentials = credentials
        self._who = who
        self._token_uri = token_uri
        self._lock = threading.Lock()
        self._client = httpx.Client(
            timeout=http_timeout(), follow_redirects=False, verify=ssl_context()
        )  # egress: no redirects
        self._bucket_path = f"/b/{quote(spec.name, safe='')}"

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint != DEFAULT_ENDPOINT else ""
        return f"GCS bucket {self.spec.name!r}{where}"

    # --- plumbing ---

    def _headers(self) -> dict[str, str]:
        if self._credentials is None:
            return {}
        with self._lock:
            if not self._credentials.valid:
                refresh_google(self._credentials, self._who, self._token_uri, HttpxTransport(self._client))
            return {"Authorization": f"Bearer {self._credentials.token}"}

    def _request(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        missing: str = "bucket",
        reading: str | None = None,
    ) -> httpx.Response | None:
        """One JSON API request. ``missing`` says what a 404 means: ``bucket`` (no such bucket),
        ``object`` (ObjectMissing for the key ``reading``) or ``ok`` (return None), unless GCS says
        bucket."""
        headers = self._headers()
        if content is not None:
            headers["Content-Type"] = "application/octet-stream"
        try:
            response = self._client.request(
                method, f"{self.endpoint}{path}", params=params, content=content, headers=headers
            )
        except httpx.ConnectTimeout:
            raise with_kind(
                StorageError(f"the GCS endpoint {self.endpoint} timed out while {doing}"), "unreachable"
            ) from None
        except httpx.TimeoutException:
            raise timeouts.no_answer(f"the GCS endpoint {self.endpoint}", doing) from None
        except httpx.HTTPError as exc:
            raise with_kind(
                StorageError(
                    f"cannot reach the GCS endpoint {self.endpoint} while {doing} ({type(exc).__name__})"
                ),
                _unreachable(exc),
            ) from None
        if response.status_code < 300:
            return response
        message = _error_message(response)
        status = response.status_code
        if status == 412:
            raise PreconditionFailed(doing)
        if status == 404:
            if missing == "bucket" or "bucket" in message.lower():
                raise with_kind(
                    NotFoundError(f"{self.describe()} does not exist (while {doing}); check the bucket name"),
                    "bucket_missing",
                )
            if missing == "ok":
                return None
            raise ObjectMissing(reading or "", self.describe())
        if status == 401:
            raise with_kind(
                PermissionDeniedError(
                    f"GCS rejected the credentials of {self._who} while {doing} ({message or 'HTTP 401'}); "
                    "check the bucket config's service-account key"
                ),
                "keys_rejected",
            )
        if status == 403:
            raise with_kind(
                PermissionDeniedError(
                    f"access denied to {self.describe()} for {self._who} while {doing}: grant it a role "
                    "such as Storage Object Admin (roles/storage.objectAdmin) on the bucket"
                ),
                "access_denied",
            )
        raise StorageError(
            f"GCS answered HTTP {status} {message}".rstrip() + f" while {doing} on {self.describe()}"
        )

    def _object_path(self, key: str) -> str:
        return f"/storage/v1{self._bucket_path}/o/{quote(key, safe='')}"

    def _upload(self, key: str, data: bytes, doing: str, generation: str | None) -> str:
        params: dict[str, Any] = {"uploadType": "media", "name": key}
        if generation is not None:
            params["ifGenerationMatch"] = generation
        response = self._request(
            "POST", f"/upload/storage/v1{self._bucket_path}/o", doing, params=params, content=data
        )
        assert response is not None
        return str(response.json()["generation"])

    def _list(self, prefix: str, doing: str, *, limit: int | None = None) -> list[str]:
        names: list[str] = []
        params: dict[str, Any] = {"prefix": prefix, "fields": "items(name),nextPageToken"}
        if limit is not None:
            params["maxResults"] = limit
        while True:
            response = self._request("GET", f"/storage/v1{self._bucket_path}/o", doing, params=params)
            assert response is not None
            body = response.json()
            names.extend(item["name"] for item in body.get("items", []))
            token = body.get("nextPageToken")
            if not token or (limit is not None and len(names) >= limit):
                return names
            params["pageToken"] = token

    # --- ObjectStore ---

    def is_empty(self, prefix: str) -> bool:
        return not self._list(f"{prefix}/" if prefix else "", f"listing {prefix!r}", limit=1)

    def put(self, key: str, data: bytes) -> str:
        return self._upload(key, data, f"writing {key!r}", None)

    def get(self, key: str) -> bytes:
        response = self._request(
            "GET",
            self._object_path(key),
            f"reading {key!r}",
            params={"alt": "media"},
            missing="object",
            reading=key,
        )
        assert response is not None
        return response.content

    def delete(self, key: str) -> None:
        self._request("DELETE", self._object_path(key), f"deleting {key!r}", missing="ok")

    def put_if_absent(self, key: str, data: bytes) -> str:
        return self._upload(key, data, f"conditionally creating {key!r}", "0")

    def put_if_match(self, key: str, data: bytes, etag: str) -> str:
        generation = str(etag).strip().strip('"')
        if not generation.isdigit() or generation == "0":
            # GCS matches generations (what put() returns), never ETags: no object has this one.
            raise PreconditionFailed(f"conditionally updating {key!r}: {etag!r} is not a GCS generation")
        return self._upload(key, data, f"conditionally updating {key!r}", generation)

    def list_dir(self, prefix: str, *, recursive: bool = False, limit: int = MAX_LISTED) -> Listing:
        start = listed_prefix(prefix)
        params: dict[str, Any] = {
            "prefix": start,
            "fields": "items(name,size),prefixes,nextPageToken",
            "maxResults": min(self.list_page_size, limit + 1),
        }
        if not recursive:
            params["delimiter"] = "/"

        def entries() -> Iterator[tuple[str, int | None]]:
            while True:
                response = self._request(
                    "GET", f"/storage/v1{self._bucket_path}/o", f"listing {prefix!r}", params=params
                )
                assert response is not None
                body = response.json()
                for child in body.get("prefixes", []):
                    yield child.removesuffix("/"), None
                for item in body.get("items", []):
                    if item["name"] != start:  # a "folder" marker object is not an object of its own
                        yield item["name"], int(item.get("size", 0))
                token = body.get("nextPageToken")
                if not token:
                    return
                params["pageToken"] = token

        return collect_listing(entries(), limit)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix:
            raise ValueError("refusing to delete a whole bucket: the repo prefix is empty")
        doing = f"deleting {prefix!r}"
        names = self._list(f"{prefix}/", doing)

        def remove(name: str) -> int:
            found = self._request("DELETE", self._object_path(name), doing, missing="ok")
            return 0 if found is None else 1

        context = contextvars.copy_context()  # the outbound-request guard applies in the workers too

        with ThreadPoolExecutor(max_workers=8) as pool:
            return sum(pool.map(lambda name: context.copy().run(remove, name), names))
