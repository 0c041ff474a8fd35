"""The web app in a real browser: Playwright's sync API driving Debian's Chromium (``/usr/bin/chromium``)
against a real ``floe serve``, one server for the module with the demo org of ``tests/playwright_browser.py``.

People click links and fill in forms here, as they would: sign in, click through from the home page to
an org and a repo, read the history and a diff, walk the tree to an array and check that its preview
image shows the data (decoded with Pillow), add a bucket config whose check fails, and see that a viewer
gets no controls (and a 403 for a forged form). Pages must fit a 390 px wide phone, and be usable from
the keyboard. The one-time sign-in link of ``floe admin login-link`` works once.

Without Chromium the tests skip, unless ``FLOE_REQUIRE_CHROMIUM=1`` (``scripts/test.sh`` sets it when
Chromium is installed): then they fail.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from browser import PASSWORD, admin
from playwright_browser import (
    ADMIN,
    ANALYSIS,
    DEV,
    GRID,
    INITIAL,
    MAIN_MESSAGES,
    T2M,
    VIEWER,
    WARM,
    Demo,
    chromium_path,
    fill_demo,
    launch,
    login_link,
    sign_in,
)
from services import FloeServer, free_port, running_floe

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
Image = pytest.importorskip("PIL.Image")

VIRIDIS_LOW, VIRIDIS_HIGH = (68, 1, 84), (253, 231, 37)  # the colours of the smallest and largest value
LINE_BLUE = (31, 119, 180)  # matplotlib's first line colour (C0)
PHONE = {"width": 390, "height": 844}


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    """One headless Chromium for the module (skipped without /usr/bin/chromium, unless required)."""
    if chromium_path() is None:
        reason = "Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("FLOE_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"FLOE_REQUIRE_CHROMIUM=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    with playwright_api.sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def server(chromium, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FloeServer]:
    with running_floe(tmp_path_factory.mktemp("web-browser")) as srv:
        yield srv


@pytest.fixture(scope="module")
def demo(server: FloeServer) -> Demo:
    return fill_demo(server)


@pytest.fixture
def new_context(chromium, server: FloeServer, demo: Demo) -> Iterator:
    """``new_context(**options)``: a fresh browser profile (no cookies) on the server; closed afterwards."""
    contexts = []

    def make(**options):
        context = chromium.new_context(base_url=server.url, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture(scope="module")
def admin_state(chromium, server: FloeServer, demo: Demo) -> dict:
    """The cookies of a browser the org admin signed in with (through the form), for fresh profiles."""
    context = chromium.new_context(base_url=server.url)
    try:
        sign_in(context.new_page(), server.url, ADMIN)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def admin_page(new_context, admin_state: dict):
    """A page of a fresh profile signed in as the org admin."""
    return new_context(storage_state=admin_state).new_page()


def signed_in(new_context, server: FloeServer, email: str, **options):
    """A page of a fresh profile, signed in as ``email`` through the form."""
    page = new_context(**options).new_page()
    sign_in(page, server.url, email)
    return page


# --------------------------------------------------------------------------------------------- helpers


def column(table, index: int) -> list[str]:
    """The texts of one column (0-based) of the rows of ``table`` (a locator)."""
    return [text.strip() for text in table.locator(f"tbody tr td:nth-child({index + 1})").all_inner_texts()]


def wait_for_image(page, selector: str = "figure.preview img") -> tuple[int, int]:
    """Wait until the image has loaded in the page; its natural size."""
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0 }",
        arg=selector,
    )
    return tuple(page.eval_on_selector(selector, "i => [i.naturalWidth, i.naturalHeight]"))


def fetch_png(page, src: str):
    """The image at ``src``, fetched with the page's cookies: (RGB pixels as an array, response headers)."""
    response = page.request.get(src)
    assert response.status == 200, response.text()
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.body()))
    assert image.size == (800, 480)
    return np.asarray(image.convert("RGB"), dtype=int), response.headers


def by(*sizes: int) -> str:
    """A shape as the pages write it: the sizes joined by multiplication signs."""
    return " \N{MULTIPLICATION SIGN} ".join(map(str, sizes))


