"""Requests to ``/services/{name}/{org}/...``: which service, who calls, what they asked for.

A dataset's address is ``{service}/{repo}/{ref}/{group path}/{protocol}/...`` (the root group
leaves its path out); ``{service}/_meta/discovery[/{repo}[/{ref}]]`` lists what the caller can reach.
Path segments are read from the raw path and decoded one by one (``%2F`` stays inside its segment).
The protocol segment is the service's protocol name (``dap2`` also answers as Flux's
``opendap``), the first segment after the ref that is one: a group named like the protocol cannot
be reached through that protocol.

Every request that reached a service gets one line in the service's log: method, path (with the
values of a few harmless query keys only), status, duration, and who called; never a token.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import icechunk
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from floe.errors import AuthenticationError, FloeError, NotFoundError, StorageError
from floe.inspection import describe_error
from floe.models.services import ServiceProtocol
from floe.server.auth import Caller
from floe.server.catalog import Catalog
from floe.server.catalog.services import (
    SERVICES_PATH,
    Deployment,
    availability,
    find_deployment,
    reader,
    service_url,
)
from floe.server.serving import apps, discovery
from floe.server.serving.datasets import dataset_for

log = logging.getLogger("floe.server.services")
META = "_meta"
# query keys whose values go into the service log (nothing that could carry a credential)
LOGGED_QUERY_KEYS = frozenset(
    {"service", "request", "version", "layers", "parameter-name", "variables", "f", "format", "group"}
)
MAX_LOGGED_PATH = 512


class ServiceUnavailableError(FloeError):
    """This server cannot speak the service's protocol (its package is missing) (503)."""

    status_code = 503
    code = "service_unavailable"


@dataclass(frozen=True)
class Where:
    """What a request's path names, below the service."""

    raw_prefix: str  # the raw path up to the service: /services/{name}/{org}
    segments: list[str]  # the decoded segments after it
    raw_segments: list[str]


def _where(scope: Scope, name: str, org: str) -> Where:
    raw = scope.get("raw_path")
    text = raw.decode("latin-1") if raw else scope["path"]
    parts = text.split("?", 1)[0].split("/")
    service = SERVICES_PATH.strip("/")
    for i in range(len(parts) - 2):
        if unquote(parts[i]) == service and unquote(parts[i + 1]) == name and unquote(parts[i + 2]) == org:
            rest = parts[i + 3 :]
            return Where("/".join(parts[: i + 3]), [unquote(p) for p in rest], rest)
    rest = scope["path_params"].get("rest", "")  # a server without raw_path: the decoded path
    prefix = f"{SERVICES_PATH}/{name}/{org}"
    return Where(prefix, rest.split("/") if rest else [], rest.split("/") if rest else [])


def _who(principal: Caller | None) -> str:
    if principal is None or principal.id.startswith("service:"):
        return "anonymous"
    return principal.label


def _logged_path(request: Request) -> str:
    path = request.url.path[:MAX_LOGGED_PATH]
    kept = [
        f"{key}={value[:64]}"
        for key, value in parse_qsl(request.url.query, keep_blank_values=True)
        if key.lower() in LOGGED_QUERY_KEYS
    ]
    return f"{path}?{'&'.join(kept)}" if kept else path


def error_response(exc: FloeError) -> Response:
    headers = {"www-authenticate": 'Basic realm="floe"'} if isinstance(exc, AuthenticationError) else None
    return JSONResponse(
        {"detail": exc.message, "error": exc.code}, status_code=exc.status_code, headers=headers
    )


def _protocol_at(segments: list[str], protocol: ServiceProtocol) -> tuple[int, str, str] | None:
    """Where the protocol segment is (at index 2 or later), the name it uses, and what follows the
    name in it (``.dds`` in ``dap2.dds``)."""
    spec = apps.PROTOCOLS[protocol]
    names = (protocol.value, *spec.aliases)
    for i in range(2, len(segments)):
        for name in names:
            seg = segments[i]
            if seg == name or (protocol is ServiceProtocol.dap2 and seg.startswith(name + ".")):
                return i, name, seg[len(name) :]
    return None


