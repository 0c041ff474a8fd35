"""Floe: a catalog for versioned, cloud-native scientific array data on Icechunk.

>>> import floe
>>> client = floe.Client()            # FLOE_SERVICE_URI / FLOE_TOKEN, or the config `floe serve` wrote
>>> repo = client.create_repo("default/era5")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from floe.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FloeError,
    GoneError,
    NotFoundError,
    PermissionDeniedError,
    RepoUnavailableError,
    ServiceUnreachableError,
    StorageError,
    TooManyRequestsError,
    ValidationError,
)

if TYPE_CHECKING:
    from floe.client import AsyncClient, Client
    from floe.client.datasets import write_dataset
    from floe.client.direct import open_uri, storage_for_uri
    from floe.client.repository import FloeRepository
    from floe.client.shared import open_shared

# Loaded on first use, so that ``import floe`` (and every ``floe`` command) starts fast.
_LAZY = {
    "AsyncClient": "floe.client",
    "Client": "floe.client",
    "FloeRepository": "floe.client.repository",
    "open_shared": "floe.client.shared",
    "open_uri": "floe.client.direct",
    "storage_for_uri": "floe.client.direct",
    "write_dataset": "floe.client.datasets",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'floe' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "FloeError",
    "FloeRepository",
    "GoneError",
    "NotFoundError",
    "PermissionDeniedError",
    "RepoUnavailableError",
    "ServiceUnreachableError",
    "StorageError",
    "TooManyRequestsError",
    "ValidationError",
    "__version__",
    "open_shared",
    "open_uri",
    "storage_for_uri",
    "write_dataset",
]
