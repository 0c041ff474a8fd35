"""Google Cloud Storage: the server keeps a service-account key and vends short-lived bearer tokens.

Three credential methods:

* ``gcs_service_account`` (delegated): the bucket config holds a service-account key (the JSON
  file from the Google Cloud console). The server mints OAuth2 access tokens from it with
  google-auth -- scope ``devstorage.read_only`` for readers, ``devstorage.read_write`` for
  writers -- and hands clients only those tokens (``GSCredentials``), never the key.
* ``from_env``: whoever opens the repo uses the Google credentials of its own environment
  (``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's application-default login, the metadata server).
* ``anonymous``: public buckets, read-only.

``extra_config.endpoint_url`` points both Icechunk (object_store's ``google_base_url``) and the
server's handle at another endpoint than ``https://storage.googleapis.com``, e.g. an emulator.

The server's handle (:class:`GcsObjectStore`) speaks the GCS JSON API with httpx. GCS has no
``If-Match`` on ETags: conditional writes use object *generations*, so the "etag" this handle
returns and accepts is the generation number, as a string.
"""

from __future__ import annotations

import contextvars
import ipaddress
import json
import re
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlparse

import httpx
import icechunk

from floe.errors import NotFoundError, PermissionDeniedError, StorageError
from floe.models import GSCredentials, TempCredentials
from floe.storage.base import (
    MAX_LISTED,
    BucketSpec,
    Listing,
    Location,
    PreconditionFailed,
    Refresher,
    StoragePolicy,
    collect_listing,
    join_prefix,
    listed_prefix,
)

GCS_READ_ONLY = "https://www.googleapis.com/auth/devstorage.read_only"
GCS_READ_WRITE = "https://www.googleapis.com/auth/devstorage.read_write"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
DEFAULT_ENDPOINT = "https://storage.googleapis.com"

_BUCKET_PART_RE = re.compile(r"[a-z0-9](?:[a-z0-9_\-]{0,61}[a-z0-9])?")
_BUCKET_CHARS_RE = re.compile(r"[a-z0-9][a-z0-9._\-]*[a-z0-9]")
_KEY_HELP = (
    "paste the whole JSON key file of a service account (IAM & Admin > Service accounts > Keys > "
    "Add key > JSON in the Google Cloud console), e.g. json.load(open('key.json'))"
)
# Icechunk's GCS credential provider asks for new credentials 120-180 s before they expire;
# the refresh callback hands out the initial token only while it has longer than this to live.
_REFRESH_MARGIN = timedelta(minutes=5)
_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


# --- validation ----------------------------------------------------------------------------


def check_bucket_name(name: str) -> str:
    """Validate a GCS bucket name; ``ValueError`` naming the rule that is broken otherwise."""
    rules = (
        "GCS bucket names are 3-63 characters (up to 222 with dots, 63 between dots) of lower-case "
        "letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
    )
    if not isinstance(name, str) or not name:
        raise ValueError(f"bucket name is missing: {rules}")
    too_long = len(name) > (222 if "." in name else 63)
    if len(name) < 3 or too_long or not _BUCKET_CHARS_RE.fullmatch(name):
        raise ValueError(f"invalid bucket name {name!r}: {rules}")
    if any(not _BUCKET_PART_RE.fullmatch(part) for part in name.split(".")):
        raise ValueError(f"invalid bucket name {name!r}: {rules}; every dot-separated part too")
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        raise ValueError(f"invalid bucket name {name!r}: GCS bucket names cannot be IP addresses")
    if name.startswith("goog") or "google" in name or "g00gle" in name:
        raise ValueError(
            f"invalid bucket name {name!r}: GCS bucket names cannot start with 'goog' or contain 'google'"
        )
    return name


def _check_url(value: Any, field: str, example: str) -> str:
    url = str(value).strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.query or parsed.fragment:
        raise ValueError(f"invalid {field} {value!r}: give a full http(s) URL such as {example}")
    return url


def check_service_account_key(key: Any) -> dict[str, Any]:
    """Validate a service-account key; return it with ``token_uri`` filled in when missing.

    Messages name the field (``auth_config.service_account_key.<field>``) and never echo the key.
    """
    field = "auth_config.service_account_key"
    if isinstance(key, str):
        try:
            key = json.loads(key)
        except ValueError:
            raise ValueError(f"{field} is not JSON: {_KEY_HELP}") from None
    if not isinstance(key, Mapping):
        raise ValueError(f"{field} must be the key file's JSON object: {_KEY_HELP}")
    key = dict(key)
    kind = key.get("type")
    if kind == "authorized_user":
        raise ValueError(
            f"{field} is a user's login (gcloud auth application-default login), not a service-account key: "
            f"{_KEY_HELP}; or use auth_config.method from_env"
        )
    if kind != "service_account":
        raise ValueError(f"{field}.type must be 'service_account', got {kind!r}: {_KEY_HELP}")
    email = key.get("client_email")
    if not isinstance(email, str) or "@" not in email:
        raise ValueError(f"{field}.client_email is missing or not an e-mail address: {_KEY_HELP}")
    private_key = key.get("private_key")
    if not isinstance(private_key, str) or "PRIVATE KEY" not in private_key:
        raise ValueError(f"{field}.private_key is missing or not a PEM private key: {_KEY_HELP}")
    key["token_uri"] = _check_url(
        key.get("token_uri") or GOOGLE_TOKEN_URI, f"{field}.token_uri", GOOGLE_TOKEN_URI
    )
    from google.auth import crypt

    try:
        crypt.RSASigner.from_service_account_info(key)
    except (ValueError, TypeError):
        raise ValueError(
            f"{field}.private_key cannot be read as an RSA private key (was the key file edited or "
            f"truncated?): {_KEY_HELP}"
        ) from None
    return key


