"""Catalog logic: what each operation does to the database and the storage, and who may do it.

Routes are thin wrappers around these functions; the CLI and clients reach them only over HTTP.
"""

from floe.server.catalog.base import Catalog

__all__ = ["Catalog"]
