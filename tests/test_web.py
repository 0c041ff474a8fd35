"""The web app's browse pages over real HTTP: who sees what, errors as pages with the API's status,
previews that match the data, one-time sign-in links, and org names the pages need kept free.

(The same pages in a real browser, with clicks, keyboards and narrow screens: test_web_browser.py.)
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import zarr
from PIL import Image

import floe
from browser import PASSWORD, Browser, admin, create_user, error_text, form, site_admin_token

ORG = "lab"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A server with org ``lab``: a repo with three commits, a tag and a branch; people in roles."""
    from services import start_floe_in_process

    server = start_floe_in_process(tmp_path_factory.mktemp("web") / "data")
    with admin(server) as http:
        assert http.post("/orgs", json={"name": ORG}).status_code == 201
        assert http.post("/orgs", json={"name": "other"}).status_code == 201
        for email, org, role in [
            ("viewer@example.org", ORG, "viewer"),
            ("writer@example.org", ORG, "member"),
            ("outsider@example.org", "other", "admin"),
        ]:
            create_user(http, email, email.split("@")[0].title())
            assert http.put(f"/orgs/{org}/members/{email}", json={"role": role}).status_code == 200
        for org in (ORG, "other"):
            body = {"nickname": "local", "platform": "file", "name": str(server.data_dir / "storage" / org)}
            assert http.post(f"/orgs/{org}/buckets", json=body).status_code == 201, org
    client = floe.Client(server.url, token=site_admin_token(server))
    repo = client.create_repo(
        f"{ORG}/era5", bucket_config_nickname="local", description="ERA5 sample", metadata={"project": "era5"}
    )
    session = repo.writable_session("main")
    root = zarr.group(session.store)
    t2m = root.create_array(
        "t2m",
        shape=(2, 4, 6),
        chunks=(1, 2, 3),
        dtype="f4",
        dimension_names=("time", "lat", "lon"),
        attributes={"units": "K", "long_name": "2 m temperature"},
    )
    t2m[:] = np.zeros((2, 4, 6), dtype="f4")
    t2m[1, :, 3:] = 1.0  # time 1: left half 0, right half 1
    lat = root.create_array("lat", shape=(4,), chunks=(4,), dtype="f8", dimension_names=("lat",))
    lat[:] = [-45.0, -15.0, 15.0, 45.0]
    first = session.commit("first temperatures")
    session = repo.writable_session("main")
    zarr.open_array(session.store, path="t2m")[0, 0, 0] = 5.0
    second = session.commit("fix one value")
    session = repo.writable_session("main")
    zarr.group(session.store).create_group("sub", attributes={"title": "a group"})
    session.commit("add a group")
    repo.create_tag("v1", first)
    repo.create_branch("dev", second)
    client.create_repo(f"{ORG}/other-thing", bucket_config_nickname="local", metadata={"project": "misc"})
    client.create_repo("other/secret", bucket_config_nickname="local")
    yield server, {"first": first, "second": second}
    server.stop()


def signed_in(server, email: str) -> Browser:
    browser = Browser(server.url)
    assert browser.sign_in(email, PASSWORD).status_code == 303
    return browser


def test_pages_need_a_session_and_come_back_after_sign_in(site):
    server, _ = site
    with Browser(server.url) as browser:
        page = browser.get(f"/{ORG}/era5/history?ref=main")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Flab%2Fera5%2Fhistory%3Fref%3Dmain"
        landed = browser.sign_in("viewer@example.org", PASSWORD, next="/lab/era5/history?ref=main")
        assert landed.headers["location"] == "/lab/era5/history?ref=main"
        image = browser.get(f"/{ORG}/era5/preview/t2m")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    with Browser(server.url) as anonymous:
        assert anonymous.get(f"/{ORG}/era5/preview/t2m").status_code == 401


