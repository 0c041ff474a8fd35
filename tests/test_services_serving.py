"""The data services over real HTTP, read by real outside clients: xarray and zarr over fsspec's HTTP
(Zarr), CoverageJSON from OGC EDR, WMS capabilities and maps, XYZ map tiles, OPeNDAP with pydap;
discovery; private and public access (Bearer, Basic, another org's token, a repo list); a commit
served after the cache's time-to-live; 404s for unknown services, refs and groups; no 500 for bad
requests; and the request log, one line per request, without tokens.
"""

from __future__ import annotations

import base64
import io
import time

import httpx
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr
from PIL import Image

import floe
from browser import admin, site_admin_token

ORG = "lab"
LAT = np.linspace(-45.0, 45.0, 10)  # every 10 degrees
LON = np.linspace(-95.0, 95.0, 20)
TIMES = pd.date_range("2024-01-01", periods=3, freq="D")


def cf_dataset(offset: float = 0.0) -> xr.Dataset:
    """time (3), lat (10), lon (20) with CF attributes, and ``temp`` in kelvin."""
    temp = (np.arange(3 * 10 * 20, dtype="f4").reshape(3, 10, 20) + 250.0 + offset).astype("f4")
    return xr.Dataset(
        {
            "temp": (
                ("time", "lat", "lon"),
                temp,
                {"units": "K", "standard_name": "air_temperature", "long_name": "air temperature"},
            )
        },
        coords={
            "time": ("time", TIMES, {"standard_name": "time", "axis": "T"}),
            "lat": ("lat", LAT, {"units": "degrees_north", "standard_name": "latitude", "axis": "Y"}),
            "lon": ("lon", LON, {"units": "degrees_east", "standard_name": "longitude", "axis": "X"}),
        },
        attrs={"title": "sample temperatures"},
    )


def ocean_dataset() -> xr.Dataset:
    sst = np.linspace(270.0, 300.0, 2 * 4 * 5, dtype="f4").reshape(2, 4, 5)
    return xr.Dataset(
        {"sst": (("time", "lat", "lon"), sst, {"units": "K", "standard_name": "sea_surface_temperature"})},
        coords={
            "time": ("time", TIMES[:2], {"standard_name": "time", "axis": "T"}),
            "lat": (
                "lat",
                [-30.0, -10.0, 10.0, 30.0],
                {"units": "degrees_north", "standard_name": "latitude"},
            ),
            "lon": (
                "lon",
                [0.0, 10.0, 20.0, 30.0, 40.0],
                {"units": "degrees_east", "standard_name": "longitude"},
            ),
        },
    )