def near(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int) -> np.ndarray:
    return np.abs(pixels - np.array(colour)).sum(axis=2) < tolerance


def fits_width(page) -> tuple[int, int]:
    return tuple(page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]"))


def broken_headers(page) -> list[str]:
    """Column headers of one word that the page breaks over several lines (a squeezed table)."""
    return page.evaluate(
        """() => [...document.querySelectorAll("main th")].filter(th => {
            const text = th.textContent.trim();
            if (!text || /\\s/.test(text)) return false;
            const range = document.createRange();
            range.selectNodeContents(th);
            return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1;
        }).map(th => th.textContent.trim())"""
    )


def csrf_of(page) -> str:
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    assert token
    return token


# --------------------------------------------------------------------------------------------- the flows


def test_sign_in_through_the_form(page, server: FloeServer):
    page.goto("/default/era5")  # behind sign-in: to the form, and back here afterwards
    assert urlsplit(page.url).path == "/login"
    assert parse_qs(urlsplit(page.url).query) == {"next": ["/default/era5"]}
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("p.error")).to_have_text("email or password is wrong")
    expect(page.get_by_label("Email")).to_have_value(ADMIN)  # what was typed is kept, never the password
    expect(page.get_by_label("Password")).to_have_value("")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/default/era5")
    expect(page.locator("h1")).to_contain_text("default/era5")
    cookie = next(c for c in page.context.cookies() if c["name"] == "floe_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("() => document.cookie").find("floe_session") == -1  # not readable by scripts

    page.get_by_role("link", name=ADMIN).click()  # the header: home
    expect(page.locator("h1")).to_have_text("Ann Admin")
    expect(page.locator("main")).to_contain_text(f"Signed in as {ADMIN}")


def test_click_from_home_to_org_to_repo(admin_page, server: FloeServer, demo: Demo):
    page = admin_page
    page.goto("/")
    assert broken_headers(page) == []  # the sessions table (a long user agent) keeps its words whole
    orgs = page.locator("main table").first
    assert column(orgs, 0) == ["default"] and column(orgs, 1) == ["admin"]
    orgs.get_by_role("link", name="default").click()
    page.wait_for_url(f"{server.url}/default")
    expect(page.locator("h1")).to_have_text("default")
    repos = page.locator("main table")
    assert column(repos, 0) == sorted(["era5", *demo.other_repos])
    expect(page.get_by_text("3 repos.")).to_be_visible()
    expect(page.get_by_role("link", name="New repo")).to_be_visible()  # an admin may create repos

    repos.get_by_role("link", name="era5", exact=True).click()
    page.wait_for_url(f"{server.url}/default/era5")
    main = page.locator("main")
    expect(page.locator("h1")).to_contain_text("default/era5")
    expect(page.locator("h1 .badge")).to_have_text("online")
    expect(main).to_contain_text("ERA5 2 m temperature, a small sample")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("local")  # the bucket config
    expect(facts).to_contain_text("project = era5")
    expect(facts).to_contain_text("kind = reanalysis")
    # icechunk's local folder storage has no conditional writes: Floe's commit leases protect commits
    expect(facts.locator("dt", has_text="Commit protection").locator("+ dd")).to_have_text(
        "commit leases (the store lacks conditional writes)"
    )
    branches, tags = page.locator("main table").nth(0), page.locator("main table").nth(1)
    found = zip(column(branches, 0), column(branches, 1), column(branches, 2), strict=True)
    assert sorted(found) == [("dev", demo.snapshots[DEV], DEV), ("main", demo.snapshots[WARM], WARM)]
    assert column(tags, 0) == ["v1"] and column(tags, 1) == [demo.snapshots[ANALYSIS]]
    expect(page.locator("details pre").first).to_contain_text('client.get_repo("default/era5")')
    tabs = page.get_by_role("navigation", name="Sections").get_by_role("link")
    assert tabs.all_inner_texts() == ["Overview", "History", "Tree", "Compare", "Settings"]


def test_history_and_the_changes_of_a_commit(admin_page, server: FloeServer, demo: Demo):
    page = admin_page
    page.goto("/default/era5")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="History").click()
    expect(page.locator("h1")).to_have_text("History of main")
    history = page.locator("main table")
    assert column(history, 1) == MAIN_MESSAGES  # newest first
    assert broken_headers(page) == []
    assert column(history, 0)[:-1] == [demo.snapshots[m] for m in MAIN_MESSAGES[:-1]]
    assert column(history, 2)[0].startswith("admin")  # the author: the site admin's token
    expect(page.get_by_role("link", name="Older")).to_have_count(0)  # 5 commits: one page
    expect(page.get_by_role("link", name="Newer")).to_have_count(0)

    page.get_by_label("Branch or tag").select_option("dev")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h1")).to_have_text("History of dev")
    assert column(page.locator("main table"), 1) == [DEV, ANALYSIS, T2M, GRID, INITIAL]
    page.get_by_label("Branch or tag").select_option("main")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h1")).to_have_text("History of main")

    # a snapshot id opens the tree as it was then: before the analysis group
    page.get_by_role("link", name=demo.snapshots[T2M]).click()
    expect(page.locator("main")).to_contain_text(f"At {demo.snapshots[T2M]}")
    assert sorted(column(page.locator("main table"), 0)) == ["lat", "lon", "t2m", "time"]
    page.go_back()

    row = page.locator("main table tbody tr", has_text=WARM)
    row.get_by_role("link", name="Changes").click()
    expect(page.locator("h1")).to_have_text("Compare snapshots")
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"from": [demo.snapshots[ANALYSIS]], "to": [demo.snapshots[WARM]]}
    # only chunks of t2m were written (its metadata is unchanged): the table of chunks names it
    assert page.locator("main h2").all_inner_texts() == ["Chunks written"]
    chunks = page.locator("main table")
    assert column(chunks, 0) == ["/t2m"] and column(chunks, 1) == ["1"]  # one time step

    page.go_back()
    page.locator("main table tbody tr", has_text=ANALYSIS).get_by_role("link", name="Changes").click()
    assert page.locator("main h2").all_inner_texts() == ["Groups added", "Arrays added", "Chunks written"]
    expect(page.locator("main ul").nth(0).locator("li")).to_have_text(["/analysis"])
    expect(page.locator("main ul").nth(1).locator("li")).to_have_text(["/analysis/halves"])
    page.locator("main ul").nth(1).get_by_role("link", name="/analysis/halves").click()  # an added array
    # links to its page (so do the arrays in the table of chunks written)
    page.go_back()
    page.locator("main table").get_by_role("link", name="/analysis/halves").click()
    expect(page.locator("h1")).to_contain_text("halves")