# --- minting bearer tokens -----------------------------------------------------------------


class _Response:
    """google-auth's view of an httpx response."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self.data = response.content


class HttpxTransport:
    """A google-auth transport (``google.auth.transport.Request``) over httpx: no ``requests`` needed."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        from google.auth.exceptions import TransportError

        try:
            if self._client is not None:
                response = self._client.request(
                    method, url, content=body, headers=headers, timeout=timeout or _TIMEOUT
                )
            else:
                response = httpx.request(
                    method, url, content=body, headers=headers, timeout=timeout or _TIMEOUT
                )
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
        return _Response(response)


def _service_account(key: Mapping[str, Any], scope: str) -> Any:
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_info(dict(key), scopes=[scope])


def _aware(expiry: datetime | None) -> datetime | None:
    """google-auth keeps expiries as naive UTC datetimes."""
    if expiry is None:
        return None
    return expiry.replace(tzinfo=UTC) if expiry.tzinfo is None else expiry.astimezone(UTC)


def _kind(exc: Exception, kind: str) -> Exception:
    """Tag an error with what went wrong (``unreachable``, ``bucket_missing``, ``keys_rejected``,
    ``no_credentials``, ``access_denied``, ``tls``), for callers that tell cases apart."""
    exc.kind = kind  # type: ignore[attr-defined]
    return exc


def _unreachable(exc: httpx.HTTPError) -> str:
    text = f"{exc} {exc.__cause__ or ''} {exc.__context__ or ''}".upper()
    return "tls" if "SSL" in text or "CERTIFICATE" in text else "unreachable"


def _refresh(credentials: Any, who: str, where: str, transport: HttpxTransport | None = None) -> None:
    """Refresh google-auth credentials, translating failures into plain Floe errors."""
    from google.auth.exceptions import DefaultCredentialsError, RefreshError, TransportError

    try:
        credentials.refresh(transport or HttpxTransport())
    except TransportError as exc:
        raise _kind(
            StorageError(f"cannot reach the Google token endpoint {where} to get a token for {who}: {exc}"),
            "unreachable",
        ) from None
    except RefreshError as exc:
        reason = str(exc.args[0]) if exc.args else type(exc).__name__
        raise _kind(
            StorageError(
                f"Google refused a token for {who} ({reason[:200]}); the key may have been deleted or "
                "disabled, or the service account removed: put a current key in the bucket config"
            ),
            "keys_rejected",
        ) from None
    except DefaultCredentialsError as exc:
        raise _kind(
            StorageError(f"no usable Google credentials for {who}: {exc}"), "no_credentials"
        ) from None


def mint_token(key: Mapping[str, Any], *, read_only: bool) -> GSCredentials:
    """An OAuth2 access token for the service account of ``key`` (read-only or read-write scope)."""
    credentials = _service_account(key, GCS_READ_ONLY if read_only else GCS_READ_WRITE)
    email = str(key.get("client_email"))
    _refresh(credentials, f"service account {email}", str(key.get("token_uri")))
    return GSCredentials(
        access_token=credentials.token, principal=email, expiration=_aware(credentials.expiry)
    )


# --- the adapter -----------------------------------------------------------------------------