def test_home_org_and_repo_pages(site):
    server, ids = site
    with signed_in(server, "viewer@example.org") as browser:
        home = browser.get("/")
        assert home.status_code == 200 and f'href="/{ORG}"' in home.text and 'href="/other"' not in home.text
        org = browser.get(f"/{ORG}")
        assert org.status_code == 200
        assert 'href="/lab/era5"' in org.text and 'href="/lab/other-thing"' in org.text
        assert "New repo" not in org.text  # a viewer cannot create repos
        found = browser.get(f"/{ORG}", params={"q": "ERA"})
        assert 'href="/lab/era5"' in found.text and "other-thing" not in found.text
        by_metadata = browser.get(f"/{ORG}", params={"metadata": "project=misc"})
        assert "other-thing" in by_metadata.text and 'href="/lab/era5"' not in by_metadata.text
        bad = browser.get(f"/{ORG}", params={"metadata": "no equals sign"})
        assert bad.status_code == 422 and "write key=value" in error_text(bad)

        repo = browser.get(f"/{ORG}/era5")
        assert repo.status_code == 200
        text = repo.text
        for expected in ("ERA5 sample", "project", "online", "dev", "v1", ids["first"], "add a group"):
            assert expected in text, expected
        assert "client.get_repo(&#34;lab/era5&#34;)" in text  # the snippets name the repo
        assert "/-/settings" not in text  # no Settings tab for a viewer
    with signed_in(server, "writer@example.org") as writer:
        assert "New repo" in writer.get(f"/{ORG}").text
        assert "/lab/era5/-/settings" in writer.get(f"/{ORG}/era5").text


def test_history_tree_and_diff(site):
    server, ids = site
    with signed_in(server, "viewer@example.org") as browser:
        history = browser.get(f"/{ORG}/era5/history", params={"ref": "main"})
        messages = re.findall(
            r"<td>(first temperatures|fix one value|add a group|Repository initialized)</td>", history.text
        )
        assert messages == ["add a group", "fix one value", "first temperatures", "Repository initialized"]
        assert "Administrator" in history.text or "admin" in history.text  # the author of the commits
        tag = browser.get(f"/{ORG}/era5/history", params={"ref": "v1"})
        assert re.findall(r"<td>(first temperatures|fix one value)</td>", tag.text) == ["first temperatures"]

        root = browser.get(f"/{ORG}/era5/tree")
        assert (
            'href="/lab/era5/tree/t2m?ref=main"' in root.text
            and 'href="/lab/era5/tree/sub?ref=main"' in root.text
        )
        old_root = browser.get(f"/{ORG}/era5/tree", params={"ref": "v1"})
        assert "sub/" not in old_root.text  # the group came later
        array = browser.get(f"/{ORG}/era5/tree/t2m")
        for fact in (
            "2 \u00d7 4 \u00d7 6",
            "float32",
            "time, lat, lon",
            "1 \u00d7 2 \u00d7 3",
            "zstd",
            "2 m temperature",
            "bytes",
        ):
            assert fact in array.text, fact
        assert re.search(r"[\d,]+ bytes", array.text)  # the stored size
        by_id = browser.get(f"/{ORG}/era5/tree/t2m", params={"ref": ids["first"]})
        assert by_id.status_code == 200

        diff = browser.get(f"/{ORG}/era5/diff", params={"from": ids["first"], "to": ids["second"]})
        assert diff.status_code == 200
        assert "Chunks written" in diff.text and "/t2m" in diff.text
        added = browser.get(f"/{ORG}/era5/diff", params={"from": "v1", "to": "main"})
        assert "Groups added" in added.text and "/sub" in added.text
        backwards = browser.get(f"/{ORG}/era5/diff", params={"from": "main", "to": "v1"})
        assert backwards.status_code == 422 and "ancestor" in error_text(backwards)


