"""One conformance suite that every storage platform runs, through floe.Client and a real server.

Register the storage, create a repo, write and commit, read it back through credentials
vended to another principal, refresh expiring credentials, delete the repo into the trash and purge its objects.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil

import numpy as np
import pytest
import zarr

import floe
from floe.client import _operations as ops
from floe.client import opening
from floe.client.credentials import CatalogCredentials

from . import cases as base_cases


def _all_cases() -> list[base_cases.Case]:
    found = list(base_cases.CASES)
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("cases_"):
            found.extend(importlib.import_module(f"{__package__}.{info.name}").CASES)
    return found


CASES = _all_cases()


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def storage(request) -> base_cases.Storage:
    case: base_cases.Case = request.param
    if case.skip_reason:
        pytest.skip(case.skip_reason)
    return case.make(request)


def test_platform_conformance(storage, floe_server_sqlite):
    server = floe_server_sqlite
    admin = floe.Client(service_uri=server.url, token=server.token)
    bucket = admin.create_bucket_config(org="default", nickname="conform", **storage.bucket_config)
    assert bucket.auth_config is None or all(v != "conformance-secret" for v in bucket.auth_config.values())

    repo = admin.create_repo("default/conform", bucket_config_nickname="conform")
    session = repo.writable_session("main")
    array = zarr.create_array(session.store, name="t", shape=(8, 8), chunks=(4, 4), dtype="f8")
    array[:] = np.arange(64.0).reshape(8, 8)
    session.commit("conformance write")
    entry = admin.get_repo_object("default/conform")
    if storage.server_reaches:
        keys = storage.list_keys(entry.prefix)
        assert any("/snapshots/" in k for k in keys), keys

    reader_token = admin.create_api_client("default", name="conform-reader", role="viewer").token
    reader = floe.Client(service_uri=server.url, token=reader_token)
    opened = reader.get_repo("default/conform")
    got = zarr.open_array(opened.readonly_session("main").store, path="t")[:]
    np.testing.assert_array_equal(got, np.arange(64.0).reshape(8, 8))
    with pytest.raises(floe.RepoUnavailableError):
        opened.writable_session("main")

    if storage.expiring:
        _check_refresh(admin, server)

    keys = storage.list_keys(entry.prefix)
    admin.delete_repo("default/conform", imsure=True, imreallysure=True)
    assert storage.list_keys(entry.prefix) == keys  # in the trash: every object kept
    if storage.server_reaches:
        admin.purge_repo("default/conform", imsure=True, imreallysure=True)
        assert storage.list_keys(entry.prefix) == []
    else:  # the server may not delete them: forget the entry, leave the objects
        admin.purge_repo("default/conform", keep_data=True, imsure=True, imreallysure=True)
    admin.delete_bucket_config(org="default", nickname="conform", imsure=True, imreallysure=True)


def _check_refresh(admin: floe.Client, server) -> None:
    """Credentials that have expired are replaced through the catalog, and reads go on working."""
    refresher = CatalogCredentials(service_uri=server.url, token=server.token, org="default", repo="conform")
    first, second = refresher(), refresher()
    assert first.expiration is not None and first.expiration > dt.datetime.now(dt.UTC)
    assert first.model_dump(exclude={"expiration"}) != second.model_dump(exclude={"expiration"})

    def refreshes() -> int:
        return server.log_text().count("GET /repos/default/conform/bucket-credentials")

    before = refreshes()
    opened = admin._http.get("/repos/default/conform/open").json()
    response = ops.OpenRepoResponse.model_validate(opened)
    response.repo_credentials.expiration = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    storage = opening.storage_from_open(response, refresher)
    repo = floe.FloeRepository.open(storage)
    assert zarr.open_array(repo.readonly_session("main").store, path="t")[0, 1] == 1.0
    assert refreshes() > before, "Icechunk never asked the catalog for fresh credentials"