def test_tree_array_pages_and_previews_that_match_the_data(admin_page, server: FloeServer, demo: Demo):
    page = admin_page
    page.goto("/default/era5")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Tree").click()
    listing = page.locator("main table")
    kinds = dict(zip(column(listing, 0), column(listing, 1), strict=True))
    assert kinds == {"analysis/": "group", "lat": "array", "lon": "array", "t2m": "array", "time": "array"}

    # a group, then an array of a known pattern with no coordinates: left half 0, right half 1
    listing.get_by_role("link", name="analysis/").click()
    expect(page.locator("h1")).to_have_text("analysis group")
    page.locator("main table").get_by_role("link", name="halves").click()
    expect(page.locator("h1")).to_have_text("halves array")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(by(20, 40))
    expect(facts).to_contain_text("float32")
    expect(facts).to_contain_text(by(10, 20) + " (4 chunks)")
    expect(facts.locator("dt", has_text="Dimensions").locator("+ dd")).to_have_text("unnamed")
    assert wait_for_image(page) == (800, 480)
    src = page.locator("figure.preview img").get_attribute("src")
    assert src == "/default/era5/preview/analysis/halves?ref=main&sel=0%3A20%2C+0%3A40"
    pixels, headers = fetch_png(page, src)
    assert headers["x-floe-selection"] == "0:20, 0:40"
    low_columns = np.flatnonzero(near(pixels, VIRIDIS_LOW, 40).sum(axis=0) > 100)
    high_columns = np.flatnonzero(near(pixels, VIRIDIS_HIGH, 40).sum(axis=0) > 100)
    assert len(low_columns) > 150 and len(high_columns) > 150, (len(low_columns), len(high_columns))
    assert low_columns.max() < high_columns.min()  # zeros on the left, ones on the right
    assert abs(len(low_columns) - len(high_columns)) <= 0.1 * len(low_columns)  # half and half

    # breadcrumbs back to the top; a 1-D coordinate, rising from -85 to 85, draws a rising line
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Tree").click()
    page.locator("main table").get_by_role("link", name="lat", exact=True).click()
    expect(page.locator("h1")).to_have_text("lat array")
    wait_for_image(page)
    pixels, headers = fetch_png(page, page.locator("figure.preview img").get_attribute("src"))
    assert headers["x-floe-selection"] == "0:18"
    rows, columns = np.nonzero(near(pixels, LINE_BLUE, 60))
    assert len(set(columns)) > 300, len(set(columns))  # the line spans most of the width
    xs = np.unique(columns)
    ys = np.array([rows[columns == x].mean() for x in xs])
    assert np.corrcoef(xs, ys)[0, 1] < -0.99  # straight, and up to the right (rows count downwards)
    assert ys[:10].mean() - ys[-10:].mean() > 200

    # the CF-like array: facts, attributes, and a selection picked in the form
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Tree").click()
    page.locator("main table").get_by_role("link", name="t2m").click()
    expect(page.locator("h1")).to_have_text("t2m array")
    expect(facts).to_contain_text(by(4, 18, 36))
    expect(facts).to_contain_text("time, lat, lon")
    expect(facts).to_contain_text(by(1, 18, 36) + " (4 chunks)")
    expect(facts.locator("dt", has_text="Fill value").locator("+ dd")).to_have_text("nan")
    expect(page.locator("main pre")).to_contain_text('"long_name": "2 m temperature"')
    expect(page.locator("main pre")).to_contain_text('"units": "K"')
    expect(page.locator("figure.preview figcaption")).to_have_text("t2m[0, 0:18, 0:36]")
    wait_for_image(page)

    selection = page.get_by_label(re.compile(r"^Selection"))
    expect(selection).to_have_value("0, 0:18, 0:36")
    selection.fill("2, :, :")
    page.get_by_role("button", name="Draw").click()
    expect(page.locator("figure.preview figcaption")).to_have_text("t2m[2, 0:18, 0:36]")
    assert parse_qs(urlsplit(page.url).query) == {"ref": ["main"], "sel": ["2, :, :"]}
    expect(selection).to_have_value("2, 0:18, 0:36")
    assert wait_for_image(page) == (800, 480)
    src = page.locator("figure.preview img").get_attribute("src")
    assert parse_qs(urlsplit(src).query)["sel"] == ["2, 0:18, 0:36"]
    pixels, headers = fetch_png(page, src)
    assert headers["x-floe-selection"] == "2, 0:18, 0:36"
    # latitude increases upwards and it is warmest at the equator: bright across the middle of the map
    bright_rows = np.flatnonzero(near(pixels, VIRIDIS_HIGH, 60).sum(axis=1) > 200)
    dark_rows = np.flatnonzero(near(pixels, VIRIDIS_LOW, 60).sum(axis=1) > 200)
    assert len(bright_rows) and len(dark_rows)
    assert dark_rows.min() < bright_rows.min() and bright_rows.max() < dark_rows.max()

    # a bad selection: the message, and no image
    selection.fill("9, :, :")
    page.get_by_role("button", name="Draw").click()
    expect(page.locator("p.error")).to_have_text("index 9 is outside a dimension of length 4")
    expect(page.locator("figure.preview")).to_have_count(0)
    expect(selection).to_have_value("9, :, :")  # kept, to be corrected
    selection.fill("0, 0, 0")
    page.get_by_role("button", name="Draw").click()
    expect(page.locator("p.error")).to_contain_text("use ':' for one or two")


