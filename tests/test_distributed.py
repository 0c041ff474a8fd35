"""Distributed writes with Dask: a chunked xarray dataset written from 2 worker processes, one commit.

The workers receive the repo (pickled, credentials and refresh callback included) and, when
the vended credentials have expired, fetch fresh ones from the catalog themselves.
"""

from __future__ import annotations

import datetime as dt

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from distributed import Client as DaskClient
from distributed import LocalCluster
from icechunk.xarray import to_icechunk

import floe
from floe.client import opening
from floe.client._transport import ClientInfo
from floe.models import OpenRepoResponse


@pytest.fixture(scope="module")
def cluster():
    with (
        LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as c,
        DaskClient(c) as client,
    ):
        yield client


def _dataset() -> xr.Dataset:
    data = da.from_array(np.arange(64 * 50, dtype="f8").reshape(64, 50), chunks=(8, 50))
    return xr.Dataset({"temperature": (("time", "x"), data)}, coords={"time": np.arange(64)})


def test_dask_cluster_writes_one_commit_with_refreshing_credentials(
    cluster, floe_server_sqlite, moto, s3_bucket
):
    client = floe.Client(service_uri=floe_server_sqlite.url, token=floe_server_sqlite.token)
    client.create_bucket_config(
        org="default",
        nickname="sts",
        uri=f"s3://{s3_bucket}",
        extra_config={"endpoint_url": moto.endpoint, "region_name": "us-east-1"},
        auth_config={
            "method": "aws_sts",
            "role_arn": "arn:aws:iam::123456789012:role/floe-dask",
            "access_key_id": "testing",
            "secret_access_key": "sts-long-lived",
        },
    )
    client.create_repo("default/dask-written", bucket_config_nickname="sts")

    # Open it as get_repo does, but with the vended credentials already expired, so that every
    # worker has to ask the catalog for fresh ones through the pickled refresh callback.
    opened = OpenRepoResponse.model_validate(client._http.get("/repos/default/dask-written/open").json())
    opened.repo_credentials.expiration = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    repo = opening.open_repository(
        "default/dask-written", opened, ClientInfo(client.service_uri, client.token), None, create=False
    )
    before = floe_server_sqlite.log_text().count("/repos/default/dask-written/bucket-credentials")

    session = repo.writable_session("main")
    to_icechunk(_dataset(), session, mode="w")
    snapshot = session.commit("written by 2 dask workers")

    assert floe_server_sqlite.log_text().count("/repos/default/dask-written/bucket-credentials") > before
    history = [s.message for s in client.get_repo("default/dask-written").ancestry(branch="main")]
    assert history[0] == "written by 2 dask workers" and len(history) == 2  # one commit on top of the root
    back = xr.open_zarr(
        client.get_repo("default/dask-written").readonly_session("main").store, consolidated=False
    )
    np.testing.assert_array_equal(back.temperature.values, np.arange(64 * 50, dtype="f8").reshape(64, 50))
    assert snapshot
    workers = cluster.scheduler_info()["workers"]
    assert len(workers) == 2


def test_dask_write_through_get_repo(cluster, floe_server_sqlite):
    """The plain path people use: get_repo, to_icechunk from the cluster, commit."""
    client = floe.Client(service_uri=floe_server_sqlite.url, token=floe_server_sqlite.token)
    client.create_repo("default/dask-local")
    repo = client.get_repo("default/dask-local")
    session = repo.writable_session("main")
    to_icechunk(_dataset(), session, mode="w")
    session.commit("dask")
    back = xr.open_zarr(
        client.get_repo("default/dask-local").readonly_session("main").store, consolidated=False
    )
    assert float(back.temperature.sum()) == float(np.arange(64 * 50).sum())
