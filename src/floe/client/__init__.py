"""``floe.Client`` and ``floe.AsyncClient``: thin twins that drive the shared operations.

Every operation is written once, as a flow in one of the ``_operations``-like modules; each client
declares it in its class body with :func:`~floe.client._methods.blocking` or
:func:`~floe.client._methods.awaitable`, so type checkers, ``help()`` and editors see its signature.
``import floe.client`` loads no Icechunk: the first open of a repo does (``floe.client.opening``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from floe.client import _access as access_ops
from floe.client import _compat as compat_ops
from floe.client import _copy as copy_ops
from floe.client import _discover as discover_ops
from floe.client import _operations as ops
from floe.client import _sharing as sharing_ops
from floe.client import _trash as trash_ops
from floe.client._methods import awaitable, blocking
from floe.client._transport import (
    TIMEOUT,
    Call,
    ClientInfo,
    Flow,
    build_request,
    default_headers,
    drive,
    drive_async,
    finish,
    unreachable,
)
from floe.client.config import resolve
from floe.client.services import AsyncServicesClient, ServicesClient
from floe.models import AuditEvent, Repo
from floe.tls import ssl_context

if TYPE_CHECKING:
    from floe.client.repository import FloeRepository

__all__ = ["AsyncClient", "Client", "FloeRepository"]

T = TypeVar("T")


def __getattr__(name: str) -> Any:
    if name == "FloeRepository":  # loads Icechunk, so only when asked for
        from floe.client.repository import FloeRepository

        return FloeRepository
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _ClientBase:
    _http: httpx.Client | httpx.AsyncClient

    def __init__(self, service_uri: str | None = None, token: str | None = None) -> None:
        try:
            conn = resolve(service_uri, token)
        except ValueError as exc:
            raise ops.ValidationError(str(exc)) from None
        self.service_uri = conn.service_uri
        self.token = conn.token
        self.token_source = conn.token_source
        self._info = ClientInfo(self.service_uri, self.token)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(service_uri={self.service_uri!r})"

    def _http_options(self) -> dict[str, Any]:
        return {"base_url": self.service_uri, "headers": default_headers(self.token), "timeout": TIMEOUT}

    def _use_token(self, token: str | None) -> ClientInfo:
        """Switch to another token (after ``login`` / ``logout``); returns the new client info."""
        self.token = token
        self.token_source = "login" if token else None
        self._info = ClientInfo(self.service_uri, token)
        if token:
            self._http.headers["authorization"] = f"Bearer {token}"
        else:
            self._http.headers.pop("authorization", None)
        return self._info

    @staticmethod
    def _audit_filters(
        org: str | None,
        actor: str | None,
        resource: str | None,
        action: str | None,
        since: datetime | str | None,
        until: datetime | str | None,
        limit: int,
    ) -> dict[str, Any]:
        return {
            "org": org,
            "actor": actor,
            "resource": resource,
            "action": action,
            "since": since,
            "until": until,
            "limit": limit,
        }


class Client(_ClientBase):
    """Client for a Floe server.

    Args:
        service_uri: the server, e.g. ``http://127.0.0.1:7800``; else ``FLOE_SERVICE_URI``, else the
            user config file that ``floe serve`` writes.
        token: an API token (``ema_...``) or a session token; else ``FLOE_TOKEN``, else the session
            that ``login()`` / ``floe auth login`` stored for this service URI, else the user config file.
        transport: an ``httpx.BaseTransport`` to send requests through instead of the network (for
            example the server app in process, in tests).
    """

    _http: httpx.Client

    def __init__(
        self,
        service_uri: str | None = None,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(service_uri, token)
        self._http = httpx.Client(
            transport=transport or httpx.HTTPTransport(retries=2, verify=ssl_context()),
            **self._http_options(),
        )

    def _send(self, call: Call[Any]) -> Any:
        try:
            response = self._http.send(build_request(self._http, call))
        except httpx.TransportError as exc:
            raise unreachable(self.service_uri, exc) from None
        return finish(call, response)

    def _drive(self, flow: Flow[T]) -> T:
        return drive(flow, self._send, self._info, self._use_token)

    whoami = blocking(ops.whoami)
    list_repos = blocking(ops.list_repos)
    get_repo_object = blocking(ops.get_repo_object)
    get_repo = blocking(ops.get_repo)
    get_or_create_repo = blocking(ops.get_or_create_repo)
    create_repo = blocking(ops.create_repo)
    import_repo = blocking(ops.import_repo)
    import_repo_object = blocking(ops.import_repo_object)
    modify_repo = blocking(ops.modify_repo)
    set_repo_status = blocking(ops.set_repo_status)
    delete_repo = blocking(ops.delete_repo)
    get_icechunk_container_credentials_from_bucket = blocking(
        ops.get_icechunk_container_credentials_from_bucket
    )
    containers_credentials_for_buckets = blocking(ops.containers_credentials_for_buckets)
    set_virtual_chunk_containers = blocking(ops.set_virtual_chunk_containers)
    get_virtual_chunk_containers = blocking(ops.get_virtual_chunk_containers)
    list_leases = blocking(ops.list_leases)
    break_lease = blocking(ops.break_lease)
    get_icechunk_storage = blocking(ops.get_icechunk_storage)
    create_bucket_config = blocking(ops.create_bucket_config)
    modify_bucket_config = blocking(ops.modify_bucket_config)
    set_default_bucket_config = blocking(ops.set_default_bucket_config)
    get_bucket_config = blocking(ops.get_bucket_config)
    check_bucket_config = blocking(ops.check_bucket_config)
    list_bucket_configs = blocking(ops.list_bucket_configs)
    list_repos_for_bucket_config = blocking(ops.list_repos_for_bucket_config)
    delete_bucket_config = blocking(ops.delete_bucket_config)
    list_shared_locations = blocking(ops.list_shared_locations)
    share_location = blocking(ops.share_location)
    unshare_location = blocking(ops.unshare_location)
    list_orgs = blocking(ops.list_orgs)
    create_org = blocking(ops.create_org)
    get_org = blocking(ops.get_org)
    delete_org = blocking(ops.delete_org)
    create_api_client = blocking(ops.create_api_client)
    list_api_clients = blocking(ops.list_api_clients)
    revoke_api_client = blocking(ops.revoke_api_client)
    get_api_client_id_from_token = blocking(ops.get_api_client_id_from_token)
    get_permission_check = blocking(ops.get_permission_check)
    login = blocking(access_ops.login)
    logout = blocking(access_ops.logout)
    list_sessions = blocking(access_ops.list_sessions)
    revoke_session = blocking(access_ops.revoke_session)
    change_password = blocking(access_ops.change_password)
    update_profile = blocking(access_ops.update_profile)
    list_users = blocking(access_ops.list_users)
    create_user = blocking(access_ops.create_user)
    get_user_account = blocking(access_ops.get_user_account)
    update_user = blocking(access_ops.update_user)
    list_members = blocking(access_ops.list_members)
    set_member = blocking(access_ops.set_member)
    remove_member = blocking(access_ops.remove_member)
    list_grants = blocking(access_ops.list_grants)
    grant = blocking(access_ops.grant)
    revoke_grant = blocking(access_ops.revoke_grant)
    list_audit_events = blocking(access_ops.list_audit_events)
    list_trash = blocking(trash_ops.list_trash)
    restore_repo = blocking(trash_ops.restore_repo)
    purge_repo = blocking(trash_ops.purge_repo)
    modify_org = blocking(trash_ops.modify_org)
    share_repo = blocking(sharing_ops.share_repo)
    list_repo_shares = blocking(sharing_ops.list_repo_shares)
    unshare_repo = blocking(sharing_ops.unshare_repo)
    copy_repo = blocking(copy_ops.copy_repo)
    move_repo = blocking(copy_ops.move_repo)
    list_bucket_repos = blocking(discover_ops.list_bucket_repos)
    import_bucket_repos = blocking(discover_ops.import_bucket_repos)
    authorize_virtual_chunk_access = blocking(compat_ops.authorize_virtual_chunk_access)
    get_api_client_from_token = blocking(compat_ops.get_api_client_from_token)
    set_virtual_chunk_access_policy = blocking(compat_ops.set_virtual_chunk_access_policy)
    list_virtual_chunk_access_policies = blocking(compat_ops.list_virtual_chunk_access_policies)
    delete_virtual_chunk_access_policy = blocking(compat_ops.delete_virtual_chunk_access_policy)

    def get_services(self, org: str) -> ServicesClient:
        """The data services of ``org``: enable, list, status, logs, disable (see ``floe.client.services``)."""
        return ServicesClient(self, org)

    def iter_audit_events(
        self,
        org: str | None = None,
        *,
        actor: str | None = None,
        resource: str | None = None,
        action: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = 50,
    ) -> Iterator[AuditEvent]:
        """Every matching audit event, newest first, fetching ``limit`` at a time (see ``list_audit_events``)."""
        filters = self._audit_filters(org, actor, resource, action, since, until, limit)
        cursor = None
        while True:
            page = self.list_audit_events(**filters, cursor=cursor)
            yield from page.items
            if not page.next_cursor or not page.items:
                return
            cursor = page.next_cursor

    def list_repos_paginated(
        self, org: str, filter_metadata: dict[str, Any] | None = None, page_size: int = 50
    ) -> Iterator[Repo]:
        """Every repo of an org (optionally only those whose metadata matches), fetching ``page_size``
        at a time as the iteration reaches them."""
        page = 1
        while True:
            result = self._drive(ops._repos_page(org, filter_metadata, page, page_size))
            yield from result.items
            if result.page >= result.pages or not result.items:
                return
            page += 1

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_ClientBase):
    """Asyncio client for a Floe server; the same methods as :class:`Client`, awaitable.

    ``transport`` is an ``httpx.AsyncBaseTransport`` (e.g. ``httpx.ASGITransport(app)``).
    """

    _http: httpx.AsyncClient

    def __init__(
        self,
        service_uri: str | None = None,
        token: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(service_uri, token)
        self._http = httpx.AsyncClient(
            transport=transport or httpx.AsyncHTTPTransport(retries=2, verify=ssl_context()),
            **self._http_options(),
        )

    async def _send(self, call: Call[Any]) -> Any:
        try:
            response = await self._http.send(build_request(self._http, call))
        except httpx.TransportError as exc:
            raise unreachable(self.service_uri, exc) from None
        return finish(call, response)

    def _drive(self, flow: Flow[T]) -> Coroutine[Any, Any, T]:
        return drive_async(flow, self._send, self._info, self._use_token)

    whoami = awaitable(ops.whoami)
    list_repos = awaitable(ops.list_repos)
    get_repo_object = awaitable(ops.get_repo_object)
    get_repo = awaitable(ops.get_repo)
    get_or_create_repo = awaitable(ops.get_or_create_repo)
    create_repo = awaitable(ops.create_repo)
    import_repo = awaitable(ops.import_repo)
    import_repo_object = awaitable(ops.import_repo_object)
    modify_repo = awaitable(ops.modify_repo)
    set_repo_status = awaitable(ops.set_repo_status)
    delete_repo = awaitable(ops.delete_repo)
    get_icechunk_container_credentials_from_bucket = awaitable(
        ops.get_icechunk_container_credentials_from_bucket
    )
    containers_credentials_for_buckets = awaitable(ops.containers_credentials_for_buckets)
    set_virtual_chunk_containers = awaitable(ops.set_virtual_chunk_containers)
    get_virtual_chunk_containers = awaitable(ops.get_virtual_chunk_containers)
    list_leases = awaitable(ops.list_leases)
    break_lease = awaitable(ops.break_lease)
    get_icechunk_storage = awaitable(ops.get_icechunk_storage)
    create_bucket_config = awaitable(ops.create_bucket_config)
    modify_bucket_config = awaitable(ops.modify_bucket_config)
    set_default_bucket_config = awaitable(ops.set_default_bucket_config)
    get_bucket_config = awaitable(ops.get_bucket_config)
    check_bucket_config = awaitable(ops.check_bucket_config)
    list_bucket_configs = awaitable(ops.list_bucket_configs)
    list_repos_for_bucket_config = awaitable(ops.list_repos_for_bucket_config)
    delete_bucket_config = awaitable(ops.delete_bucket_config)
    list_shared_locations = awaitable(ops.list_shared_locations)
    share_location = awaitable(ops.share_location)
    unshare_location = awaitable(ops.unshare_location)
    list_orgs = awaitable(ops.list_orgs)
    create_org = awaitable(ops.create_org)
    get_org = awaitable(ops.get_org)
    delete_org = awaitable(ops.delete_org)
    create_api_client = awaitable(ops.create_api_client)
    list_api_clients = awaitable(ops.list_api_clients)
    revoke_api_client = awaitable(ops.revoke_api_client)
    get_api_client_id_from_token = awaitable(ops.get_api_client_id_from_token)
    get_permission_check = awaitable(ops.get_permission_check)
    login = awaitable(access_ops.login)
    logout = awaitable(access_ops.logout)
    list_sessions = awaitable(access_ops.list_sessions)
    revoke_session = awaitable(access_ops.revoke_session)
    change_password = awaitable(access_ops.change_password)
    update_profile = awaitable(access_ops.update_profile)
    list_users = awaitable(access_ops.list_users)
    create_user = awaitable(access_ops.create_user)
    get_user_account = awaitable(access_ops.get_user_account)
    update_user = awaitable(access_ops.update_user)
    list_members = awaitable(access_ops.list_members)
    set_member = awaitable(access_ops.set_member)
    remove_member = awaitable(access_ops.remove_member)
    list_grants = awaitable(access_ops.list_grants)
    grant = awaitable(access_ops.grant)
    revoke_grant = awaitable(access_ops.revoke_grant)
    list_audit_events = awaitable(access_ops.list_audit_events)
    list_trash = awaitable(trash_ops.list_trash)
    restore_repo = awaitable(trash_ops.restore_repo)
    purge_repo = awaitable(trash_ops.purge_repo)
    modify_org = awaitable(trash_ops.modify_org)
    share_repo = awaitable(sharing_ops.share_repo)
    list_repo_shares = awaitable(sharing_ops.list_repo_shares)
    unshare_repo = awaitable(sharing_ops.unshare_repo)
    copy_repo = awaitable(copy_ops.copy_repo)
    move_repo = awaitable(copy_ops.move_repo)
    list_bucket_repos = awaitable(discover_ops.list_bucket_repos)
    import_bucket_repos = awaitable(discover_ops.import_bucket_repos)
    authorize_virtual_chunk_access = awaitable(compat_ops.authorize_virtual_chunk_access)
    get_api_client_from_token = awaitable(compat_ops.get_api_client_from_token)
    set_virtual_chunk_access_policy = awaitable(compat_ops.set_virtual_chunk_access_policy)
    list_virtual_chunk_access_policies = awaitable(compat_ops.list_virtual_chunk_access_policies)
    delete_virtual_chunk_access_policy = awaitable(compat_ops.delete_virtual_chunk_access_policy)

    def get_services(self, org: str) -> AsyncServicesClient:
        """The data services of ``org``, awaitable: enable, list, status, logs, disable."""
        return AsyncServicesClient(self, org)

    async def iter_audit_events(
        self,
        org: str | None = None,
        *,
        actor: str | None = None,
        resource: str | None = None,
        action: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = 50,
    ) -> AsyncIterator[AuditEvent]:
        """Every matching audit event, newest first (``async for``), fetching ``limit`` at a time."""
        filters = self._audit_filters(org, actor, resource, action, since, until, limit)
        cursor = None
        while True:
            page = await self.list_audit_events(**filters, cursor=cursor)
            for event in page.items:
                yield event
            if not page.next_cursor or not page.items:
                return
            cursor = page.next_cursor

    async def list_repos_paginated(
        self, org: str, filter_metadata: dict[str, Any] | None = None, page_size: int = 50
    ) -> AsyncIterator[Repo]:
        """Every repo of an org (``async for``; optionally only those whose metadata matches),
        fetching ``page_size`` at a time as the iteration reaches them."""
        page = 1
        while True:
            result = await self._drive(ops._repos_page(org, filter_metadata, page, page_size))
            for repo in result.items:
                yield repo
            if result.page >= result.pages or not result.items:
                return
            page += 1

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