def test_a_bucket_config_whose_check_fails_is_not_saved(admin_page, server: FloeServer):
    page = admin_page
    page.goto("/default")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Bucket configs").click()
    expect(page.locator("h1")).to_have_text("Bucket configs of default")
    page.get_by_role("link", name="New bucket config").click()
    page.get_by_role("link", name=re.compile(r"^S3-compatible store")).click()
    expect(page.locator("h1")).to_have_text(re.compile(r"^New bucket config: S3-compatible"))
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    page.get_by_label("Nickname").fill("nowhere")
    page.get_by_label("Bucket", exact=True).fill("absent-bucket")
    page.get_by_label("Endpoint URL").fill(nowhere)
    page.get_by_label("Access key id", exact=True).fill("AKIAEXAMPLE")
    page.get_by_label("Secret access key", exact=True).fill("very-secret-value")
    with page.expect_response(lambda r: r.request.method == "POST", timeout=60_000) as posted:
        page.get_by_role("button", name="Check and save").click()
    assert posted.value.status == 424, posted.value.status  # as the API answers: the store is unreachable

    error = page.locator("p.error")
    expect(error).to_have_text(
        f"bucket config refused: cannot reach bucket 'absent-bucket' at {nowhere}: check endpoint_url, "
        "and that the store is up and reachable from the Floe server"
    )
    assert "Traceback" not in page.content() and "very-secret-value" not in page.content()
    expect(page.get_by_label("Nickname")).to_have_value("nowhere")  # kept, to be corrected
    expect(page.get_by_label("Endpoint URL")).to_have_value(nowhere)
    expect(page.get_by_label("Secret access key", exact=True)).to_have_value("")  # never sent back

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Bucket configs").click()
    assert column(page.locator("main table"), 0) == ["local"]  # nothing was saved


