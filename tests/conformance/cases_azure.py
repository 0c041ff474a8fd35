"""Azure Blob Storage cases for the conformance suite, against Azurite.

``azure-account-key``: the server keeps Azurite's account key and vends container SAS tokens
(read+list for the viewer). ``azure-sas``: a container SAS issued outside Floe, handed out as
is. Neither is ``expiring``: Icechunk 1.x cannot refresh Azure credentials, so there is no
refresh for the suite to check.
"""

from __future__ import annotations

import pytest

from .cases import Case, Storage


def _azure(request: pytest.FixtureRequest, auth: str) -> Storage:
    azurite = request.getfixturevalue("azurite")
    container = azurite.create_container()
    if auth == "account_key":
        auth_config = {
            "method": "azure_account_key",
            "account_name": azurite.account_name,
            "account_key": azurite.account_key,
            "duration_seconds": 900,
        }
    else:
        auth_config = {
            "method": "azure_sas",
            "account_name": azurite.account_name,
            "sas_token": azurite.container_sas(container, "racwdl"),
        }
    return Storage(
        bucket_config={
            "uri": f"az://{container}/lab",
            "extra_config": {"account_name": azurite.account_name, "endpoint_url": azurite.blob_endpoint},
            "auth_config": auth_config,
        },
        list_keys=lambda prefix: azurite.list_blobs(container, prefix),
    )


def azure_account_key(request: pytest.FixtureRequest) -> Storage:
    return _azure(request, "account_key")


def azure_sas(request: pytest.FixtureRequest) -> Storage:
    return _azure(request, "sas")


CASES = [
    Case("azure-account-key", azure_account_key),
    Case("azure-sas", azure_sas),
]
