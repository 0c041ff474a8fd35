"""The ceiling of the stack: a bare Starlette JSON route, served by uvicorn like Floe is.

Its body is about the size of Floe's ``open`` answer, so the comparison measures what the
catalog adds (authentication, one query, serialisation), not the HTTP server.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

BODY = {
    "repo_bucket": {
        "id": "0" * 36,
        "nickname": "bench",
        "platform": "s3-compatible",
        "name": "bench",
        "prefix": "",
    },
    "repo_prefix": "a" * 40,
    "repo_credentials": {"aws_access_key_id": "x" * 20, "aws_secret_access_key": "y" * 40},
    "author": {"name": "bench", "email": "bench@example.org"},
    "status": {"mode": "online"},
    "padding": "z" * 600,
}


async def bare(_request):  # type: ignore[no-untyped-def]
    return JSONResponse(BODY)


def make_app() -> Starlette:
    return Starlette(routes=[Route("/bare", bare)])
