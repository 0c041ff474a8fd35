"""The error body every API error has, declared in the OpenAPI schema as the server sends it.

Floe answers every error of its API with ``{"detail": "what is wrong and how to fix it",
"error": "a stable code"}`` -- validation errors (422), errors of the catalog, the request limits,
and Starlette's own (unknown routes, wrong methods with their ``Allow`` header). :func:`install`
makes Starlette's errors take that shape and declares it in ``/openapi.json``: as the 422 answer
instead of FastAPI's default, and as every operation's ``4XX`` answer.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorBody(BaseModel):
    """An error answer of the API."""

    detail: str = Field(description="what is wrong, and how to fix it")
    error: str = Field(description="a stable code: validation_error, not_found, storage_error, ...")


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _code(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _route_methods(routes: Any, path: str, prefix: str = "") -> tuple[set[str], set[str]]:
    """The methods of the routes (included routers too) whose pattern matches ``path``: of API
    routes (in the OpenAPI schema), and of the others (pages, catch-alls)."""
    api: set[str] = set()
    other: set[str] = set()
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            found = _route_methods(inner.routes, path, prefix + (getattr(context, "prefix", "") or ""))
            api, other = api | found[0], other | found[1]
        elif (
            getattr(route, "methods", None)
            and getattr(route, "path_regex", None) is not None
            and path.startswith(prefix)
            and route.path_regex.match(path[len(prefix) :])
        ):
            (api if getattr(route, "include_in_schema", False) else other).update(route.methods)
    return api, other


def _allowed_methods(request: Request) -> str:
    """The methods of the request's path: those of its API routes where it has some (a page
    catch-all such as ``/{org}/{repo}`` does not count there), else those of every route."""
    api, other = _route_methods(request.app.router.routes, request.url.path)
    return ", ".join(sorted(api or other))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    body = {"detail": detail, "error": _code(exc.status_code)}
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return JSONResponse(body, status_code=exc.status_code, headers=headers or None)


def _with_error_bodies(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["ErrorBody"] = ErrorBody.model_json_schema()
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        error = {"application/json": {"schema": _ERROR_REF}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "Validation Error", "content": error}
                responses.setdefault("4XX", {"description": "Error", "content": error})
        app.openapi_schema = schema
        return schema

    return openapi


def install(app: FastAPI) -> None:
    """Answer Starlette's errors with :class:`ErrorBody` and declare it in the app's OpenAPI schema."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.openapi = _with_error_bodies(app)  # type: ignore[method-assign]
