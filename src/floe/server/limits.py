"""Request limits: bodies capped before they are read, JSON bodies bounded in depth and size.

:func:`read_within_limits` (run for every request by :class:`floe.server.edge.Edge`) refuses a
body larger than the limit with 413 -- from its ``Content-Length`` before reading any of it, or once
a chunked body passes the limit -- and checks a JSON body before any route sees it: nesting depth,
string lengths, list and object sizes. Each refusal is a 4xx that names the field and the limit.
Limits of single fields (metadata, pages, cursors, times, ``filter_metadata``) live with the models
and routes that own them.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_JSON_STRING = 64 * 1024
MAX_JSON_ITEMS = 1000  # entries of one list, or keys of one object

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class LimitExceeded(Exception):
    """A request over one of the limits: the status and the message that names field and limit."""

    def __init__(self, status_code: int, message: str, code: str = "validation_error") -> None:
        super().__init__(message)
        self.status_code, self.message, self.code = status_code, message, code


def json_depth(body: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (0 for a scalar); strings are skipped."""
    brackets = _STRING.sub(b'""', body).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(itertools.accumulate(_STEP[b] for b in brackets))


def check_json(value: Any, path: str = "") -> None:
    """Raise :class:`LimitExceeded` for a string, list or object in ``value`` over the limits."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        name = where or "the body"
        if isinstance(item, str):
            if len(item) > MAX_JSON_STRING:
                raise LimitExceeded(
                    422, f"{name}: a string of {len(item)} characters; at most {MAX_JSON_STRING}"
                )
        elif isinstance(item, list):
            if len(item) > MAX_JSON_ITEMS:
                raise LimitExceeded(422, f"{name}: a list of {len(item)} items; at most {MAX_JSON_ITEMS}")
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
        elif isinstance(item, dict):
            if len(item) > MAX_JSON_ITEMS:
                raise LimitExceeded(422, f"{name}: an object of {len(item)} keys; at most {MAX_JSON_ITEMS}")
            for key, v in item.items():
                if len(key) > MAX_JSON_STRING:
                    raise LimitExceeded(
                        422, f"{name}: a key of {len(key)} characters; at most {MAX_JSON_STRING}"
                    )
                stack.append((v, f"{where}.{key[:64]}" if where else key[:64]))


def check_json_body(body: bytes) -> None:
    """Check a JSON request body against the limits; a body that is no JSON is left to the route."""
    depth = json_depth(body)
    if depth > MAX_JSON_DEPTH:
        raise LimitExceeded(422, f"the JSON body nests {depth} levels deep; at most {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return
    check_json(value)


def _is_json(scope: Scope) -> bool:
    """JSON, or no content type at all (the arraylake client sends JSON without one)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = value.split(b";")[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return True


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                raise LimitExceeded(400, "Content-Length is not a number", "bad_request") from None
            if length < 0:
                raise LimitExceeded(400, "Content-Length is negative", "bad_request")
            return length
    return None


def _too_large(max_body_bytes: int, size: str) -> LimitExceeded:
    """The 413 for a body of ``size`` over the limit."""
    return LimitExceeded(
        413,
        f"the request body is {size}; at most {max_body_bytes} bytes (the server's FLOE_MAX_BODY_BYTES)",
        "payload_too_large",
    )


async def read_within_limits(scope: Scope, receive: Receive, max_body_bytes: int) -> Receive:
    """Read the request body (at most ``max_body_bytes``) and check it; answer a ``receive`` that
    hands the app the same body. Raises :class:`LimitExceeded` for a body over a limit.

    Called by :class:`floe.server.edge.Edge` for every request, before any route sees it.
    """
    declared = _declared_length(scope)
    if declared is not None and declared > max_body_bytes:
        raise _too_large(max_body_bytes, f"{declared} bytes")
    body = await _read(receive, max_body_bytes)
    if body and _is_json(scope):
        check_json_body(body)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def refusal(exc: LimitExceeded) -> JSONResponse:
    """The answer to a request over a limit (a 413 closes the connection: the rest is never read)."""
    response = JSONResponse({"detail": exc.message, "error": exc.code}, status_code=exc.status_code)
    if exc.status_code == 413:
        response.headers["connection"] = "close"
    return response


async def _read(receive: Receive, max_body_bytes: int) -> bytes:
    """The whole body, or :class:`LimitExceeded` as soon as it passes the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: nothing more to read
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_body_bytes:
            raise _too_large(max_body_bytes, f"more than {max_body_bytes} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
