"""ASGI middleware and logging filters of the server."""

from __future__ import annotations

import logging
import re

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("floe.server")
_SECRET_QUERY = re.compile(r"(?i)\b(token|secret[a-z_]*|password|code|user_code|state)=[^&\s\"]*")


class RedactSecretsFilter(logging.Filter):
    """Scrubs token-like query parameters from log records (uvicorn's access log prints URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                _SECRET_QUERY.sub(r"\1=[redacted]", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_QUERY.sub(r"\1=[redacted]", record.msg)
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "floe"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecretsFilter) for f in logger.filters):
            logger.addFilter(RedactSecretsFilter())


class DefaultJsonContentType:
    """Treat request bodies sent without a content type as JSON.

    The arraylake client posts JSON bodies without ``content-type``; FastAPI would then
    refuse to parse them.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            headers = scope["headers"]
            if not any(name == b"content-type" for name, _ in headers):
                scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)


class CatchUnexpectedErrors:
    """Answer an unexpected exception with a JSON 500 (and log it), keeping the connection usable.

    Starlette's own handler re-raises after answering, which makes uvicorn drop the
    keep-alive connection; clients then see a transport error on their next request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            body = {
                "detail": f"internal error ({type(exc).__name__}); see the server log",
                "error": "internal_error",
            }
            await JSONResponse(body, status_code=500)(scope, receive, send)
