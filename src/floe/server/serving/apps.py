"""The xpublish apps that speak each protocol, and forwarding a request into one.

One ``xpublish.Rest`` app per protocol, built on first use and kept: its protocol plugin and a
dataset provider whose ``get_dataset`` hook hands out the dataset the current request was given
(:func:`lend`). A request for ``{service}/{repo}/{ref}/{group}/edr/position`` is forwarded as
``/datasets/{dataset id}/edr/position``; links the plugin writes into its answers (WMS capabilities,
redirects) are turned back into the public address, an unexpected failure of the plugin becomes a
400 naming it (it is the request that the plugin could not answer), and the answer streams back.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from floe.models.services import ServiceProtocol

if TYPE_CHECKING:  # xarray loads when a service opens a dataset, not when the server starts
    import xarray as xr

log = logging.getLogger("floe.server.services")


@dataclass(frozen=True)
class Protocol:
    """How a protocol is served: its plugin, the prefix of its routes, how datasets are opened."""

    module: str
    plugin: str
    prefix: str  # the plugin's dataset router prefix, under /datasets/{id}/
    chunks: dict[str, Any] | None  # xr.open_zarr(chunks=...): {} for dask arrays, None for lazy numpy
    aliases: tuple[str, ...] = ()  # other names of the protocol's URL segment


PROTOCOLS: dict[ServiceProtocol, Protocol] = {
    # the zarr plugin writes metadata of every array and encodes chunks on demand: dask arrays
    ServiceProtocol.zarr: Protocol("xpublish_zarr.plugin", "ZarrPlugin", "zarr", {}),
    ServiceProtocol.edr: Protocol("xpublish_edr.plugin", "CfEdrPlugin", "edr", None),
    ServiceProtocol.wms: Protocol("xpublish_wms.plugin", "CfWmsPlugin", "wms", None),
    ServiceProtocol.tiles: Protocol("xpublish_tiles.xpublish.tiles.plugin", "TilesPlugin", "tiles", None),
    # OPeNDAP streams slices of arrays it holds: dask arrays, so that only the slices asked are read.
    # Flux's DAP2 addresses end in /opendap: that name works too.
    ServiceProtocol.dap2: Protocol("xpublish_opendap.plugin", "OpenDapPlugin", "opendap", {}, ("opendap",)),
}
XPUBLISH_CACHE_BYTES = 256e6  # what each xpublish app may keep (encoded chunks, metadata stores)

# --- the datasets handed to the apps -------------------------------------------------------------

_lent: dict[str, tuple[int, xr.Dataset]] = {}
_lent_lock = threading.Lock()


@contextlib.contextmanager
def lend(dataset_id: str, dataset: xr.Dataset) -> Iterator[None]:
    """Make ``dataset`` what the apps' provider returns for ``dataset_id`` while a request runs."""
    with _lent_lock:
        count, kept = _lent.get(dataset_id, (0, dataset))
        _lent[dataset_id] = (count + 1, kept)
    try:
        yield
    finally:
        with _lent_lock:
            count, kept = _lent[dataset_id]
            if count <= 1:
                del _lent[dataset_id]
            else:
                _lent[dataset_id] = (count - 1, kept)


def lent(dataset_id: str) -> xr.Dataset | None:
    with _lent_lock:
        found = _lent.get(dataset_id)
    return found[1] if found else None


# --- the apps ------------------------------------------------------------------------------------

_apps: dict[ServiceProtocol, ASGIApp] = {}
_apps_lock = threading.Lock()


def _provider() -> Any:
    from xpublish import Plugin, hookimpl

    class FloeDatasets(Plugin):
        """Hands xpublish the dataset of the request being answered (nothing else is listed)."""

        name: str = "floe"

        @hookimpl
        def get_datasets(self) -> list[str]:
            return []

        @hookimpl
        def get_dataset(self, dataset_id: str) -> xr.Dataset | None:
            return lent(dataset_id)

    return FloeDatasets()