def test_a_viewer_sees_no_controls_and_forged_forms_are_refused(new_context, server: FloeServer):
    page = signed_in(new_context, server, VIEWER)
    expect(page.locator("main table").first.locator("td").nth(1)).to_have_text("viewer")
    page.get_by_role("link", name="default", exact=True).click()
    expect(page.locator("h1")).to_have_text("default")
    expect(page.get_by_role("link", name="New repo")).to_have_count(0)
    tabs = page.get_by_role("navigation", name="Sections").get_by_role("link")
    # Viewers may read the bucket configs (not their settings) and the members, and manage neither.
    assert tabs.all_inner_texts() == ["Repos", "Bucket configs", "Members"]
    page.locator("main table").get_by_role("link", name="era5", exact=True).click()
    expect(page.locator("h1")).to_contain_text("default/era5")
    assert tabs.all_inner_texts() == ["Overview", "History", "Tree", "Compare"]  # no Settings
    assert page.locator("main form[method=post]").count() == 0
    for path in ("/default/-/buckets", "/default/-/buckets/local"):
        page.goto(path)
        expect(page.locator("h1")).to_be_visible()
        assert page.locator("main form").count() == 0, path
        expect(page.get_by_role("link", name="New bucket config")).to_have_count(0)
    response = page.goto("/default/era5/-/settings")  # no tab leads here; typed, it offers nothing
    assert response.status in (200, 403), response.status
    assert page.locator("main form").count() == 0, page.locator("main").inner_html()[:2000]

    page.goto("/")
    csrf = csrf_of(page)  # a valid token of this session (its own sessions' sign-out forms carry it)
    forged = {
        "/default/-/new": {"name": "forged-repo"},
        "/default/-/buckets/new": {"platform": "memory", "method": "none", "nickname": "forged", "name": "x"},
        "/default/era5/-/edit": {"description": "forged", "metadata": ""},
        "/default/era5/-/status": {"mode": "offline", "message": "forged"},
        "/default/era5/-/delete": {"confirm": "default/era5"},
        "/default/-/buckets/local/delete": {"confirm": "local"},
        "/default/-/buckets/local/set-default": {},
    }
    for url, fields in forged.items():
        response = page.request.post(url, form={"csrf": csrf, **fields}, max_redirects=0)
        assert response.status == 403, (url, response.status, response.text()[:500])
        assert "may not" in response.text() or "not allowed" in response.text().lower(), url
    with admin(server) as site:
        repo = site.get("/repos/default/era5")
        assert repo.status_code == 200 and repo.json()["description"] != "forged"
        assert repo.json()["status"]["mode"] == "online"
        assert site.get("/repos/default/forged-repo").status_code == 404
        nicknames = {b["nickname"] for b in site.get("/orgs/default/buckets").json()}
        assert nicknames == {"local"}
    # the token was a good one: the same post that signs out works
    response = page.request.post("/logout", form={"csrf": csrf}, max_redirects=0)
    assert response.status == 303 and response.headers["location"] == "/login"


