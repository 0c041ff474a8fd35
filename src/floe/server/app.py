"""The app factory: one FastAPI app per Settings, used by ``floe serve`` and by tests alike."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from floe import __version__
from floe.errors import FloeError
from floe.server.catalog import Catalog
from floe.server.db.engine import create_engine, migrate
from floe.server.routes import buckets, meta, orgs, repos
from floe.server.secrets import SecretBox
from floe.server.settings import Settings
from floe.storage import StoragePolicy

log = logging.getLogger("floe.server")
_SECRET_QUERY = re.compile(r"(?i)\b(token|secret[a-z_]*|password)=[^&\s\"]*")


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


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


def create_app(settings: Settings, *, run_migrations: bool = True) -> FastAPI:
    """Build the app: connect the database (migrating it), wire the routes and error handling."""
    engine = create_engine(settings.database_url)
    if run_migrations:
        migrate(engine)
    app = FastAPI(
        title="Floe",
        version=__version__,
        description="Catalog service for versioned, cloud-native scientific array data on Icechunk.",
    )
    app.state.settings = settings
    app.state.database_kind = engine.dialect.name
    app.state.catalog = Catalog(
        engine=engine,
        box=SecretBox(settings.secret_keys),
        policy=StoragePolicy(file_roots=settings.file_roots),
    )

    @app.exception_handler(FloeError)
    async def _floe_error(_request: Request, exc: FloeError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, "error": exc.code}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"detail": _describe_validation(exc), "error": "validation_error"}, status_code=422
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {
                "detail": f"internal error ({type(exc).__name__}); see the server log",
                "error": "internal_error",
            },
            status_code=500,
        )

    for module in (meta, orgs, buckets, repos):
        app.include_router(module.router)
    app.add_middleware(DefaultJsonContentType)
    install_log_redaction()
    return app
