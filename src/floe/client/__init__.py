"""``floe.Client`` and ``floe.AsyncClient``: thin twins that drive the shared operations."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any

import httpx

from floe.client import _access as access_ops
from floe.client import _copy as copy_ops
from floe.client import _discover as discover_ops
from floe.client import _operations as ops
from floe.client import _sharing as sharing_ops
from floe.client import _trash as trash_ops
from floe.client._transport import (
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
from floe.client.repository import FloeRepository
from floe.client.services import AsyncServicesClient, ServicesClient

__all__ = ["AsyncClient", "Client", "FloeRepository"]

_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
_OPERATIONS = (
    "whoami",
    "list_repos",
    "get_repo_object",
    "get_repo",
    "get_or_create_repo",
    "create_repo",
    "import_repo",
    "modify_repo",
    "set_repo_status",
    "delete_repo",
    "get_icechunk_container_credentials_from_bucket",
    "containers_credentials_for_buckets",
    "set_virtual_chunk_containers",
    "get_virtual_chunk_containers",
    "list_leases",
    "break_lease",
    "get_icechunk_storage",
    "create_bucket_config",
    "modify_bucket_config",
    "set_default_bucket_config",
    "get_bucket_config",
    "check_bucket_config",
    "list_bucket_configs",
    "list_repos_for_bucket_config",
    "delete_bucket_config",
    "list_shared_locations",
    "share_location",
    "unshare_location",
    "list_orgs",
    "create_org",
    "get_org",
    "delete_org",
    "create_api_client",
    "list_api_clients",
    "revoke_api_client",
    "get_api_client_id_from_token",
    "get_permission_check",
    # people and access (``_access``)
    "login",
    "logout",
    "list_sessions",
    "revoke_session",
    "change_password",
    "update_profile",
    "list_users",
    "create_user",
    "get_user_account",
    "update_user",
    "list_members",
    "set_member",
    "remove_member",
    "list_grants",
    "grant",
    "revoke_grant",
    "list_audit_events",
    # the trash (``_trash``)
    "list_trash",
    "restore_repo",
    "purge_repo",
    "modify_org",
    # share links (``_sharing``)
    "share_repo",
    "list_repo_shares",
    "unshare_repo",
    # copying and moving repos (``_copy``)
    "copy_repo",
    "move_repo",
    # finding the repos in a bucket (``_discover``)
    "list_bucket_repos",
    "import_bucket_repos",
)


# The modules that define the operations named above (each operation in exactly one of them).
_OPERATION_MODULES = (ops, access_ops, trash_ops, sharing_ops, copy_ops, discover_ops)


def _operation(name: str) -> Callable[..., Flow[Any]]:
    found = [
        getattr(module, name)
        for module in _OPERATION_MODULES
        if getattr(getattr(module, name, None), "__module__", None)
        == module.__name__  # defined, not imported
    ]
    if len(found) != 1:
        raise RuntimeError(f"client operation {name!r} is defined {len(found)} times")
    return found[0]


class _ClientBase:
    def __init__(self, service_uri: str | None = None, token: str | None = None) -> None:
        try:
            conn = resolve(service_uri, token)
        except ValueError as exc:
            raise ops.ValidationError(str(exc)) from None
        self.service_uri = conn.service_uri
        self.token = conn.token
        self.token_source = conn.token_source
        self._info = ClientInfo(self.service_uri, self.token)
        self._http: httpx.Client | httpx.AsyncClient

    def __repr__(self) -> str:
        return f"{type(self).__name__}(service_uri={self.service_uri!r})"

    def _http_options(self) -> dict[str, Any]:
        return {"base_url": self.service_uri, "headers": default_headers(self.token), "timeout": _TIMEOUT}

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


def _sync_method(op: Callable[..., Flow[Any]]) -> Callable[..., Any]:
    @functools.wraps(op)
    def method(self: Client, *args: Any, **kwargs: Any) -> Any:
        return drive(op(*args, **kwargs), self._send, self._info, self._use_token)

    return method


def _async_method(op: Callable[..., Flow[Any]]) -> Callable[..., Any]:
    @functools.wraps(op)
    async def method(self: AsyncClient, *args: Any, **kwargs: Any) -> Any:
        return await drive_async(op(*args, **kwargs), self._send, self._info, self._use_token)

    return method


class Client(_ClientBase):
    """Client for a Floe server.

    Args:
        service_uri: the server, e.g. ``http://127.0.0.1:7800``; else ``FLOE_SERVICE_URI``, else the
            user config file that ``floe serve`` writes.
        token: an API token (``ema_...``) or a session token; else ``FLOE_TOKEN``, else the session
            that ``login()`` / ``floe auth login`` stored for this service URI, else the user config file.
    """

    def __init__(self, service_uri: str | None = None, token: str | None = None) -> None:
        super().__init__(service_uri, token)
        self._http = httpx.Client(transport=httpx.HTTPTransport(retries=2), **self._http_options())

    def _send(self, call: Call[Any]) -> Any:
        try:
            response = self._http.send(build_request(self._http, call))
        except httpx.TransportError as exc:
            raise unreachable(self.service_uri, exc) from None
        return finish(call, response)

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
    ) -> Iterator[Any]:
        """Every matching audit event, newest first, fetching ``limit`` at a time (see ``list_audit_events``)."""
        filters = self._audit_filters(org, actor, resource, action, since, until, limit)
        cursor = None
        while True:
            page = self.list_audit_events(**filters, cursor=cursor)
            yield from page.items
            if not page.next_cursor or not page.items:
                return
            cursor = page.next_cursor

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_ClientBase):
    """Asyncio client for a Floe server; the same methods as :class:`Client`, awaitable."""

    def __init__(self, service_uri: str | None = None, token: str | None = None) -> None:
        super().__init__(service_uri, token)
        self._http = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(retries=2), **self._http_options())

    async def _send(self, call: Call[Any]) -> Any:
        try:
            response = await self._http.send(build_request(self._http, call))
        except httpx.TransportError as exc:
            raise unreachable(self.service_uri, exc) from None
        return finish(call, response)

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
    ) -> AsyncIterator[Any]:
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

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


for _name in _OPERATIONS:
    setattr(Client, _name, _sync_method(_operation(_name)))
    setattr(AsyncClient, _name, _async_method(_operation(_name)))
