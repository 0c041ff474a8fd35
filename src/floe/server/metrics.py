"""Prometheus metrics: ``GET /metrics`` and what the server counts (prometheus-client).

Requests are counted by method, route template (``/repos/{org}/{repo}/open``, never the names in the
URL) and status, with a latency histogram; the catalog counts credentials vended, commit lease waits
(a 409 because another writer holds the lease) and takeovers (an expired lease taken over), and
bucket probes that failed. With ``floe serve --workers N`` the workers share their values through
files in ``PROMETHEUS_MULTIPROC_DIR`` (set by ``floe serve``), so any worker answers for all.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

if TYPE_CHECKING:  # the catalog imports the counters; it needs no web framework
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import Scope

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "floe_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "floe_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CREDENTIALS_VENDED = Counter(
    "floe_credentials_vended",
    "Storage credentials handed to clients",
    ["platform", "auth_method", "read_only"],
)
LEASE_WAITS = Counter(
    "floe_lease_waits", "Commit lease requests refused because another writer holds the lease"
)
LEASE_TAKEOVERS = Counter("floe_lease_takeovers", "Expired commit leases taken over by a new writer")
PROBE_FAILURES = Counter(
    "floe_probe_failures", "Bucket config probes that found the storage unusable", ["kind"]
)


def prepare_multiprocess_dir(path: Path) -> str:
    """An empty folder for the workers' metric files (values of an earlier run removed)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, mode=0o700)
    return str(path)


def _registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


async def metrics_endpoint(_request: Request) -> Response:
    """The metrics in Prometheus' text format."""
    from starlette.responses import Response

    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def record_request(scope: Scope, status: int, seconds: float) -> None:
    """Count an answered HTTP request and its time, labelled by the route template that matched
    (called by :class:`floe.server.edge.Edge` for every request)."""
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    method = scope.get("method", "")
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def install(app: FastAPI) -> None:
    """Serve ``GET /metrics`` (no token: restrict it at the reverse proxy)."""
    from starlette.routing import Route

    # first: the web app's /{org} pages would otherwise catch it
    app.router.routes.insert(0, Route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False))
