"""What every request passes (security headers, unexpected errors) and the log filters of the server;
:class:`floe.server.edge.Edge` applies them."""

from __future__ import annotations

import logging
import os
import re
import time
import traceback
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import Scope

log = logging.getLogger("floe.server")
# name=value pairs (a query string, or text); a name is secret when it contains one of these words
_PAIR = re.compile(r"(?<![\w.\-])([\w.\-]+)=([^&\s\"']*)")
_SECRET_NAME = re.compile(
    r"(?i)token|secret|passw|pwd|code|state|credential|signature|session|auth|(?:^|[_\-.])(?:(?:api)?_?key|sig)$"
)


def redact(text: str) -> str:
    """``text`` with the values of secret-looking ``name=value`` pairs replaced by ``[redacted]``."""
    return _PAIR.sub(lambda m: f"{m[1]}=[redacted]" if _SECRET_NAME.search(m[1]) else m[0], text)


class RedactSecretsFilter(logging.Filter):
    """Scrubs token-like query parameters from log records (uvicorn's access log prints URLs):
    ``access_token``, ``refresh_token``, ``device_code``, ``user_code``, ``code``, ``state``,
    ``password``, ``client_secret``, ``api_key`` and the like."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "floe"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecretsFilter) for f in logger.filters):
            logger.addFilter(RedactSecretsFilter())


def error_site(exc: BaseException) -> str:
    """Where ``exc`` was raised: its type and the innermost frame in Floe's code (else the innermost
    frame), as ``TypeName at floe/server/catalog/repos.py:123``."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}floe{os.sep}" in f.filename] or frames
    if not ours:
        return type(exc).__name__
    frame = ours[-1]
    parts = Path(frame.filename).parts
    package = max((i for i, part in enumerate(parts) if part == "floe"), default=len(parts) - 1)
    where = "/".join(parts[package:])
    return f"{type(exc).__name__} at {where}:{frame.lineno}"


class TracebackLimiter:
    """At most one full traceback per error site per ``every`` seconds; the others get one line."""

    def __init__(self, every: float = 60.0, max_sites: int = 1000) -> None:
        self.every = every
        self.max_sites = max_sites
        self._last: dict[str, float] = {}

    def allow(self, site: str) -> bool:
        moment = time.monotonic()
        last = self._last.get(site)
        if last is not None and moment - last < self.every:
            return False
        if len(self._last) >= self.max_sites:  # a flood of distinct sites must not grow memory
            self._last = {k: v for k, v in self._last.items() if moment - v < self.every}
        self._last[site] = moment
        return True


def report_unexpected(exc: BaseException, scope: Scope, limiter: TracebackLimiter) -> None:
    """Log an unexpected error of a request: the full traceback at most once a minute per error site
    (:func:`error_site`), one line for the repeats."""
    site = error_site(exc)
    method, path = scope.get("method"), scope.get("path")
    if limiter.allow(site):
        log.exception("unexpected error on %s %s: %s", method, path, site)
    else:
        log.error(
            "unexpected error on %s %s: %s (traceback logged at most once a minute per place)",
            method,
            path,
            site,
        )


def internal_error(exc: BaseException) -> JSONResponse:
    """The JSON 500 that answers an unexpected error (the connection stays usable: Starlette's own
    handler re-raises after answering, which makes uvicorn drop the keep-alive connection)."""
    body = {"detail": f"internal error ({type(exc).__name__}); see the server log", "error": "internal_error"}
    return JSONResponse(body, status_code=500)


# Floe's own pages: a stylesheet from the server, forms posting back to it, never framed.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The API docs (Swagger UI, ReDoc): scripts from the server only; they set inline styles, draw
# data: images, call the API and ReDoc searches in a blob: worker.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


def add_security_headers(headers: MutableHeaders, path: str) -> None:
    """Every response: ``X-Content-Type-Options: nosniff``. HTML pages also get a Content-Security-Policy
    (a looser one for the API docs), ``X-Frame-Options: DENY`` and ``Referrer-Policy: no-referrer``."""
    headers.setdefault("x-content-type-options", "nosniff")
    if headers.get("content-type", "").startswith("text/html"):
        headers.setdefault("content-security-policy", DOCS_CSP if path in DOCS_PATHS else PAGE_CSP)
        headers.setdefault("x-frame-options", "DENY")
        headers.setdefault("referrer-policy", "no-referrer")
