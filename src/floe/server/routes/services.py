"""Managing data services, at the routes the arraylake client's compute module calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from floe.models.common import BoundedTime
from floe.models.services import DeploymentInfo, ServiceConfig, ServiceDisabled
from floe.server.catalog import services
from floe.server.deps import CallerDep, CatalogDep
from floe.server.service_logs import MAX_TAIL, ServiceLogs

router = APIRouter(tags=["services"])


def _base_url(request: Request) -> str:
    return request.app.state.settings.public_url or str(request.base_url).rstrip("/")


@router.post("/compute/orgs/{org}/services", response_model=DeploymentInfo, status_code=201)
def enable_service(
    org: str, body: ServiceConfig, request: Request, cat: CatalogDep, principal: CallerDep
) -> DeploymentInfo:
    """Enable a service (org admins): Zarr, EDR, WMS, tiles or DAP2 over the org's repos."""
    return services.enable_service(cat, principal, org, body, base_url=_base_url(request))


@router.get("/compute/orgs/{org}/services", response_model=list[DeploymentInfo])
def list_services(org: str, request: Request, cat: CatalogDep, principal: CallerDep) -> list[DeploymentInfo]:
    return services.list_services(cat, principal, org, base_url=_base_url(request))


@router.get("/compute/orgs/{org}/services/{name}", response_model=DeploymentInfo)
def get_service(
    org: str, name: str, request: Request, cat: CatalogDep, principal: CallerDep
) -> DeploymentInfo:
    """A service and its status: ``available``, or ``error`` with the reason."""
    return services.get_service(cat, principal, org, name, base_url=_base_url(request))


@router.delete("/compute/orgs/{org}/services/{name}", response_model=ServiceDisabled)
def disable_service(
    org: str, name: str, request: Request, cat: CatalogDep, principal: CallerDep
) -> ServiceDisabled:
    """Disable a service (org admins): it stops answering at once, and its log goes."""
    deployment = services.service_for_logs(cat, principal, org, name)
    done = services.disable_service(cat, principal, org, name)
    request.app.state.service_logs.remove(deployment.id)
    return done


@router.get("/compute/orgs/{org}/services/{name}/logs", response_class=PlainTextResponse)
def service_logs(
    org: str,
    name: str,
    request: Request,
    cat: CatalogDep,
    principal: CallerDep,
    tail: Annotated[int | None, Query(ge=0, le=MAX_TAIL)] = None,
    since: BoundedTime | None = None,
    until: BoundedTime | None = None,
    follow: bool = False,
    follow_timeout: Annotated[int, Query(ge=0, le=3600)] = 30,
) -> Response:
    """The service's request log (org admins), one line per request; ``follow`` streams new lines
    for ``follow_timeout`` seconds."""
    deployment = services.service_for_logs(cat, principal, org, name)
    logs: ServiceLogs = request.app.state.service_logs
    if not follow:
        lines = logs.read(deployment.id, tail=tail, since=since, until=until)
        return PlainTextResponse("".join(f"{line}\n" for line in lines))
    stream = _follow(logs, deployment.id, tail=tail, since=since, until=until, timeout=follow_timeout)
    return StreamingResponse(stream, media_type="text/plain")


async def _follow(
    logs: ServiceLogs,
    service_id: str,
    *,
    tail: int | None,
    since: datetime | None,
    until: datetime | None,
    timeout: int,
) -> AsyncIterator[str]:
    """The lines so far (the last ``tail``), then each new one for ``timeout`` seconds (none after
    ``until``). Each poll continues after the last line seen, so no line is lost or sent twice, also
    when the file is written between reads or cut to its newer half."""
    deadline = time.monotonic() + timeout
    end = None if until is None else until if until.tzinfo else until.replace(tzinfo=UTC)
    lines = await asyncio.to_thread(logs.read, service_id, since=since, until=until)
    last = lines[-1] if lines else None
    shown = lines if tail is None else lines[-tail:] if tail > 0 else []
    for line in shown:
        yield f"{line}\n"
    while time.monotonic() < deadline and (end is None or datetime.now(UTC) <= end):
        await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        new = _after(await asyncio.to_thread(logs.read, service_id, since=since, until=until), last)
        for line in new:
            yield f"{line}\n"
        last = new[-1] if new else last


def _after(lines: list[str], last: str | None) -> list[str]:
    """The lines after ``last``; if the file was cut past it, those stamped later (lines start with
    their fixed-width UTC time, so text order is time order)."""
    if last is None:
        return lines
    for i in range(len(lines) - 1, -1, -1):
        if lines[i] == last:
            return lines[i + 1 :]
    return [line for line in lines if line > last]
