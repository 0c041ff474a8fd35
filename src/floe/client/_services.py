"""Client operations on an org's data services, written once for ``Client`` and ``AsyncClient``.

Each operation is a flow (see ``_transport``) taking the org first; :mod:`floe.client.services` turns
them into the methods of the services clients that ``get_services(org)`` returns. Inputs are checked
here as the server checks them, so a bad protocol or name fails before any request, with the fix.
Following a log is a stream, not a flow: :func:`logs_call` builds its request once, and
:func:`stream_lines` / :func:`astream_lines` read it line by line, blocking or with asyncio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import pydantic

from floe.client._transport import Call, Flow, build_request, check_response, unreachable
from floe.errors import ValidationError
from floe.models import check_name
from floe.models.services import (
    _DEPLOYMENT_NAME,
    DeploymentInfo,
    ServiceConfig,
    ServiceDisabled,
    ServiceProtocol,
)

PROTOCOLS: tuple[str, ...] = tuple(p.value for p in ServiceProtocol)
# What ``enable(protocol, is_public, **settings)`` accepts as settings: the rest of ``ServiceConfig``.
SETTINGS: tuple[str, ...] = tuple(
    name for name in ServiceConfig.model_fields if name not in ("service_type", "org", "is_public")
)
MAX_TAIL = 10_000  # the server's limit (floe.server.service_logs.MAX_TAIL)
MAX_FOLLOW_TIMEOUT = 3600
_NAME_RULE = "at most 16 lowercase letters, digits and dashes, not starting or ending with a dash"


# --- checks --------------------------------------------------------------------------------------


def check_org(org: str) -> str:
    """``org`` if it is a valid org name, else a ValidationError naming the rule."""
    try:
        return check_name(org, entity="org", max_length=64)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def check_protocol(protocol: str | ServiceProtocol) -> ServiceProtocol:
    """The protocol called ``protocol`` (``dap2``, ``edr``, ``wms``, ``tiles`` or ``zarr``)."""
    text = str(getattr(protocol, "value", protocol))
    if text not in PROTOCOLS:
        raise ValidationError(
            f"invalid service protocol {text!r}: use {', '.join(PROTOCOLS[:-1])} or {PROTOCOLS[-1]}"
        )
    return ServiceProtocol(text)


def check_service_name(name: str, *, what: str = "service name") -> str:
    """``name`` if it can name a service (a deployment), else a ValidationError naming the rule."""
    if not isinstance(name, str) or len(name) > 16 or not _DEPLOYMENT_NAME.match(name):
        raise ValidationError(f"invalid {what} {name!r}: {_NAME_RULE}")
    return name


def _describe(exc: pydantic.ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid service settings"


def service_config(
    org: str, protocol: str | ServiceProtocol, is_public: bool, settings: dict[str, Any]
) -> ServiceConfig:
    """The body of an enable request, checked as the server checks it."""
    check_org(org)
    kind = check_protocol(protocol)
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValidationError(
            f"unknown service setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: "
            f"use {', '.join(SETTINGS)}"
        )
    if settings.get("deployment_name") is not None:
        check_service_name(settings["deployment_name"], what="deployment_name")
    if not isinstance(is_public, bool):
        raise ValidationError(f"is_public must be True or False, got {is_public!r}")
    try:
        return ServiceConfig(service_type=kind, org=org, is_public=is_public, **settings)
    except pydantic.ValidationError as exc:
        raise ValidationError(_describe(exc)) from None


def _when(value: datetime | str | None, what: str) -> str | None:
    """A time for the logs route: ISO 8601 (UTC when it carries no zone)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ValidationError(
        f"invalid {what} {value!r}: give a datetime or an ISO 8601 time, e.g. 2025-01-31T10:00:00Z"
    )


def _path(org: str, name: str | None = None) -> str:
    base = f"/compute/orgs/{quote(check_org(org), safe='')}/services"
    return base if name is None else f"{base}/{quote(check_service_name(name), safe='')}"


def _model(cls: Any) -> Any:
    return lambda response: cls.model_validate_json(response.content)


def _models(cls: Any) -> Any:
    return lambda response: [cls.model_validate(item) for item in response.json()]


