"""The app factory: one FastAPI app per Settings, used by ``floe serve`` and by tests alike."""

from __future__ import annotations

import logging
from functools import partial

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from floe import __version__
from floe.errors import FloeError
from floe.server import arraylake as arraylake_compat
from floe.server import arraylake_signin, error_model, jobs, memory, metrics, serving, web
from floe.server.catalog import Catalog, creation
from floe.server.catalog import audit as audit_catalog
from floe.server.catalog import trash as trash_catalog
from floe.server.db.engine import create_engine, migrate
from floe.server.docs import install_docs
from floe.server.edge import Edge
from floe.server.keys import SecretBox
from floe.server.middleware import install_log_redaction
from floe.server.open_cache import DEFAULT_TTL as OPEN_CACHE_SECONDS
from floe.server.open_cache import OpenCache
from floe.server.principal_cache import PrincipalCache
from floe.server.routes import auth, buckets, leases, meta, orgs, people, repos, services, trash
from floe.server.routes import discover as bucket_discovery
from floe.server.routes import shares as share_links
from floe.server.routes import transfers as repo_transfers
from floe.server.service_logs import ServiceLogs
from floe.server.settings import Settings
from floe.server.single_flight import SingleFlight
from floe.storage import timeouts

_log = logging.getLogger("floe.trash")
_audit_log = logging.getLogger("floe.audit")
_creation_log = logging.getLogger("floe.creation")


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


def _purging_trash(cat: Catalog, settings: Settings) -> jobs.Lifespan:
    """Purge expired trash entries, at start and every purge interval."""

    def purge() -> None:
        for result in trash_catalog.purge_expired(cat):
            _log.info("purged %s from the trash (%d objects)", result.name, result.objects_deleted)

    return jobs.periodic(purge, settings.trash_purge_interval_seconds, what="purging the trash", log=_log)


def _reaping_creations(cat: Catalog, settings: Settings) -> jobs.Lifespan:
    """Finish or remove repos left half-created (see ``catalog.creation``), at start and every interval."""

    def reap() -> None:
        for result in creation.reap_stale(cat, settings.creation_stale_seconds):
            _creation_log.info(
                "repo %s was still being created: %s%s",
                result.name,
                "it is ready" if result.outcome == "ready" else "removed",
                f" ({result.objects_deleted} objects deleted)" if result.objects_deleted else "",
            )

    return jobs.periodic(
        reap, settings.creation_reap_interval_seconds, what="reaping stale repo creations", log=_creation_log
    )


def _pruning_audit(cat: Catalog, settings: Settings) -> jobs.Lifespan:
    """Prune credential-vend events past their retention, at start and every prune interval."""
    retention = settings.audit_vend_retention_days

    def prune() -> None:
        deleted = audit_catalog.prune_vends(cat, retention)
        if deleted:
            _audit_log.info("pruned %d credential-vend events older than %g days", deleted, retention)

    return jobs.periodic(
        prune, settings.audit_prune_interval_seconds, what="pruning the audit trail", log=_audit_log
    )


def _trimming_memory() -> jobs.Lifespan:
    """Give the allocator's free pages back to the system every half minute (see ``memory``)."""
    return jobs.periodic(memory.release_free_memory, 30.0, what="trimming free memory", log=_log)


def _writing_open_repeats(cat: Catalog, cache: OpenCache) -> jobs.Lifespan:
    """Write the repeat counts of opens answered from the open cache to the audit trail, about once
    a second and as the server stops."""
    return jobs.periodic(
        partial(cache.flush, partial(audit_catalog.record_open_repeats, cat)),
        1.0,
        what="recording repeated opens in the audit trail",
        log=_audit_log,
        final=True,
    )


def create_app(settings: Settings, *, run_migrations: bool = True) -> FastAPI:
    """Build the app: connect the database (migrating it), wire the routes and error handling."""
    memory.tune_allocator()
    engine = create_engine(settings.database_url)
    if run_migrations:
        migrate(engine)
    catalog = Catalog(
        engine=engine,
        box=SecretBox(settings.secret_keys, source=settings.secret_key_file),
        policy=settings.storage_policy,
        trash_retention_days=settings.trash_retention_days,
        audit_vend_window_seconds=settings.audit_vend_window_seconds,
    )
    # every vend its own event (a window of 0) leaves nothing to add repeats to: no open cache then
    open_cache = OpenCache(ttl=OPEN_CACHE_SECONDS if settings.audit_vend_window_seconds > 0 else 0)
    catalog.before_audit_read = partial(open_cache.flush, partial(audit_catalog.record_open_repeats, catalog))
    app = FastAPI(
        lifespan=jobs.combined(
            _purging_trash(catalog, settings),
            _reaping_creations(catalog, settings),
            _pruning_audit(catalog, settings),
            _trimming_memory(),
            _writing_open_repeats(catalog, open_cache),
        ),
        title="Floe",
        version=__version__,
        description="Catalog service for versioned, cloud-native scientific array data on Icechunk.",
        docs_url=None,  # served by install_docs, without a CDN
        redoc_url=None,
        # no OpenTelemetry: /metrics (prometheus-client) counts requests; FastAPI's checks cost every request
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    timeouts.configure(settings.storage_connect_timeout, settings.storage_read_timeout)
    app.state.database_kind = engine.dialect.name
    app.state.service_logs = ServiceLogs(settings.data_dir / "service-logs")
    app.state.catalog = catalog
    app.state.principal_cache = cache = PrincipalCache()  # callers by token, for at most a second
    app.state.open_cache = open_cache  # open answers by caller and repo, for at most a second
    app.state.principal_flights = SingleFlight()  # one lookup of a token at a time
    app.state.open_flights = SingleFlight()  # one computation of an open answer at a time

    @app.exception_handler(FloeError)
    async def _floe_error(_request: Request, exc: FloeError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, "error": exc.code}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"detail": _describe_validation(exc), "error": "validation_error"}, status_code=422
        )

    app.include_router(repos.open_router)  # first: the hot path
    for module in (meta, orgs, buckets, repos, trash, leases, people, auth, services, web):
        app.include_router(module.router)
    app.include_router(arraylake_compat.router)
    app.include_router(arraylake_signin.router)
    app.include_router(repo_transfers.router)
    app.include_router(bucket_discovery.router)
    app.include_router(share_links.router)  # before browse_router: /shared/{token} is no org
    install_docs(app)
    error_model.install(app)
    serving.install(app)
    app.include_router(web.browse_router)  # last: it catches /{org} and /{org}/{repo}
    metrics.install(app)
    # one layer for what every request passes (request id, limits, errors, headers, metrics): edge.Edge
    app.add_middleware(Edge, max_body_bytes=settings.max_body_bytes, caches=[cache, open_cache])
    install_log_redaction()
    share_links.install_log_redaction()  # share link tokens sit in URL paths
    return app


def app_from_env() -> FastAPI:
    """App factory for worker processes (``floe serve --workers N``): settings from FLOE_* variables."""
    return create_app(Settings.from_options(), run_migrations=False)