PHONE_PAGES = [
    "/",
    "/default",
    "/default/era5",
    "/default/era5/history",
    "/default/era5/tree",
    "/default/era5/tree/t2m",
    "/default/era5/tree/analysis/halves",
    "/default/era5/diff?from=v1&to=main",
    "/default/era5/-/settings",
    "/default/-/buckets",
    "/default/-/buckets/local",
    "/default/-/buckets/new?platform=s3-compatible",
]


def test_pages_fit_a_phone(new_context, admin_state: dict):
    """At 390 px no page scrolls sideways (wide tables scroll inside their ``.scroll`` box)."""
    page = new_context(storage_state=admin_state, viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    too_wide = []
    for path in PHONE_PAGES:
        response = page.goto(path)
        assert response.status == 200, path
        width, viewport = fits_width(page)
        assert viewport == PHONE["width"]
        if width > viewport:
            too_wide.append(f"{path}: {width} px wide")
        if "/tree/" in path:
            wait_for_image(page)
            box = page.locator("figure.preview img").bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport, path  # it shrinks
    assert not too_wide, f"pages that scroll sideways in a {PHONE['width']} px window: {too_wide}"


def test_keyboard_skip_link_and_search(admin_page, server: FloeServer):
    page = admin_page
    page.goto("/default")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.textContent, document.activeElement.className]")
    assert focused == ["Skip to content", "skip"]
    box = page.locator("a.skip").bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    assert urlsplit(page.url).fragment == "main"
    page.keyboard.press("Tab")  # the next stop is inside the content: the search field
    assert page.evaluate("() => document.activeElement.id") == "q"
    page.keyboard.type("cmip")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"[?&]q=cmip"))
    expect(page.get_by_label("Name contains")).to_have_value("cmip")
    assert column(page.locator("main table"), 0) == ["cmip6-tas"]
    expect(page.get_by_text("1 repo found.")).to_be_visible()

    page.get_by_label("Name contains").fill("")
    page.get_by_label("Metadata").focus()
    page.keyboard.type("kind=reanalysis")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"metadata=kind"))
    assert column(page.locator("main table"), 0) == ["era5"]
    page.get_by_label("Metadata").fill("no equals sign")
    page.get_by_label("Metadata").press("Enter")
    expect(page.locator("p.error")).to_contain_text("write key=value")


def test_a_one_time_sign_in_link_works_once(new_context, server: FloeServer):
    url = login_link(server, "ops@example.org")  # a new person: created as a site admin
    assert url.startswith(f"{server.url}/login/link?token=")
    first, second = new_context().new_page(), new_context().new_page()
    for page in (first, second):
        page.goto(url)
        expect(page.locator("main")).to_contain_text("This one-time link signs you in as ops@example.org")
    first.get_by_role("button", name="Sign in as ops@example.org").click()
    first.wait_for_url(f"{server.url}/")
    expect(first.locator("main")).to_contain_text("Signed in as ops@example.org · site admin")
    assert column(first.locator("main table").first, 0) == ["default"]

    # the other browser opened the link too, but it has been used now
    second.get_by_role("button", name="Sign in as ops@example.org").click()
    expect(second.locator("p.error")).to_be_visible()
    assert not [c for c in second.context.cookies() if c["name"] == "floe_session"]
    third = new_context().new_page()
    response = third.goto(url)
    assert response.status == 401
    expect(third.locator("p.error")).to_be_visible()
    expect(third.get_by_role("button")).to_have_count(0)
    third.goto("/")
    assert urlsplit(third.url).path == "/login"
