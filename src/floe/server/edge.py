"""The server's one ASGI middleware: what every HTTP request passes on its way in and out.

One layer instead of one per concern: each layer wraps ``send`` and adds a frame to every request,
and the catalog's hot path (a cached ``open``) is short enough for that to show. The concerns stay
in their own modules; :class:`Edge` calls them in this order:

1. the request id (:mod:`floe.server.logformat`), on every log line written while answering;
2. request limits (:mod:`floe.server.limits`): the body is read and checked before any route sees it;
3. a JSON content type for bodies sent without one (:mod:`floe.server.arraylake`);
4. the app; an unexpected error becomes a JSON 500 (:mod:`floe.server.middleware`), logged;
5. on the answer: ``X-Request-ID`` and the security headers;
6. afterwards: caches emptied after writes (:mod:`floe.server.principal_cache`), the request counted
   and timed (:mod:`floe.server.metrics`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from floe.server import metrics
from floe.server.arraylake import default_json_content_type
from floe.server.limits import LimitExceeded, read_within_limits, refusal
from floe.server.logformat import REQUEST_ID, request_id_for
from floe.server.middleware import TracebackLimiter, add_security_headers, internal_error, report_unexpected
from floe.server.principal_cache import Forgetful, forget_after


class Edge:
    """Request id, limits, error answers, response headers, cache forgetting and metrics, in one layer."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        caches: Iterable[Forgetful] = (),
        traceback_every: float = 60.0,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.caches = tuple(caches)
        self.limiter = TracebackLimiter(traceback_every)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_for(scope)
        token = REQUEST_ID.set(request_id)
        path = scope.get("path", "")
        status = 500
        answered = False

        async def edge_send(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                add_security_headers(headers, path)
            await send(message)

        try:
            try:
                receive = await read_within_limits(scope, receive, self.max_body_bytes)
                default_json_content_type(scope)
                await self.app(scope, receive, edge_send)
            except LimitExceeded as exc:  # from the limits, before the app saw the request
                await refusal(exc)(scope, receive, edge_send)
            except Exception as exc:
                report_unexpected(exc, scope, self.limiter)
                if answered:  # too late for a 500: the connection is dropped
                    raise
                await internal_error(exc)(scope, receive, edge_send)
        finally:
            forget_after(scope["method"], self.caches)
            metrics.record_request(scope, status, time.perf_counter() - started)
            REQUEST_ID.reset(token)
