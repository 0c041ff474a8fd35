"""Google Cloud Storage: the server keeps a service-account key and vends short-lived bearer tokens.

Three credential methods:

* ``gcs_service_account`` (delegated): the bucket config holds a service-account key (the JSON
  file from the Google Cloud console). The server mints OAuth2 access tokens from it with
  google-auth -- scope ``devstorage.read_only`` for readers, ``devstorage.read_write`` for
  writers -- and hands clients only those tokens (``GSCredentials``), never the key.
* ``from_env``: whoever opens the repo uses the Google credentials of its own environment
  (``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's application-default login, the metadata server).
* ``anonymous``: public buckets, read-only.

``extra_config.endpoint_url`` points both Icechunk (object_store's ``google_base_url``) and the
server's handle at another endpoint than ``https://storage.googleapis.com``, e.g. an emulator.

``config`` validates, ``credentials`` mints tokens, ``adapter`` builds Icechunk storages and
``store`` is the server's handle (:class:`~floe.storage.gcs.store.GcsObjectStore`).
"""

from floe.storage.gcs.adapter import GcsAdapter
from floe.storage.gcs.config import (
    DEFAULT_ENDPOINT,
    GCS_READ_ONLY,
    GCS_READ_WRITE,
    GOOGLE_TOKEN_URI,
    check_bucket_name,
    check_service_account_key,
)
from floe.storage.gcs.credentials import HttpxTransport, mint_token, refreshing

__all__ = [
    "DEFAULT_ENDPOINT",
    "GCS_READ_ONLY",
    "GCS_READ_WRITE",
    "GOOGLE_TOKEN_URI",
    "GcsAdapter",
    "HttpxTransport",
    "check_bucket_name",
    "check_service_account_key",
    "mint_token",
    "refreshing",
]