def plugin_available(protocol: ServiceProtocol) -> bool:
    """Whether the plugin of ``protocol`` can be imported here."""
    try:
        importlib.import_module(PROTOCOLS[protocol].module)
        importlib.import_module("xpublish")
    except ImportError:
        return False
    return True


def app_for(protocol: ServiceProtocol) -> ASGIApp:
    """The xpublish app of ``protocol``, built once (blocking: the plugins are slow to import)."""
    with _apps_lock:
        app = _apps.get(protocol)
        if app is None:
            import xpublish

            spec = PROTOCOLS[protocol]
            plugin = getattr(importlib.import_module(spec.module), spec.plugin)()
            rest = xpublish.Rest(
                {},
                plugins={"floe": _provider(), spec.prefix: plugin},
                cache_kws={"available_bytes": XPUBLISH_CACHE_BYTES},
                app_kws={"docs_url": None, "redoc_url": None, "openapi_url": None},
            )
            app = _apps[protocol] = rest.app
        return app


# --- forwarding ----------------------------------------------------------------------------------

_REWRITTEN_TYPES = ("json", "xml", "html")  # answers whose links are turned into public ones
_DROPPED_HEADERS = {b"authorization", b"cookie", b"proxy-authorization"}


def _rewrites(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return any(word in kind for word in _REWRITTEN_TYPES)


@dataclass
class Forward:
    """One request to forward into an xpublish app."""

    app: ASGIApp
    dataset_id: str
    prefix: str  # the plugin's prefix
    suffix: str  # what follows the prefix: "/position", ".dds", "" ...
    public_prefix: str  # the public, raw path up to and including the protocol segment
    protocol: ServiceProtocol
    extra_headers: list[tuple[bytes, bytes]]
    status: int = 0

    @property
    def internal_prefix(self) -> str:
        return f"/datasets/{self.dataset_id}/{self.prefix}"

    def scope(self, outer: Scope) -> Scope:
        path = self.internal_prefix + self.suffix
        headers = [(k, v) for k, v in outer.get("headers", []) if k.lower() not in _DROPPED_HEADERS]
        query = outer.get("query_string", b"")
        if self.protocol is ServiceProtocol.tiles:
            query = _default_tile_style(query)
        elif self.protocol is ServiceProtocol.dap2:
            query = dap_constraint(query)
        return {
            "type": "http",
            "asgi": outer.get("asgi", {"version": "3.0"}),
            "http_version": outer.get("http_version", "1.1"),
            "method": "GET" if outer["method"] == "HEAD" else outer["method"],
            "scheme": outer.get("scheme", "http"),
            "server": outer.get("server"),
            "client": outer.get("client"),
            "root_path": "",
            "path": path,
            "raw_path": quote(path).encode(),
            "query_string": query,
            "headers": headers,
            "state": {},
            "extensions": outer.get("extensions") or {},
        }

    def _public(self, data: bytes) -> bytes:
        return data.replace(self.internal_prefix.encode(), self.public_prefix.encode())

    async def __call__(self, outer: Scope, receive: Receive, send: Send) -> None:
        """Forward the request and stream the answer back; ``status`` is what the caller got."""
        head = outer["method"] == "HEAD"
        marker = DodsMarker() if self.protocol is ServiceProtocol.dap2 and self.suffix == ".dods" else None
        start: Message | None = None
        buffered: list[bytes] | None = None  # the body, when it is rewritten or replaced
        failed = False  # the plugin answered 500: a 400 goes out instead

        async def relay(message: Message) -> None:
            nonlocal start, buffered, failed
            if message["type"] == "http.response.start":
                start = message
                if message["status"] >= 500 and message["status"] not in (502, 503, 504):
                    failed, buffered = True, []
                    return
                headers = MutableHeaders(scope=message)
                for key, value in self.extra_headers:
                    if 200 <= message["status"] < 300 or key != b"cache-control":
                        headers[key.decode()] = value.decode()
                if "location" in headers:
                    headers["location"] = self._public(headers["location"].encode()).decode()
                if _rewrites(headers.get("content-type", "")):
                    buffered = []
                    return
                if marker is not None and "content-length" in headers:
                    del headers["content-length"]  # the marker is one byte shorter
                self.status = message["status"]
                await send(message)
                return
            if message["type"] != "http.response.body":
                return
            if buffered is not None:
                buffered.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                if failed:
                    return
                body = self._public(b"".join(buffered))
                assert start is not None
                headers = MutableHeaders(scope=start)
                headers["content-length"] = str(len(body))
                self.status = start["status"]
                await send(start)
                await send({"type": "http.response.body", "body": b"" if head else body})
                return
            if head:
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
                return
            if marker is not None:
                more = message.get("more_body", False)
                body = marker.feed(message.get("body", b""), final=not more)
                if body or not more:
                    await send({"type": "http.response.body", "body": body, "more_body": more})
                return
            await send(message)

        try:
            await self.app(self.scope(outer), receive, relay)
        except Exception as exc:
            if self.status:  # the answer had started: end the connection, the body is incomplete
                log.warning("the %s service failed while answering", self.protocol.value, exc_info=True)
                raise
            log.warning("the %s service could not answer", self.protocol.value, exc_info=True)
            why = self._public(f"{type(exc).__name__}: {str(exc)[:200]}".encode()).decode()
            await self._refuse(outer, receive, send, why)
            return
        if failed:
            detail = b"".join(buffered or []).decode(errors="replace")[:300]
            log.warning("the %s service answered 500: %s", self.protocol.value, detail)
            await self._refuse(outer, receive, send, detail)

    async def _refuse(self, outer: Scope, receive: Receive, send: Send, why: str) -> None:
        self.status = 400
        message = (
            f"the {self.protocol.value} service could not answer this request for this dataset ({why}); "
            "check the request against the dataset's variables and coordinates"
        )
        response = JSONResponse({"detail": message, "error": "bad_request"}, status_code=400)
        await response(outer, receive, send)


TILE_DEFAULTS = ((b"style", b"raster%2Fdefault"), (b"f", b"image%2Fpng"))


def _default_tile_style(query: bytes) -> bytes:
    """xpublish-tiles 0.4 (the last for Python 3.11) fails on tiles asked without ``style`` or ``f``:
    it uses its defaults unparsed (``"raster/default"`` read as a pair). Ask for them explicitly."""
    names = {part.split(b"=", 1)[0].lower() for part in query.split(b"&") if part}
    for name, value in TILE_DEFAULTS:
        if name not in names:
            query += (b"&" if query else b"") + name + b"=" + value
    return query


# --- DAP2: what xpublish-opendap's opendap_protocol gets wrong ----------------------------------

_HYPERSLAB = re.compile(r"\[(\d+):(\d+):(\d+)\]")


def dap_constraint(query: bytes) -> bytes:
    """DAP2 hyperslabs are ``[start:stride:stop]`` (pydap and netCDF always send the stride);
    opendap_protocol reads three numbers as ``[start:stop:stride]``: swap them for it."""
    text = unquote(query.decode("latin-1"))
    fixed = _HYPERSLAB.sub(lambda m: f"[{m[1]}:{m[3]}:{m[2]}]", text)
    return quote(fixed, safe="/:,=&.;()[]!*'~-_").encode() if fixed != text else query


class DodsMarker:
    """opendap_protocol ends the DDS of a data answer with ``Data:\\r\\n``; DAP2 clients such as
    pydap look for ``Data:\\n`` (netCDF takes either): the first marker is rewritten, the rest
    passes through untouched."""

    LIMIT = 4 * 2**20  # a DDS longer than this is passed on as it is

    def __init__(self) -> None:
        self.pending: bytes | None = b""

    def feed(self, chunk: bytes, *, final: bool) -> bytes:
        if self.pending is None:
            return chunk
        data = self.pending + chunk
        at = data.find(b"\nData:\r\n")
        if at >= 0:
            self.pending = None
            return data[:at] + b"\nData:\n" + data[at + len(b"\nData:\r\n") :]
        if b"\nData:\n" in data or final or len(data) > self.LIMIT:
            self.pending = None
            return data
        self.pending = data
        return b""
