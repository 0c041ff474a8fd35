"""Request building and error mapping shared by ``Client`` and ``AsyncClient``.

Operations are written once, as generators that yield the steps they need — an HTTP
:class:`Call`, a blocking :class:`Run` (an Icechunk operation), a :class:`Sleep` (polling), or
:class:`UseToken` (switch the client's token after signing in or out) — and receive each step's
result. :func:`drive` runs such a flow with blocking I/O, :func:`drive_async` with asyncio
(blocking steps in a worker thread). Neither client holds any logic of its own.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from floe import __version__
from floe.client.cache import OpenCache
from floe.errors import FloeError, ServiceUnreachableError, error_for
from floe.tls import ssl_context

T = TypeVar("T")


class _ClientToken:
    def __repr__(self) -> str:
        return "CLIENT_TOKEN"


CLIENT_TOKEN: Any = _ClientToken()
"""A :class:`Call` sends the client's own token unless it names another (or None: no token)."""


@dataclass
class Call(Generic[T]):
    """One HTTP request to the catalog and how to read its answer.

    ``data`` is sent form-encoded (OAuth endpoints), ``json`` as JSON. ``token`` replaces the client's
    token for this request (None: send none). With ``check=False`` a non-2xx answer reaches ``parse``
    instead of raising.
    """

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    parse: Callable[[httpx.Response], T] = field(default=lambda r: None)  # type: ignore[assignment]
    data: dict[str, Any] | None = None
    token: str | None = CLIENT_TOKEN
    check: bool = True


@dataclass
class Run(Generic[T]):
    """A blocking step (Icechunk I/O): run directly by ``Client``, in a thread by ``AsyncClient``."""

    fn: Callable[..., T]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sleep:
    """Wait: ``time.sleep`` in ``Client``, ``asyncio.sleep`` in ``AsyncClient`` (the loop keeps running)."""

    seconds: float


@dataclass
class UseToken:
    """Switch the driving client to another token (after signing in or out)."""

    token: str | None


@dataclass(frozen=True)
class ClientInfo:
    """Where the driving client points, and its open-answer cache; a flow receives it by
    yielding :data:`CLIENT_INFO`."""

    service_uri: str
    token: str | None
    cache: OpenCache = field(default_factory=OpenCache, compare=False)


class _ClientInfoRequest:
    pass


CLIENT_INFO = _ClientInfoRequest()

Step = Call[Any] | Run[Any] | Sleep | UseToken | _ClientInfoRequest
Flow = Generator[Step, Any, T]


def default_headers(token: str | None) -> dict[str, str]:
    headers = {
        "accept": "application/json",
        "client-name": "floe-python-client",
        "client-version": __version__,
        "user-agent": f"floe/{__version__}",
    }
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers


_SHARED: dict[int, httpx.Client] = {}
_SHARED_LOCK = threading.Lock()


def shared_http() -> httpx.Client:
    """One HTTP client per process for the small background calls (lease renewals, credential
    refreshes): creating a client per call costs tens of milliseconds (TLS context set-up)."""
    pid = os.getpid()
    with _SHARED_LOCK:
        client = _SHARED.get(pid)
        if client is None or client.is_closed:
            transport = httpx.HTTPTransport(retries=2, verify=ssl_context())
            client = _SHARED[pid] = httpx.Client(timeout=TIMEOUT, transport=transport)
        return client


def build_request(client: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> httpx.Request:
    params = {k: v for k, v in (call.params or {}).items() if v is not None}
    request = client.build_request(call.method, call.path, params=params, json=call.json, data=call.data)
    if call.token is not CLIENT_TOKEN:
        if call.token:
            request.headers["authorization"] = f"Bearer {call.token}"
        else:
            request.headers.pop("authorization", None)
    return request


def finish(call: Call[T], response: httpx.Response) -> T:
    """The parsed answer of ``call``, or the error a non-2xx answer stands for."""
    if call.check:
        check_response(response)
    return call.parse(response)


def check_response(response: httpx.Response) -> None:
    """Raise the :class:`FloeError` a non-2xx response stands for, with the server's message."""
    if response.is_success:
        return
    code = None
    try:
        body = response.json()
        # {"detail": ...} from Floe, {"error": ..., "error_description": ...} from the OAuth endpoints
        detail = (
            (body.get("detail") or body.get("error_description") or body.get("error"))
            if isinstance(body, dict)
            else body
        )
        code = body.get("error") if isinstance(body, dict) else None
    except ValueError:
        detail = response.text.strip() or response.reason_phrase
    if isinstance(detail, list):
        detail = "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    raise error_for(response.status_code, str(detail), code)


# How long the client waits for the server: longer than the server waits for storage (30 s per
# read, two tries, by default), so a slow store shows up as the server's storage error.
TIMEOUT = httpx.Timeout(120.0, connect=10.0)


def unreachable(base_url: str, exc: Exception) -> FloeError:
    if isinstance(exc, httpx.ReadTimeout):
        return ServiceUnreachableError(
            f"the Floe server at {base_url} took longer than {TIMEOUT.read:g} s to answer; try again later"
        )
    return ServiceUnreachableError(
        f"cannot reach the Floe server at {base_url} ({type(exc).__name__}); is `floe serve` running, "
        "and is FLOE_SERVICE_URI right?"
    )


TokenSwitch = Callable[[str | None], ClientInfo]


def drive(flow: Flow[T], send: Callable[[Call[Any]], Any], info: ClientInfo, use_token: TokenSwitch) -> T:
    """Run a flow with blocking I/O."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            return stop.value
        try:
            if isinstance(step, _ClientInfoRequest):
                value = info
            elif isinstance(step, Run):
                value = step.fn(*step.args, **step.kwargs)
            elif isinstance(step, Sleep):
                time.sleep(max(0.0, step.seconds))
                value = None
            elif isinstance(step, UseToken):
                info = value = use_token(step.token)
            else:
                value = send(step)
            error = None
        except Exception as exc:
            value, error = None, exc


async def drive_async(
    flow: Flow[T], send: Callable[[Call[Any]], Any], info: ClientInfo, use_token: TokenSwitch
) -> T:
    """Run a flow with asyncio; blocking steps go to a worker thread."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            return stop.value
        try:
            if isinstance(step, _ClientInfoRequest):
                value = info
            elif isinstance(step, Run):
                value = await asyncio.to_thread(step.fn, *step.args, **step.kwargs)
            elif isinstance(step, Sleep):
                await asyncio.sleep(max(0.0, step.seconds))
                value = None
            elif isinstance(step, UseToken):
                info = value = use_token(step.token)
            else:
                value = await send(step)
            error = None
        except Exception as exc:
            value, error = None, exc