def test_preview_reads_what_it_shows(site):
    server, _ = site
    with signed_in(server, "viewer@example.org") as browser:
        page = browser.get(f"/{ORG}/era5/tree/t2m", params={"sel": "1, :, :"})
        src = re.search(r'<img src="([^"]+)"', page.text).group(1).replace("&amp;", "&")
        assert "sel=1%2C+0%3A4%2C+0%3A6" in src  # the selection, written out
        image = browser.get(src)
        assert image.status_code == 200 and image.headers["x-floe-selection"] == "1, 0:4, 0:6"
        picture = Image.open(io.BytesIO(image.content)).convert("RGB")
        assert picture.size == (800, 480)
        # time 1 is 0 on the left half and 1 on the right: the colours differ across the plot.
        pixels = np.asarray(picture).astype(int)
        row = pixels[240]
        plotted = [
            x for x in range(800) if (row[x] != [255, 255, 255]).any() and abs(row[x] - row[x - 1]).sum() < 5
        ]
        left, right = row[plotted[len(plotted) // 4]], row[plotted[(len(plotted) * 3) // 5]]
        assert abs(left - right).sum() > 100, (left, right)
        line = browser.get(f"/{ORG}/era5/preview/lat")
        assert line.status_code == 200 and line.headers["x-floe-selection"] == "0:4"

        for selection, message in [
            ("1, :", "one entry per dimension (3)"),
            ("9, :, :", "outside a dimension of length 2"),
            ("0, 0, 0", "one dimension as a line or two as an image"),
            ("a, :, :", "'a' is not an index"),
        ]:
            page = browser.get(f"/{ORG}/era5/tree/t2m", params={"sel": selection})
            assert page.status_code == 422 and message in error_text(page), selection
            image = browser.get(f"/{ORG}/era5/preview/t2m", params={"sel": selection})
            assert image.status_code == 422 and message in image.text
        group = browser.get(f"/{ORG}/era5/preview/sub")
        assert group.status_code == 422 and "is a group" in group.text


def test_others_see_nothing_and_bad_input_gets_a_page(site):
    server, _ = site
    with signed_in(server, "outsider@example.org") as browser:
        for url in (
            f"/{ORG}",
            f"/{ORG}/era5",
            f"/{ORG}/era5/history",
            f"/{ORG}/era5/tree/t2m",
            f"/{ORG}/era5/diff",
        ):
            page = browser.get(url)
            assert page.status_code == 404 and "not found" in error_text(page), url
        assert browser.get(f"/{ORG}/era5/preview/t2m").status_code == 404
        assert browser.get("/other/secret").status_code == 200
    with signed_in(server, "viewer@example.org") as browser:
        for url, status, words in [
            ("/nope", 404, "org 'nope' not found"),
            (f"/{ORG}/nope", 404, "repo lab/nope not found"),
            (f"/{ORG}/era5/history?ref=nope", 404, "no branch, tag or snapshot 'nope'"),
            (f"/{ORG}/era5/history?page=0", 422, "page must be between"),
            (f"/{ORG}/era5/history?page=x", 422, "page must be a whole number"),
            (f"/{ORG}/era5/tree/missing", 404, "no group or array at '/missing'"),
            (f"/{ORG}/era5/tree/../../etc", 404, ""),
            (f"/{ORG}/era5/tree/a/%2e%2e/b", 422, "invalid node path"),
            (f"/{ORG}?page=99999999999999999999", 422, "page must be between"),
            (f"/{ORG}/era5/diff?from=nope&to=main", 404, "no branch, tag or snapshot 'nope'"),
        ]:
            page = browser.get(url)
            assert page.status_code == status, (url, page.status_code, page.text[:500])
            assert words in error_text(page) if words else True
        assert browser.get("/static/floe.css").status_code == 200  # the catch-all does not hide files


def test_offline_repo_says_so(site):
    server, _ = site
    with admin(server) as http:
        body = {"mode": "offline", "message": "moving to new storage"}
        assert http.put(f"/orgs/{ORG}/other-thing/status", json=body).status_code == 200
    with signed_in(server, "viewer@example.org") as browser:
        overview = browser.get(f"/{ORG}/other-thing")
        assert overview.status_code == 200 and "moving to new storage" in overview.text
        tree = browser.get(f"/{ORG}/other-thing/tree")
        assert tree.status_code == 423 and "offline (moving to new storage)" in error_text(tree)


def test_reserved_org_names(site):
    """Every first path segment of the server's routes is an org name nobody can take."""
    from floe.models import RESERVED_ORG_NAMES
    from floe.server import arraylake_signin
    from floe.server.app import create_app
    from floe.server.settings import Settings
    from floe.server.web import oidc, routes

    server, _ = site
    app = create_app(Settings.from_options(data_dir=server.data_dir.parent / "reserved-check"))
    paths = list(app.openapi()["paths"]) + [
        r.path for r in routes.router.routes + oidc.router.routes + arraylake_signin.router.routes
    ]
    first = {p.split("/")[1] for p in paths} - {""}
    assert first <= RESERVED_ORG_NAMES, first - RESERVED_ORG_NAMES
    with admin(server) as http:
        for name in ("login", "Static", "orgs", "health"):
            refused = http.post("/orgs", json={"name": name})
            assert refused.status_code == 422 and "reserved" in refused.json()["detail"], name
        assert http.get("/orgs/login").status_code == 404


def test_login_link_signs_in_once(site):
    server, _ = site
    env = {**os.environ, **server.env}
    done = subprocess.run(
        [sys.executable, "-m", "floe", "admin", "login-link", "--email", "ops@example.org", "--url", server.url,
         "--data-dir", str(server.data_dir)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Created ops@example.org as a site admin" in done.stdout
    url = done.stdout.strip().splitlines()[-1]
    assert url.startswith(f"{server.url}/login/link?token=")
    path = url.removeprefix(server.url)
    with Browser(server.url) as browser:
        shown = browser.get(path)
        assert shown.status_code == 200 and "ops@example.org" in shown.text
        assert browser.get(path).status_code == 200  # looking does not use it up
        fields = form(shown, "/login/link")["fields"]
        assert browser.post("/login/link", data={**fields, "csrf": "forged"}).status_code == 403
        signed = browser.post("/login/link", data=fields)
        assert signed.status_code == 303 and signed.headers["location"] == "/"
        home = browser.get("/")
        assert home.status_code == 200 and "site admin" in home.text and f'href="/{ORG}"' in home.text
        assert "floe admin login-link" not in home.text  # the link is not listed among sessions
    with Browser(server.url) as again:
        assert again.get(path).status_code == 401
        csrf = form(again.get("/login"), "/login")["fields"]["csrf"]
        refused = again.post("/login/link", data={"token": fields["token"], "csrf": csrf})
        assert refused.status_code == 401 and "used already or expired" in error_text(refused)
    # The link is not a token: neither the API nor the pages take it.
    token = url.split("token=")[1]
    with admin(server) as http:
        assert http.get("/user", headers={"authorization": f"Bearer {token}"}).status_code == 401
    again_link = subprocess.run(
        [sys.executable, "-m", "floe", "admin", "login-link", "--email", "ops@example.org", "--url", server.url,
         "--data-dir", str(server.data_dir)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again_link.returncode == 0 and "Created" not in again_link.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "floe", "admin", "login-link", "--email", "not-an-email", "--data-dir",
         str(server.data_dir)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: invalid email address")
    assert "Traceback" not in bad.stderr


def test_every_posted_form_carries_the_csrf_token():
    """Each form that posts, in every template, sends the CSRF field (the routes refuse it otherwise)."""
    from importlib.resources import files

    templates = files("floe.server.web") / "templates"
    forms_found = 0
    for template in templates.iterdir():
        text = template.read_text()
        for found in re.finditer(r'<form[^>]*method="post"[^>]*>(.*?)</form>', text, re.S):
            forms_found += 1
            assert 'name="{{ csrf_field }}" value="{{ csrf }}"' in found.group(1), (
                template.name,
                found.group(0)[:200],
            )
    assert forms_found >= 20
