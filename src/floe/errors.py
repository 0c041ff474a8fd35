"""One exception hierarchy for server and client, mapped to HTTP status codes both ways.

The server raises these from catalog logic; the app turns them into JSON
``{"detail": message, "error": code}`` with the class's status. The client maps a
response's status back to the same class, so ``except floe.NotFoundError`` works the
same whether the error happened locally or on the server.
"""

from __future__ import annotations


class FloeError(Exception):
    """Base class of every error Floe raises on purpose."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    def __str__(self) -> str:
        return self.message


class BadRequestError(FloeError):
    """The request is malformed or names something invalid (400/422)."""

    status_code = 400
    code = "bad_request"


class ValidationError(BadRequestError):
    """A field failed validation; the message names the field and the fix."""

    status_code = 422
    code = "validation_error"


class AuthenticationError(FloeError):
    """No token, or a token that is wrong, expired or revoked (401)."""

    status_code = 401
    code = "unauthenticated"


class PermissionDeniedError(FloeError):
    """The principal is known but may not do this (403)."""

    status_code = 403
    code = "forbidden"


class NotFoundError(FloeError):
    """The named org, repo, bucket config or token does not exist (404)."""

    status_code = 404
    code = "not_found"


class ConflictError(FloeError):
    """The request conflicts with what exists: a duplicate name, an in-use bucket config (409)."""

    status_code = 409
    code = "conflict"


class GoneError(FloeError):
    """410: it existed, and no longer works (an expired or revoked share link); the message says why."""

    status_code = 410
    code = "gone"


class TooManyRequestsError(FloeError):
    """Too many failed attempts from this account or address; wait and retry (429)."""

    status_code = 429
    code = "too_many_requests"


class RepoUnavailableError(FloeError):
    """The repo is offline, or not online for writing (423 Locked)."""

    status_code = 423
    code = "repo_unavailable"


class StorageError(FloeError):
    """The object store refused, failed, or could not be reached (424 Failed Dependency: a 4xx, so
    clients that retry server errors do not retry it)."""

    status_code = 424
    code = "storage_error"


class ServiceUnreachableError(FloeError):
    """The Floe server could not be reached at all (503 on the client side)."""

    status_code = 503
    code = "unreachable"


class ServerError(FloeError):
    """The server failed in a way it did not expect (5xx)."""

    status_code = 500
    code = "internal_error"


_BY_CODE: dict[str, type[FloeError]] = {
    cls.code: cls
    for cls in (
        BadRequestError,
        ValidationError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        GoneError,
        TooManyRequestsError,
        RepoUnavailableError,
        StorageError,
        ServiceUnreachableError,
        ServerError,
    )
}

_BY_STATUS: dict[int, type[FloeError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: ValidationError,
    423: RepoUnavailableError,
    424: StorageError,
    429: TooManyRequestsError,
    502: StorageError,  # servers before 0.2
}


def error_for(status_code: int, message: str, code: str | None = None) -> FloeError:
    """Build the exception a response with this status (and optional error code) stands for."""
    cls = _BY_CODE.get(code or "") or _BY_STATUS.get(status_code)
    if cls is None:
        cls = BadRequestError if 400 <= status_code < 500 else ServerError
    return cls(message, status_code=status_code)