def write(repo, ds: xr.Dataset, message: str, group: str | None = None, *, new: bool = True) -> str:
    session = repo.writable_session("main")
    encoding = {"temp": {"chunks": (1, 5, 10)}} if new and "temp" in ds else None
    ds.to_zarr(session.store, group=group, consolidated=False, zarr_format=3, mode="a", encoding=encoding)
    return session.commit(message)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A server with org ``lab`` (repos era5, second, live) and ``other``, tokens, and services."""
    from services import start_floe_in_process

    server = start_floe_in_process(tmp_path_factory.mktemp("serving") / "data")
    client = floe.Client(server.url, token=site_admin_token(server))
    with admin(server) as http:
        for org in (ORG, "other"):
            assert http.post("/orgs", json={"name": org}).status_code == 201
            body = {"nickname": "local", "platform": "file", "name": str(server.data_dir / "storage" / org)}
            assert http.post(f"/orgs/{org}/buckets", json=body).status_code == 201
        tokens = {}
        for org, name in ((ORG, "reader"), ("other", "outsider")):
            made = http.post(f"/orgs/{org}/api-clients", json={"name": name, "role": "viewer"})
            assert made.status_code == 201, made.text
            tokens[name] = made.json()["token"]

        era5 = client.create_repo(f"{ORG}/era5", bucket_config_nickname="local")
        first = write(era5, cf_dataset(), "temperatures")
        write(era5, ocean_dataset(), "ocean", group="ocean")
        session = era5.writable_session("main")
        zarr.open_group(session.store, mode="a").create_group("empty", attributes={"note": "no arrays"})
        session.commit("an empty group")
        era5.create_tag("v1", first)
        second = client.create_repo(f"{ORG}/second", bucket_config_nickname="local")
        write(second, cf_dataset(offset=1000.0), "other temperatures")
        live = client.create_repo(f"{ORG}/live", bucket_config_nickname="local")
        write(live, cf_dataset(), "first")

        urls = {}
        for config in [
            {"service_type": "zarr"},
            {"service_type": "edr", "store_cache_ttl": 1},
            {"service_type": "wms"},
            {"service_type": "tiles", "is_public": True, "repos": ["era5"]},
            {"service_type": "dap2"},
            {"service_type": "edr", "deployment_name": "edr-public", "is_public": True, "repos": ["era5"]},
            {"service_type": "edr", "deployment_name": "audit", "cache_max_age": 30},
            {"service_type": "edr", "deployment_name": "cached"},  # store_cache_ttl: 60 s
        ]:
            body = {"org": ORG, "is_public": False, **config}
            made = http.post(f"/compute/orgs/{ORG}/services", json=body)
            assert made.status_code == 201, made.text
            info = made.json()
            assert info["status"] == "available", info
            urls[info["name"]] = info["url"]
    yield {
        "server": server,
        "urls": urls,
        "tokens": tokens,
        "repos": {"era5": era5, "second": second, "live": live},
        "first": first,
    }
    server.stop()


def http_for(token: str | None = None) -> httpx.Client:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(headers=headers, timeout=60, trust_env=False)


def expected(repo, ref: str = "main", group: str | None = None) -> xr.Dataset:
    session = repo.readonly_session(ref) if ref == "main" else repo.readonly_session(tag=ref)
    return xr.open_zarr(session.store, group=group, consolidated=False).load()


def test_enabled_services_have_their_urls(site):
    server, urls = site["server"], site["urls"]
    assert urls["edr"] == f"{server.url}/services/edr/{ORG}"
    assert urls["edr-public"] == f"{server.url}/services/edr-public/{ORG}"


def test_zarr_over_http_with_xarray_and_zarr(site):
    url, token = site["urls"]["zarr"], site["tokens"]["reader"]
    want = expected(site["repos"]["era5"])
    headers = {"Authorization": f"Bearer {token}"}
    store = zarr.storage.FsspecStore.from_url(
        f"{url}/era5/main/zarr", storage_options={"headers": headers}, read_only=True
    )
    got = xr.open_zarr(store).load()
    np.testing.assert_array_equal(got.temp.values, want.temp.values)
    np.testing.assert_array_equal(got.lat.values, LAT)
    np.testing.assert_array_equal(got.time.values, TIMES.values)
    assert got.temp.attrs["units"] == "K" and got.lat.attrs["standard_name"] == "latitude"

    # a subgroup, with Basic (org as user, token as password), read through zarr alone
    basic = base64.b64encode(f"{ORG}:{token}".encode()).decode()
    sub = zarr.storage.FsspecStore.from_url(
        f"{url}/era5/main/ocean/zarr",
        storage_options={"headers": {"Authorization": f"Basic {basic}"}},
        read_only=True,
    )
    group = zarr.open_group(sub, mode="r")
    np.testing.assert_array_equal(group["sst"][:], expected(site["repos"]["era5"], group="ocean").sst.values)

    with http_for(token) as http:
        head = http.head(f"{url}/era5/main/zarr/zarr.json")
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
        # a chunk that does not exist is the plugin's 404, never a 500
        assert http.get(f"{url}/era5/main/zarr/temp/c/9/9/9").status_code == 404
        assert http.get(f"{url}/era5/main/zarr/nope/zarr.json").status_code == 404


def test_edr_position_and_area_give_the_repos_values(site):
    url, token = site["urls"]["edr"], site["tokens"]["reader"]
    want = expected(site["repos"]["era5"])
    with http_for(token) as http:
        answer = http.get(
            f"{url}/era5/main/edr/position", params={"coords": "POINT(15 25)", "parameter-name": "temp"}
        )
        assert answer.status_code == 200, answer.text
        cov = answer.json()
        assert cov["type"] == "Coverage"
        assert cov["domain"]["axes"]["x"]["values"] == [15.0] and cov["domain"]["axes"]["y"]["values"] == [
            25.0
        ]
        assert cov["ranges"]["temp"]["values"] == want.temp.sel(lat=25.0, lon=15.0).values.tolist()
        assert cov["parameters"]["temp"]["unit"]["label"]["en"] == "K"

        area = http.get(
            f"{url}/era5/main/edr/area",
            params={"coords": "POLYGON((-1 -1, 21 -1, 21 21, -1 21, -1 -1))", "parameter-name": "temp"},
        )
        assert area.status_code == 200, area.text
        cov = area.json()
        xs, ys = cov["domain"]["axes"]["x"]["values"], cov["domain"]["axes"]["y"]["values"]
        values = np.array(cov["ranges"]["temp"]["values"]).reshape(cov["ranges"]["temp"]["shape"])
        assert sorted(set(xs)) == [5.0, 15.0] and sorted(set(ys)) == [5.0, 15.0]
        axis_names = cov["ranges"]["temp"]["axisNames"]
        assert axis_names[0] == "t"
        for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
            assert values[:, k].tolist() == want.temp.sel(lat=y, lon=x).values.tolist()

        # the subgroup's dataset, and a tag (the first commit)
        sst = http.get(
            f"{url}/era5/main/ocean/edr/position", params={"coords": "POINT(20 10)", "parameter-name": "sst"}
        )
        assert sst.status_code == 200, sst.text
        ocean = expected(site["repos"]["era5"], group="ocean")
        assert sst.json()["ranges"]["sst"]["values"] == pytest.approx(
            ocean.sst.sel(lat=10.0, lon=20.0).values.tolist()
        )
        tagged = http.get(
            f"{url}/era5/v1/edr/position", params={"coords": "POINT(15 25)", "parameter-name": "temp"}
        )
        assert tagged.status_code == 200 and tagged.json()["ranges"]["temp"]["values"] == (
            want.temp.sel(lat=25.0, lon=15.0).values.tolist()
        )
        one_day = http.get(
            f"{url}/era5/main/edr/position",
            params={"coords": "POINT(15 25)", "parameter-name": "temp", "datetime": "2024-01-02T00:00:00"},
        )
        assert one_day.status_code == 200, one_day.text
        assert one_day.json()["ranges"]["temp"]["values"] == [
            float(want.temp.sel(lat=25.0, lon=15.0, time="2024-01-02").values)
        ]
        csv = http.get(
            f"{url}/era5/main/edr/position",
            params={"coords": "POINT(15 25)", "parameter-name": "temp", "f": "csv"},
        )
        assert csv.status_code == 200 and "temp" in csv.text.splitlines()[0], csv.text
        collection = http.get(f"{url}/era5/main/edr/")
        assert collection.status_code == 200 and "/datasets/" not in collection.text, collection.text
        posted = http.post(
            f"{url}/era5/main/edr/position",
            params={"parameter-name": "temp"},
            content=b'{"type": "Point", "coordinates": [15, 25]}',
            headers={"content-type": "application/geo+json"},
        )
        assert posted.status_code == 200, posted.text
        assert posted.json()["ranges"]["temp"]["values"] == want.temp.sel(lat=25.0, lon=15.0).values.tolist()
        by_snapshot = http.get(f"{url}/era5/{site['first']}/edr/position", params={"coords": "POINT(15 25)"})
        assert by_snapshot.status_code == 200, by_snapshot.text

        # bad input is the plugin's 4xx, never a 500
        unknown = http.get(
            f"{url}/era5/main/edr/position", params={"coords": "POINT(15 25)", "parameter-name": "nope"}
        )
        assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
        assert http.get(f"{url}/era5/main/edr/position", params={"coords": "POINT(oops"}).status_code == 422
        assert http.get(f"{url}/era5/main/edr/position").status_code == 422
        assert http.get(f"{url}/era5/main/edr/area", params={"coords": "POLYGON((1 1))"}).status_code < 500


def test_wms_capabilities_and_map(site):
    url, token = site["urls"]["wms"], site["tokens"]["reader"]
    base = f"{url}/era5/main/wms"
    with http_for(token) as http:
        caps = http.get(base, params={"service": "WMS", "request": "GetCapabilities", "version": "1.3.0"})
        assert caps.status_code == 200, caps.text
        assert "<Name>temp</Name>" in caps.text
        assert "/datasets/" not in caps.text  # the links are the public address
        assert f'xlink:href="{base}"' in caps.text
        picture = http.get(
            base,
            params={
                "service": "WMS", "request": "GetMap", "version": "1.3.0", "layers": "temp",
                "styles": "raster/default", "crs": "EPSG:4326", "bbox": "-45,-95,45,95",
                "width": "64", "height": "32", "format": "image/png", "colorscalerange": "250,850",
                "time": "2024-01-02T00:00:00Z",
            },
        )  # fmt: skip
        assert picture.status_code == 200, picture.text
        assert picture.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(picture.content))
        assert image.format == "PNG" and image.size == (64, 32)
        garbage = http.get(base, params={"service": "WMS", "request": "GetMap", "layers": "nope"})
        assert 400 <= garbage.status_code < 500, garbage.text


def test_tiles_public_for_one_repo(site):
    url = site["urls"]["tiles"]
    with http_for() as anonymous:
        tile = anonymous.get(
            f"{url}/era5/main/tiles/WebMercatorQuad/1/0/1",
            params={"variables": "temp", "width": 256, "height": 256, "colorscalerange": "250,850"},
        )
        assert tile.status_code == 200, tile.text
        assert tile.headers["access-control-allow-origin"] == "*"
        image = Image.open(io.BytesIO(tile.content))
        assert image.format == "PNG" and image.size == (256, 256)
        tilejson = anonymous.get(
            f"{url}/era5/main/tiles/WebMercatorQuad/tilejson.json",
            params={"variables": "temp", "width": 256, "height": 256},
        )
        assert tilejson.status_code == 200, tilejson.text
        assert tilejson.json()["tiles"][0].startswith(
            f"{url}/era5/main/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
        )
        bad = anonymous.get(
            f"{url}/era5/main/tiles/WebMercatorQuad/1/0/1",
            params={"variables": "nope", "width": 256, "height": 256},
        )
        assert bad.status_code == 422, bad.text
        refused = anonymous.get(
            f"{url}/second/main/tiles/WebMercatorQuad/1/0/1",
            params={"variables": "temp", "width": 256, "height": 256},
        )
        assert refused.status_code == 404 and "does not serve" in refused.json()["detail"]


def test_opendap_with_pydap(site):
    import requests
    from pydap.client import open_url

    url, token = site["urls"]["dap2"], site["tokens"]["reader"]
    want = expected(site["repos"]["era5"])
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"  # pydap passes on a Bearer header only
    remote = open_url(f"{url}/era5/main/dap2", session=session, protocol="dap2")
    assert set(remote.keys()) >= {"temp", "lat", "lon", "time"}
    np.testing.assert_array_equal(np.asarray(remote["temp"][:]), want.temp.values)
    np.testing.assert_array_equal(np.asarray(remote["temp"][1, 2:4, 5]).ravel(), want.temp.values[1, 2:4, 5])
    np.testing.assert_array_equal(np.asarray(remote["lat"][:]), LAT)
    assert remote["temp"].attributes["units"] == "K"
    np.testing.assert_array_equal(np.asarray(remote["temp"][:, ::2, 1:7:3]), want.temp.values[:, ::2, 1:7:3])

    # netCDF's own DAP client, with Basic credentials in the URL (the org as user, the token as password)
    import netCDF4

    with netCDF4.Dataset(url.replace("http://", f"http://{ORG}:{token}@") + "/era5/main/ocean/dap2") as nc:
        ocean = expected(site["repos"]["era5"], group="ocean")
        np.testing.assert_array_equal(nc["sst"][:], ocean.sst.values)
        np.testing.assert_array_equal(nc["sst"][1, ::2, 1:5:2], ocean.sst.values[1, ::2, 1:5:2])
        assert nc["sst"].units == "K"
    with http_for(token) as http:  # Flux's name of the segment works too
        dds = http.get(f"{url}/era5/main/opendap.dds")
        assert dds.status_code == 200 and "Float32 temp[time = 3][lat = 10][lon = 20]" in dds.text


def test_discovery_lists_repos_refs_and_datasets(site):
    url, token = site["urls"]["edr"], site["tokens"]["reader"]
    with http_for(token) as http:
        root = http.get(f"{url}/")
        assert root.status_code == 200 and root.json()["discovery"] == f"{url}/_meta/discovery"
        listed = http.get(f"{url}/_meta/discovery")
        assert listed.status_code == 200, listed.text
        assert [r["name"] for r in listed.json()["repos"]] == ["era5", "live", "second"]
        refs = http.get(listed.json()["repos"][0]["url"]).json()
        assert [b["name"] for b in refs["branches"]] == ["main"] and [t["name"] for t in refs["tags"]] == [
            "v1"
        ]
        found = http.get(refs["branches"][0]["url"]).json()
        by_group = {d["group"]: d for d in found["datasets"]}
        assert set(by_group) == {"/", "/ocean"}  # /empty holds no arrays
        assert by_group["/"]["url"] == f"{url}/era5/main/edr"
        assert by_group["/ocean"]["url"] == f"{url}/era5/main/ocean/edr"
        assert "sst" in by_group["/ocean"]["arrays"]
        answer = http.get(f"{by_group['/ocean']['url']}/position", params={"coords": "POINT(20 10)"})
        assert answer.status_code == 200, answer.text
        below = http.get(f"{url}/_meta/discovery/era5/main", params={"group": "ocean"}).json()
        assert [d["group"] for d in below["datasets"]] == ["/ocean"]
    with http_for() as anonymous:
        public = anonymous.get(f"{site['urls']['edr-public']}/_meta/discovery")
        assert public.status_code == 200 and [r["name"] for r in public.json()["repos"]] == ["era5"]
        assert anonymous.get(f"{url}/_meta/discovery").status_code == 401


def test_private_and_public_access(site):
    url, tokens = site["urls"]["edr"], site["tokens"]
    point = {"coords": "POINT(15 25)", "parameter-name": "temp"}
    target = f"{url}/era5/main/edr/position"
    with http_for() as anonymous:
        refused = anonymous.get(target, params=point)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Basic realm="floe"'
        assert refused.json()["error"] == "unauthenticated"
        assert anonymous.get(target, params=point, auth=(ORG, "not-a-token")).status_code == 401
        assert anonymous.get(target, params=point, auth=(ORG, tokens["reader"])).status_code == 200
        public = f"{site['urls']['edr-public']}"
        assert anonymous.get(f"{public}/era5/main/edr/position", params=point).status_code == 200
        assert anonymous.get(f"{public}/second/main/edr/position", params=point).status_code == 404
    with http_for(tokens["outsider"]) as outsider:
        assert outsider.get(target, params=point).status_code == 404
        assert outsider.get(f"{url}/_meta/discovery").status_code == 404
        # a token never gets less than no token on a public service
        assert (
            outsider.get(f"{site['urls']['edr-public']}/era5/main/edr/position", params=point).status_code
            == 200
        )
    with http_for(tokens["reader"]) as reader:
        assert reader.get(target, params=point).status_code == 200


def test_unknown_things_are_404(site):
    url, token = site["urls"]["edr"], site["tokens"]["reader"]
    server = site["server"]
    point = {"coords": "POINT(15 25)"}
    with http_for(token) as http:
        assert (
            http.get(f"{server.url}/services/nope/{ORG}/era5/main/edr/position", params=point).status_code
            == 404
        )
        assert (
            http.get(f"{server.url}/services/edr/nope/era5/main/edr/position", params=point).status_code
            == 404
        )
        assert http.get(f"{url}/nope/main/edr/position", params=point).status_code == 404
        ref = http.get(f"{url}/era5/no-such-ref/edr/position", params=point)
        assert ref.status_code == 404 and "no-such-ref" in ref.json()["detail"]
        group = http.get(f"{url}/era5/main/no/such/edr/position", params=point)
        assert group.status_code == 404 and "no group" in group.json()["detail"]
        empty = http.get(f"{url}/era5/main/empty/edr/position", params=point)
        assert empty.status_code == 404 and "not a dataset" in empty.json()["detail"]
        array = http.get(f"{url}/era5/main/temp/edr/position", params=point)
        assert array.status_code == 404 and "is an array" in array.json()["detail"]
        no_protocol = http.get(f"{url}/era5/main/wms")
        assert no_protocol.status_code == 404 and "/REF/" in no_protocol.json()["detail"]
        assert http.get(f"{url}/era5/main/../edr/position", params=point).status_code in (404, 422)
        assert http.get(f"{url}/_meta/nothing").status_code == 404


def test_a_commit_is_served_after_the_ttl(site):
    """``edr`` keeps datasets 1 s, ``cached`` 60 s (the default): the commit shows in the first only."""
    url, cached, token = site["urls"]["edr"], site["urls"]["cached"], site["tokens"]["reader"]
    live = site["repos"]["live"]
    point = {"coords": "POINT(15 25)", "parameter-name": "temp"}
    before = cf_dataset().temp.sel(lat=25.0, lon=15.0).values.tolist()

    def values(service: str) -> list[float]:
        answer = http.get(f"{service}/live/main/edr/position", params=point)
        assert answer.status_code == 200, answer.text
        return answer.json()["ranges"]["temp"]["values"]

    with http_for(token) as http:
        assert values(url) == before and values(cached) == before
        write(live, cf_dataset(offset=5000.0), "warmer", new=False)
        time.sleep(1.3)
        assert values(url) == [v + 5000.0 for v in before]
        assert values(cached) == before  # still the dataset it opened, for up to 60 s
        snapshot = live.lookup_branch("main")
        by_id = http.get(f"{cached}/live/{snapshot}/edr/position", params=point)
        assert by_id.json()["ranges"]["temp"]["values"] == [v + 5000.0 for v in before]


def test_logs_have_one_line_per_request_and_no_token(site):
    url, token = site["urls"]["audit"], site["tokens"]["reader"]
    secret = "floe_not_a_real_token_but_secret"
    requests_made = []
    with http_for(token) as http:
        for path, params, auth in [
            ("/era5/main/edr/position", {"coords": "POINT(15 25)", "parameter-name": "temp"}, None),
            ("/era5/main/edr/position", {"coords": "POINT(15 25)", "token": secret}, (ORG, token)),
            ("/era5/nope/edr/position", {"coords": "POINT(15 25)"}, None),
            ("/_meta/discovery", {}, None),
        ]:
            answer = http.get(f"{url}{path}", params=params, auth=auth)
            requests_made.append((path, answer.status_code))
            if answer.status_code == 200:
                assert answer.headers["cache-control"] == "private, max-age=30"
        with http_for() as anonymous:
            assert (
                anonymous.get(f"{url}/era5/main/edr/position", params={"coords": "POINT(1 1)"}).status_code
                == 401
            )
            requests_made.append(("/era5/main/edr/position", 401))
    with admin(site["server"]) as management:
        text = management.get(f"/compute/orgs/{ORG}/services/audit/logs").text
    lines = text.splitlines()
    assert len(lines) == len(requests_made), text
    for line, (path, status) in zip(lines, requests_made, strict=True):
        assert f"GET /services/audit/{ORG}{path}" in line and f" {status} " in line and " ms " in line
    assert lines[0].endswith("reader") and lines[-1].endswith("anonymous")
    assert "parameter-name=temp" in lines[0]
    assert secret not in text and token not in text and "token=" not in text


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_a_missing_package_answers_503(site, monkeypatch):
    """A server without a protocol's package says what to install (in-process, on the same database)."""
    from fastapi.testclient import TestClient

    from floe.server.app import create_app
    from floe.server.catalog.services import ServiceState
    from floe.server.serving import routing
    from floe.server.settings import Settings

    message = "the wms service needs the xpublish_wms package, which this server lacks"
    monkeypatch.setattr(routing, "availability", lambda protocol: (ServiceState.error, message))
    app = create_app(Settings.from_options(data_dir=site["server"].data_dir), run_migrations=False)
    with TestClient(app) as client:
        headers = {"authorization": f"Bearer {site['tokens']['reader']}"}
        answer = client.get(
            f"/services/wms/{ORG}/era5/main/wms", params={"request": "GetCapabilities"}, headers=headers
        )
        assert answer.status_code == 503 and answer.json() == {
            "detail": message,
            "error": "service_unavailable",
        }
        assert client.get(f"/services/wms/{ORG}/_meta/discovery", headers=headers).status_code == 200
