"""Azure Blob Storage: bucket config = one container of one storage account.

Credential methods:

* ``azure_account_key`` (delegated): the server keeps the storage account key and vends
  container SAS tokens -- read+list for readers, read/add/create/write/delete/list for
  writers -- that expire after ``duration_seconds``.
* ``azure_sas``: a SAS token issued outside Floe, handed to permitted clients as is.
* ``from_env``: whoever opens the repo brings credentials in its environment.
* ``anonymous``: a public container, read only.

``config`` validates, ``credentials`` signs and vends SAS tokens, ``adapter`` builds Icechunk
storages and ``store`` is the server's handle (:class:`~floe.storage.azure.store.AzureObjectStore`).
"""

from floe.storage.azure.adapter import AzureAdapter
from floe.storage.azure.config import DEFAULT_DURATION, default_endpoint, sas_expiry
from floe.storage.azure.credentials import CLOCK_SKEW, container_sas

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_DURATION",
    "AzureAdapter",
    "container_sas",
    "default_endpoint",
    "sas_expiry",
]
