"""Google credentials: bearer tokens minted from a service-account key, the server's own environment,
and google-auth's HTTP transport over httpx. google-auth is imported only when a token is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import icechunk

from floe.errors import StorageError
from floe.models import GSCredentials
from floe.storage import timeouts
from floe.storage.base import Refresher
from floe.storage.gcs.config import GCS_READ_ONLY, GCS_READ_WRITE
from floe.storage.objects import with_kind
from floe.storage.refresh import Refreshing
from floe.tls import ssl_context

# Icechunk's GCS credential provider asks for new credentials 120-180 s before they expire;
# the refresh callback hands out the initial token only while it has longer than this to live.
_REFRESH_MARGIN = timedelta(minutes=5)


def http_timeout() -> httpx.Timeout:
    """The server's storage timeouts (:mod:`floe.storage.timeouts`) for httpx."""
    limits = timeouts.current()
    return httpx.Timeout(limits.read, connect=limits.connect)


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
                    method, url, content=body, headers=headers, timeout=timeout or http_timeout()
                )
            else:
                response = httpx.request(
                    method,
                    url,
                    content=body,
                    headers=headers,
                    timeout=timeout or http_timeout(),
                    verify=ssl_context(),
                )
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
        return _Response(response)


def service_account_credentials(key: Mapping[str, Any], scope: str) -> Any:
    """google-auth credentials of the service account of ``key``, for ``scope``."""
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_info(dict(key), scopes=[scope])


def _aware(expiry: datetime | None) -> datetime | None:
    """google-auth keeps expiries as naive UTC datetimes."""
    if expiry is None:
        return None
    return expiry.replace(tzinfo=UTC) if expiry.tzinfo is None else expiry.astimezone(UTC)


def refresh_google(credentials: Any, who: str, where: str, transport: HttpxTransport | None = None) -> None:
    """Refresh google-auth credentials, translating failures into plain Floe errors."""
    from google.auth.exceptions import DefaultCredentialsError, RefreshError, TransportError

    try:
        credentials.refresh(transport or HttpxTransport())
    except TransportError as exc:
        raise with_kind(
            StorageError(f"cannot reach the Google token endpoint {where} to get a token for {who}: {exc}"),
            "unreachable",
        ) from None
    except RefreshError as exc:
        reason = str(exc.args[0]) if exc.args else type(exc).__name__
        raise with_kind(
            StorageError(
                f"Google refused a token for {who} ({reason[:200]}); the key may have been deleted or "
                "disabled, or the service account removed: put a current key in the bucket config"
            ),
            "keys_rejected",
        ) from None
    except DefaultCredentialsError as exc:
        raise with_kind(
            StorageError(f"no usable Google credentials for {who}: {exc}"), "no_credentials"
        ) from None


def mint_token(key: Mapping[str, Any], *, read_only: bool) -> GSCredentials:
    """An OAuth2 access token for the service account of ``key`` (read-only or read-write scope)."""
    credentials = service_account_credentials(key, GCS_READ_ONLY if read_only else GCS_READ_WRITE)
    email = str(key.get("client_email"))
    refresh_google(credentials, f"service account {email}", str(key.get("token_uri")))
    return GSCredentials(
        access_token=credentials.token, principal=email, expiration=_aware(credentials.expiry)
    )


def from_environment() -> Any:
    """The Google credentials of the server's own environment (``from_env``)."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _project = google.auth.default(scopes=[GCS_READ_WRITE])
    except DefaultCredentialsError:
        raise with_kind(
            StorageError(
                "the bucket config uses from_env but the Floe server has no Google credentials: set "
                "GOOGLE_APPLICATION_CREDENTIALS for the server, run it where a metadata server answers, "
                "or store a service-account key in the bucket config"
            ),
            "no_credentials",
        ) from None
    return credentials


def bearer_credential(creds: GSCredentials) -> icechunk.GcsBearerCredential:
    """Floe's GCS token as Icechunk's (what the refresh callable returns)."""
    return icechunk.GcsBearerCredential(
        bearer=creds.access_token,
        expires_after=creds.expiration.astimezone(UTC) if creds.expiration else None,
    )


def refreshing(refresh: Refresher, initial: GSCredentials | None) -> Refreshing[GSCredentials]:
    """Icechunk's GCS credential callback."""
    return Refreshing(
        refresh, initial, kind=GSCredentials, convert=bearer_credential, margin=_REFRESH_MARGIN, label="GCS"
    )