class ServicesEndpoint:
    """The ASGI endpoint of ``/services/{name}/{org}/{rest:path}``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        started = time.monotonic()
        params = scope["path_params"]
        name, org = params["name"], params["org"]
        state = request.app.state
        cat: Catalog = state.catalog
        try:
            deployment = await run_in_threadpool(find_deployment, cat, org, name)
        except FloeError as exc:
            await error_response(exc)(scope, receive, send)
            return
        base = state.settings.public_url or str(request.base_url).rstrip("/")
        url = service_url(base, org, name)
        who: list[Caller | None] = [None]
        status = 500
        try:
            status = await self._answer(scope, receive, send, request, cat, deployment, url, who)
        finally:
            ms = (time.monotonic() - started) * 1000
            line = f"{request.method} {_logged_path(request)} {status} {ms:.0f} ms {_who(who[0])}"
            await run_in_threadpool(state.service_logs.write, deployment.id, line)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        cat: Catalog,
        deployment: Deployment,
        url: str,
        who: list[Caller | None],
    ) -> int:
        where = _where(scope, deployment.name, deployment.org)
        authorization = request.headers.get("authorization")
        try:
            segments = where.segments
            if segments and segments[-1] == "" and (not segments[:-1] or segments[0] == META):
                segments = segments[:-1]  # a trailing slash on the service or on discovery
            if not segments or segments[0] == META:
                if request.method not in ("GET", "HEAD"):
                    refused = {"detail": "the listings answer GET only", "error": "method_not_allowed"}
                    return await self._send(scope, receive, send, JSONResponse(refused, 405))
                try:
                    body = await run_in_threadpool(
                        self._meta, cat, deployment, segments, authorization, url, request, who
                    )
                    response = JSONResponse(body)
                except FloeError:
                    raise
                except Exception as exc:
                    log.exception(
                        "listing %s for service %s/%s failed", segments, deployment.org, deployment.name
                    )
                    raise StorageError(
                        f"the service could not list this ({type(exc).__name__}); see the server log"
                    ) from None
                return await self._send(scope, receive, send, response, deployment)
            return await self._dataset(scope, receive, send, cat, deployment, where, authorization, who)
        except FloeError as exc:
            return await self._send(scope, receive, send, error_response(exc))

    @staticmethod
    async def _send(
        scope: Scope, receive: Receive, send: Send, response: Response, deployment: Deployment | None = None
    ) -> int:
        if deployment is not None and 200 <= response.status_code < 300:
            for key, value in _extra_headers(deployment):
                response.headers[key.decode()] = value.decode()
        await response(scope, receive, send)
        return response.status_code

    @staticmethod
    def _meta(
        cat: Catalog,
        deployment: Deployment,
        segments: list[str],
        authorization: str | None,
        url: str,
        request: Request,
        who: list[Caller | None],
    ) -> dict[str, Any]:
        if not segments:  # the service itself
            principals = discovery.caller(cat, deployment, authorization)
            who[0] = principals[0]
            return {
                "service": deployment.name,
                "org": deployment.org,
                "protocol": deployment.protocol.value,
                "is_public": deployment.is_public,
                "url": url,
                "discovery": f"{url}/_meta/discovery",
                "datasets": f"{url}/{{repo}}/{{ref}}/{{group}}/{deployment.protocol.value}",
            }
        if len(segments) < 2 or segments[1] != "discovery" or len(segments) > 4:
            raise NotFoundError(
                f"no such address: the service's listings are {url}/_meta/discovery[/REPO[/REF]]"
            )
        try:
            if len(segments) == 2:
                principals = discovery.caller(cat, deployment, authorization)
                who[0] = principals[0]
                return discovery.repos(cat, deployment, principals, url)
            repo = segments[2]
            principal = who[0] = reader(cat, deployment, repo, authorization)
            if len(segments) == 3:
                return discovery.refs(cat, deployment, repo, principal, url)
            group = request.query_params.get("group")
            return discovery.datasets(cat, deployment, repo, segments[3], principal, url, group)
        except icechunk.IcechunkError as exc:
            raise StorageError(f"reading the repo failed: {describe_error(exc)}") from None

    async def _dataset(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        cat: Catalog,
        deployment: Deployment,
        where: Where,
        authorization: str | None,
        who: list[Caller | None],
    ) -> int:
        segments = where.segments
        protocol = deployment.protocol
        spec = apps.PROTOCOLS[protocol]
        repo = segments[0]
        found = _protocol_at(segments, protocol)

        def prepare() -> tuple[Any, Any]:  # blocking: the database, storage, importing the plugin
            who[0] = principal = reader(cat, deployment, repo, authorization)
            if found is None or not segments[1]:
                raise NotFoundError(
                    f"a dataset's address in this service is {where.raw_prefix}/{repo}/REF/[GROUP/]"
                    f"{protocol.value}/... (REF: a branch, tag or snapshot id)"
                )
            state, message = availability(protocol)
            if state.value != "available" or not apps.plugin_available(protocol):
                raise ServiceUnavailableError(
                    message or f"the {protocol.value} service's package cannot be imported on this server"
                )
            ref, group = segments[1], "/".join(segments[2 : found[0]])
            try:
                opened = dataset_for(cat, deployment, principal, repo, ref, group, chunks=spec.chunks)
                return opened, apps.app_for(protocol)
            except FloeError:
                raise
            except icechunk.IcechunkError as exc:
                raise StorageError(f"reading {repo}@{ref} failed: {describe_error(exc)}") from None
            except Exception as exc:
                log.exception("opening %s/%s@%s %s failed", deployment.org, repo, ref, group)
                raise StorageError(
                    f"the service could not open {repo}@{ref} {group or '/'} ({type(exc).__name__}); "
                    "see the server log"
                ) from None

        opened, app = await run_in_threadpool(prepare)
        assert found is not None
        index, used, suffix = found
        after = segments[index + 1 :]
        forward = apps.Forward(
            app=app,
            dataset_id=opened.id,
            prefix=spec.prefix,
            suffix=suffix + "".join(f"/{part}" for part in after),
            public_prefix="/".join([where.raw_prefix, *where.raw_segments[:index], used]),
            protocol=protocol,
            extra_headers=_extra_headers(deployment),
        )
        with apps.lend(opened.id, opened.dataset):
            await forward(scope, receive, send)
        return forward.status or 500


def _extra_headers(deployment: Deployment) -> list[tuple[bytes, bytes]]:
    headers = []
    max_age = deployment.config.cache_max_age or 0
    if max_age > 0:
        value = f"max-age={max_age}" if deployment.is_public else f"private, max-age={max_age}"
        headers.append((b"cache-control", value.encode()))
    if deployment.is_public:  # anyone may read it: web maps on other sites too
        headers.append((b"access-control-allow-origin", b"*"))
    return headers
