"""Floe: a catalog for versioned, cloud-native scientific array data on Icechunk.

>>> import floe
>>> client = floe.Client()            # FLOE_SERVICE_URI / FLOE_TOKEN, or the config `floe serve` wrote
>>> repo = client.create_repo("default/era5")
"""

__version__ = "0.1.0"

from floe.client import AsyncClient, Client, FloeRepository
from floe.client.direct import open_uri, storage_for_uri
from floe.client.shared import open_shared
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
]
