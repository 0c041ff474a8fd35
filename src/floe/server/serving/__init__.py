"""Serving an org's repos through its data services: Zarr over HTTP, OGC EDR, WMS, map tiles and
OPeNDAP (DAP2), by xpublish and its plugins, at ``/services/{name}/{org}/...``.

* :mod:`.routing`: the route, reading the path, access, the request log;
* :mod:`.datasets`: opening a repo's group as an xarray dataset, cached per service;
* :mod:`.apps`: one xpublish app per protocol, and forwarding a request into it;
* :mod:`.discovery`: ``_meta/discovery``, what a caller can reach.

Managing services (enable, list, disable, logs) is :mod:`floe.server.routes.services`.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import Route

from floe.server.catalog.services import SERVICES_PATH
from floe.server.serving.routing import ServicesEndpoint

METHODS = ["GET", "HEAD", "POST"]


def install(app: FastAPI) -> None:
    """Add the services' routes (before the web app's catch-all browse pages)."""
    endpoint = ServicesEndpoint()
    for path in (f"{SERVICES_PATH}/{{name}}/{{org}}", f"{SERVICES_PATH}/{{name}}/{{org}}/{{rest:path}}"):
        app.router.routes.append(
            Route(path, endpoint=endpoint, methods=METHODS, name="services", include_in_schema=False)
        )


__all__ = ["install"]
