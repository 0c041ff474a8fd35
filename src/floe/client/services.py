"""The data services of an org, from ``floe.Client.get_services(org)`` (and ``AsyncClient``'s).

A service serves the org's repos through one protocol (Zarr over HTTP, OGC EDR, WMS, map tiles or
OPeNDAP DAP2) at its ``url``. The methods are those of the ``arraylake`` client's compute services
(``enable``, ``list_enabled``, ``get_status``, ``get_logs``, ``stream_logs``, ``disable``), answering
Floe's models::

    services = floe.Client().get_services("lab")
    edr = services.enable("edr", is_public=True, deployment_name="era5-edr", repos=["era5"])
    print(edr.url, edr.status)
    services.disable("era5-edr")

Both clients run the same operations (:mod:`floe.client._services`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from floe.client import _services as ops
from floe.client._transport import Flow, drive, drive_async
from floe.models.services import DeploymentInfo, ServiceConfig, ServiceDisabled, ServiceProtocol, ServiceState

if TYPE_CHECKING:
    from floe.client import AsyncClient, Client

__all__ = [
    "AsyncServicesClient",
    "DeploymentInfo",
    "ServiceConfig",
    "ServiceDisabled",
    "ServiceProtocol",
    "ServiceState",
    "ServicesClient",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _doc_of(twin: Callable[..., Any]) -> Callable[[F], F]:
    """Give the async method its sync twin's docstring (one text for both)."""

    def apply(method: F) -> F:
        method.__doc__ = twin.__doc__
        return method

    return apply


class ServicesClient:
    """The data services of one org, through a :class:`floe.Client`.

    Enabling and disabling need an org admin's token, as does reading logs; anyone in the org may list
    the services and read their status.
    """

    def __init__(self, client: Client, org: str) -> None:
        self.org = ops.check_org(org)
        self._client = client

    def __repr__(self) -> str:
        return f"{type(self).__name__}(org={self.org!r}, service_uri={self._client.service_uri!r})"

    def _run(self, flow: Flow[T]) -> T:
        client = self._client
        return drive(flow, client._send, client._info, client._use_token)

    def enable(
        self, protocol: str | ServiceProtocol, is_public: bool = False, **settings: Any
    ) -> DeploymentInfo:
        """Enable a service (org admins).

        Args:
            protocol: ``zarr``, ``edr``, ``wms``, ``tiles`` or ``dap2``.
            is_public: anyone may read through it, without a token (only ``repos``, when given).
            **settings: the other fields of :class:`~floe.models.services.ServiceConfig`, e.g.
                ``deployment_name`` (the service's name, in its URL; default: the protocol's name; at most
                16 lowercase letters, digits and dashes), ``repos`` (the repos it serves; default: all of
                the org's), ``store_cache_ttl`` (seconds a dataset stays open), ``store_cache_size``
                (datasets kept open), ``cache_max_age`` (``Cache-Control: max-age`` of its answers).

        Returns:
            The enabled service: ``name``, ``url``, ``created``, ``config`` and ``status`` (``available``,
            or ``error`` with a ``message`` saying what the server lacks).

        Raises:
            ValidationError: a bad protocol, name or setting (before any request), repos not in the org.
            ConflictError: the org has a service of that name already.
            PermissionDeniedError: the token is not an org admin's.
        """
        return self._run(ops.enable_service(self.org, protocol, is_public, **settings))

    def list_enabled(self) -> list[DeploymentInfo]:
        """The org's services, by name."""
        return self._run(ops.list_services(self.org))

    def get_status(self, service_id: str) -> DeploymentInfo:
        """One service and its status (``available``, or ``error`` with the reason in ``message``).

        Args:
            service_id: the service's name (its ``deployment_name``, else its protocol).

        Raises:
            NotFoundError: the org has no service of that name.
        """
        return self._run(ops.get_service(self.org, service_id))

    def get_logs(
        self,
        service_id: str,
        *,
        tail: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> str:
        """The service's log so far (org admins): one line per request it answered, joined by newlines.

        Args:
            service_id: the service's name.
            tail: only the last ``tail`` lines (at most 10000).
            since: only lines from this time on (a datetime or ISO 8601; UTC when it has no zone).
            until: only lines up to this time.
        """
        return self._run(ops.get_service_logs(self.org, service_id, tail=tail, since=since, until=until))

    def stream_logs(
        self,
        service_id: str,
        *,
        tail: int | None = None,
        follow: bool = False,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        follow_timeout: int = 30,
    ) -> Iterator[str]:
        """The service's log line by line as it arrives (org admins); ``async for`` on ``AsyncClient``.

        Args:
            service_id: the service's name.
            tail, since, until: as for :meth:`get_logs`.
            follow: after the lines so far, keep receiving new ones for ``follow_timeout`` seconds
                (0 to 3600).

        Bad arguments raise at once; a refusal (say, ``NotFoundError``) when iteration starts.
        """
        call = ops.logs_call(
            self.org,
            service_id,
            tail=tail,
            since=since,
            until=until,
            follow=follow,
            follow_timeout=follow_timeout,
        )
        return ops.stream_lines(self._client._http, self._client.service_uri, call)

    def disable(self, service_id: str) -> ServiceDisabled:
        """Disable a service (org admins): it stops answering at once.

        Returns:
            ``{"name": ..., "status": "disabled"}``.
        """
        return self._run(ops.disable_service(self.org, service_id))


class AsyncServicesClient:
    """The data services of one org, through a :class:`floe.AsyncClient`: :class:`ServicesClient`'s
    methods, awaitable (``stream_logs`` is an async iterator)."""

    def __init__(self, client: AsyncClient, org: str) -> None:
        self.org = ops.check_org(org)
        self._client = client

    def __repr__(self) -> str:
        return f"{type(self).__name__}(org={self.org!r}, service_uri={self._client.service_uri!r})"

    async def _run(self, flow: Flow[T]) -> T:
        client = self._client
        return await drive_async(flow, client._send, client._info, client._use_token)

    @_doc_of(ServicesClient.enable)
    async def enable(
        self, protocol: str | ServiceProtocol, is_public: bool = False, **settings: Any
    ) -> DeploymentInfo:
        return await self._run(ops.enable_service(self.org, protocol, is_public, **settings))

    @_doc_of(ServicesClient.list_enabled)
    async def list_enabled(self) -> list[DeploymentInfo]:
        return await self._run(ops.list_services(self.org))

    @_doc_of(ServicesClient.get_status)
    async def get_status(self, service_id: str) -> DeploymentInfo:
        return await self._run(ops.get_service(self.org, service_id))

    @_doc_of(ServicesClient.get_logs)
    async def get_logs(
        self,
        service_id: str,
        *,
        tail: int | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> str:
        return await self._run(
            ops.get_service_logs(self.org, service_id, tail=tail, since=since, until=until)
        )

    @_doc_of(ServicesClient.stream_logs)
    def stream_logs(
        self,
        service_id: str,
        *,
        tail: int | None = None,
        follow: bool = False,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        follow_timeout: int = 30,
    ) -> AsyncIterator[str]:
        call = ops.logs_call(
            self.org,
            service_id,
            tail=tail,
            since=since,
            until=until,
            follow=follow,
            follow_timeout=follow_timeout,
        )
        return ops.astream_lines(self._client._http, self._client.service_uri, call)

    @_doc_of(ServicesClient.disable)
    async def disable(self, service_id: str) -> ServiceDisabled:
        return await self._run(ops.disable_service(self.org, service_id))