class GcsAdapter:
    """``gs`` bucket configs (``gs://bucket/prefix``)."""

    platforms = ("gs",)
    auth_methods = ("gcs_service_account", "from_env", "anonymous")
    extra_config_keys = ("endpoint_url",)

    def normalize(self, spec: BucketSpec, policy: StoragePolicy) -> BucketSpec:
        check_bucket_name(spec.name)
        unknown = sorted(set(spec.extra_config) - set(self.extra_config_keys))
        if unknown:
            raise ValueError(
                f"unknown extra_config key(s) {', '.join(unknown)} for platform gs: "
                f"allowed is {', '.join(self.extra_config_keys)} (GCS needs no region)"
            )
        extra: dict[str, str | bool] = {}
        if spec.extra_config.get("endpoint_url"):
            extra["endpoint_url"] = _check_url(
                spec.extra_config["endpoint_url"], "extra_config.endpoint_url", DEFAULT_ENDPOINT
            )
        auth = dict(spec.auth or {"method": "anonymous"})
        method = auth.get("method")
        if method not in self.auth_methods:
            raise ValueError(
                f"auth_config.method {method!r} is not supported for gs: use one of {', '.join(self.auth_methods)}"
            )
        if method == "gcs_service_account":
            auth["service_account_key"] = check_service_account_key(auth.get("service_account_key"))
        return spec.with_changes(extra_config=extra, auth=auth)

    @staticmethod
    def endpoint(spec: BucketSpec) -> str:
        return str(spec.extra_config.get("endpoint_url") or DEFAULT_ENDPOINT)

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
        kwargs: dict[str, Any] = {
            "bucket": spec.name,
            "prefix": prefix,
            "config": self._icechunk_config(spec),
        }
        if spec.auth_method == "from_env":
            kwargs["from_env"] = True
        elif credentials is None and refresh is None:
            kwargs["anonymous"] = True
        elif refresh is not None and (credentials is None or credentials.expiration is not None):
            # from_env=False: without it Icechunk ignores get_credentials and reads the environment.
            kwargs.update(get_credentials=_GcsRefresh(refresh, initial=credentials), from_env=False)
        else:
            assert credentials is not None
            kwargs["bearer_token"] = credentials.access_token
        return icechunk.gcs_storage(**kwargs)

    @staticmethod
    def _icechunk_config(spec: BucketSpec) -> dict[str, str] | None:
        endpoint = spec.extra_config.get("endpoint_url")
        if not endpoint:
            return None
        config = {"google_base_url": str(endpoint)}
        if str(endpoint).startswith("http://"):
            config["allow_http"] = "true"
        return config

    def object_store(self, spec: BucketSpec) -> GcsObjectStore:
        method = spec.auth_method
        if method == "gcs_service_account":
            key = (spec.auth or {})["service_account_key"]
            credentials = _service_account(key, GCS_READ_WRITE)
            return GcsObjectStore(
                spec,
                self.endpoint(spec),
                credentials,
                who=f"service account {key.get('client_email')}",
                token_uri=str(key.get("token_uri")),
            )
        if method == "from_env":
            return GcsObjectStore(
                spec, self.endpoint(spec), _from_environment(), who="the server's environment"
            )
        return GcsObjectStore(spec, self.endpoint(spec), None, who="anonymous access")


def _from_environment() -> Any:
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _project = google.auth.default(scopes=[GCS_READ_WRITE])
    except DefaultCredentialsError:
        raise _kind(
            StorageError(
                "the bucket config uses from_env but the Floe server has no Google credentials: set "
                "GOOGLE_APPLICATION_CREDENTIALS for the server, run it where a metadata server answers, "
                "or store a service-account key in the bucket config"
            ),
            "no_credentials",
        ) from None
    return credentials


class _GcsRefresh:
    """Icechunk's credential callback for GCS: the vended token while it is fresh, then a new one.

    Stateless, so it survives pickling (Icechunk pickles it, Dask ships it to workers): it decides
    from the initial token's expiry alone. Icechunk caches what it returns until shortly before
    ``expires_after``, so the catalog is asked about once per token lifetime.
    """

    def __init__(self, refresh: Refresher, initial: GSCredentials | None) -> None:
        self.refresh = refresh
        self.initial = initial

    def __call__(self) -> icechunk.GcsBearerCredential:
        creds = self.initial
        if creds is None or (
            creds.expiration is not None and creds.expiration <= datetime.now(UTC) + _REFRESH_MARGIN
        ):
            creds = self.refresh()
        if not isinstance(creds, GSCredentials):
            raise TypeError(f"expected GCS credentials from the catalog, got {type(creds).__name__}")
        return icechunk.GcsBearerCredential(
            bearer=creds.access_token,
            expires_after=creds.expiration.astimezone(UTC) if creds.expiration else None,
        )


# --- the server's handle -------------------------------------------------------------------


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
        self._client = httpx.Client(timeout=_TIMEOUT, follow_redirects=False)  # egress: no redirects
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
                _refresh(self._credentials, self._who, self._token_uri, HttpxTransport(self._client))
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
    ) -> httpx.Response | None:
        """One JSON API request. ``missing`` says what a 404 means: ``bucket`` (no such bucket),
        ``object`` (NotFoundError for the object) or ``ok`` (return None), unless GCS says bucket."""
        headers = self._headers()
        if content is not None:
            headers["Content-Type"] = "application/octet-stream"
        try:
            response = self._client.request(
                method, f"{self.endpoint}{path}", params=params, content=content, headers=headers
            )
        except httpx.TimeoutException:
            raise _kind(
                StorageError(f"the GCS endpoint {self.endpoint} timed out while {doing}"), "unreachable"
            ) from None
        except httpx.HTTPError as exc:
            raise _kind(
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
                raise _kind(
                    NotFoundError(f"{self.describe()} does not exist (while {doing}); check the bucket name"),
                    "bucket_missing",
                )
            if missing == "ok":
                return None
            raise NotFoundError(f"no object found while {doing} in {self.describe()}")
        if status == 401:
            raise _kind(
                PermissionDeniedError(
                    f"GCS rejected the credentials of {self._who} while {doing} ({message or 'HTTP 401'}); "
                    "check the bucket config's service-account key"
                ),
                "keys_rejected",
            )
        if status == 403:
            raise _kind(
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
            "GET", self._object_path(key), f"reading {key!r}", params={"alt": "media"}, missing="object"
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
