"""Request ids and the server's log format (``floe serve --log-format text|json``).

Every request gets an id: the caller's ``X-Request-ID`` when it is a plausible id (a reverse proxy's,
say), else a new one (32 hex digits). It is sent back in ``X-Request-ID`` and, with ``--log-format
json``, is on every log line written while the request is answered (uvicorn's access line included).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import Scope

LOG_FORMATS = ("text", "json")
REQUEST_ID: ContextVar[str | None] = ContextVar("floe_request_id", default=None)
_PLAUSIBLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


# new ids: this process's random prefix and a counter (unique across processes and restarts, and
# cheaper than a UUID per request)
_ID_PREFIX = secrets.token_hex(8)
_ID_COUNTER = itertools.count(1)


def request_id_for(scope: Scope) -> str:
    """The id of an HTTP request: the caller's ``X-Request-ID`` when it is a plausible id, else a new one.
    (:class:`floe.server.edge.Edge` keeps it in :data:`REQUEST_ID` and answers with it.)"""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given = value.decode("latin-1")
            if _PLAUSIBLE_ID.fullmatch(given):
                return given
            break
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id; for uvicorn's access log
    also client, method, path and status; an exception's traceback under ``exc_info``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": REQUEST_ID.get(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _version, status = record.args
            line.update(client=client, method=method, path=path, status=status)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def uvicorn_log_config(log_format: str) -> dict[str, Any]:
    """The ``log_config`` for ``uvicorn.run``: uvicorn's own for ``text``, :class:`JsonFormatter` for ``json``."""
    if log_format == "text":
        from uvicorn.config import LOGGING_CONFIG

        return LOGGING_CONFIG
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "floe": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
    }
