"""A reverse proxy that drops ``If-Match`` and ``If-None-Match``: an S3 endpoint without conditional writes.

It stands in for stores such as JASMIN's, which accept conditional requests but ignore the
conditions. Every request (method, path, query, body, headers except the conditional ones and
``Host``) goes to the upstream endpoint, and the upstream's status, headers and body stream back.
Each dropped header is logged as ``dropped <header> on <METHOD> <path>``.

S3 signs its headers (SigV4), so the upstream sees a signature over headers it never received;
the moto server does not verify signatures unless told to, so that is fine for moto.

Run: ``python dropping_proxy.py --upstream http://127.0.0.1:5000 --port 8100``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterator

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

DROPPED = frozenset({"if-match", "if-none-match"})
# Hop-by-hop headers, and those httpx sets itself from what it sends.
NOT_FORWARDED = frozenset(
    {"host", "content-length", "expect", "connection", "keep-alive", "transfer-encoding"}
)
NOT_RETURNED = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade"})
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]


def create_app(upstream: str) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=upstream, timeout=60, trust_env=False) as client:
            app.state.client = client
            yield

    async def forward(request: Request) -> StreamingResponse:
        client: httpx.AsyncClient = request.app.state.client
        path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        headers = []
        for name, value in request.headers.items():
            lowered = name.lower()
            if lowered in DROPPED:
                print(f"dropped {lowered} on {request.method} {path}", flush=True)
            elif lowered not in NOT_FORWARDED:
                headers.append((name, value))
        url = httpx.URL(upstream + path, query=request.url.query.encode("latin-1"))
        upstream_request = client.build_request(
            request.method, url, headers=headers, content=await request.body()
        )
        response = await client.send(upstream_request, stream=True)
        streamed = StreamingResponse(
            response.aiter_raw(), status_code=response.status_code, background=BackgroundTask(response.aclose)
        )
        streamed.raw_headers = [
            (name, value) for name, value in response.headers.raw if name.lower() not in NOT_RETURNED
        ]
        return streamed

    routes = [Route("/", forward, methods=METHODS), Route("/{path:path}", forward, methods=METHODS)]
    return Starlette(routes=routes, lifespan=lifespan)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:5000")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    print(f"forwarding http://{args.host}:{args.port} to {args.upstream}", flush=True)
    uvicorn.run(create_app(args.upstream.rstrip("/")), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    sys.exit(main())