# --- operations ----------------------------------------------------------------------------------


def enable_service(
    org: str, protocol: str | ServiceProtocol, is_public: bool = False, **settings: Any
) -> Flow[DeploymentInfo]:
    """Enable a service of ``org`` (org admins); see :meth:`floe.client.services.ServicesClient.enable`."""
    body = service_config(org, protocol, is_public, settings)
    path = _path(org)
    return (yield Call("POST", path, json=body.model_dump(mode="json"), parse=_model(DeploymentInfo)))


def list_services(org: str) -> Flow[list[DeploymentInfo]]:
    """The services of ``org``, by name."""
    return (yield Call("GET", _path(org), parse=_models(DeploymentInfo)))


def get_service(org: str, name: str) -> Flow[DeploymentInfo]:
    """One service of ``org`` and its status."""
    return (yield Call("GET", _path(org, name), parse=_model(DeploymentInfo)))


def logs_call(
    org: str,
    name: str,
    *,
    tail: int | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    follow: bool = False,
    follow_timeout: int = 30,
) -> Call[str]:
    """The request for a service's log, checked; its answer parses as the text."""
    if tail is not None and (
        isinstance(tail, bool) or not isinstance(tail, int) or not 0 <= tail <= MAX_TAIL
    ):
        raise ValidationError(f"invalid tail {tail!r}: give a number of lines from 0 to {MAX_TAIL}")
    if isinstance(follow_timeout, bool) or not isinstance(follow_timeout, int):
        raise ValidationError(f"invalid follow_timeout {follow_timeout!r}: give whole seconds")
    if not 0 <= follow_timeout <= MAX_FOLLOW_TIMEOUT:
        raise ValidationError(
            f"invalid follow_timeout {follow_timeout}: give 0 to {MAX_FOLLOW_TIMEOUT} seconds"
        )
    params: dict[str, Any] = {
        "tail": tail,
        "since": _when(since, "since"),
        "until": _when(until, "until"),
        "follow": "true" if follow else None,
        "follow_timeout": follow_timeout if follow else None,
    }
    return Call("GET", f"{_path(org, name)}/logs", params=params, parse=lambda response: response.text)


def get_service_logs(
    org: str,
    name: str,
    *,
    tail: int | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
) -> Flow[str]:
    """The service's log so far, its lines joined by newlines (org admins)."""
    text: str = yield logs_call(org, name, tail=tail, since=since, until=until)
    return "\n".join(text.splitlines())


def disable_service(org: str, name: str) -> Flow[ServiceDisabled]:
    """Disable a service of ``org`` (org admins): it stops answering at once."""
    return (yield Call("DELETE", _path(org, name), parse=_model(ServiceDisabled)))


# --- following a log -----------------------------------------------------------------------------


def _stream_request(http: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> httpx.Request:
    request = build_request(http, call)
    follow_timeout = int((call.params or {}).get("follow_timeout") or 0)
    # between lines the server may stay silent for the whole follow timeout
    request.extensions["timeout"] = httpx.Timeout(60.0, connect=10.0, read=follow_timeout + 60.0).as_dict()
    return request


def stream_lines(http: httpx.Client, service_uri: str, call: Call[Any]) -> Iterator[str]:
    """The lines of ``call``'s answer as they arrive (blocking); a refusal raises its FloeError."""
    try:
        response = http.send(_stream_request(http, call), stream=True)
        try:
            if not response.is_success:
                response.read()
                check_response(response)
            yield from response.iter_lines()
        finally:
            response.close()
    except httpx.TransportError as exc:
        raise unreachable(service_uri, exc) from None


async def astream_lines(http: httpx.AsyncClient, service_uri: str, call: Call[Any]) -> AsyncIterator[str]:
    """The lines of ``call``'s answer as they arrive (asyncio); a refusal raises its FloeError."""
    try:
        response = await http.send(_stream_request(http, call), stream=True)
        try:
            if not response.is_success:
                await response.aread()
                check_response(response)
            async for line in response.aiter_lines():
                yield line
        finally:
            await response.aclose()
    except httpx.TransportError as exc:
        raise unreachable(service_uri, exc) from None
