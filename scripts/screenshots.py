"""Screenshots of the web app for the docs: ``.venv/bin/python scripts/screenshots.py [--out docs/images]``.

Starts a Floe server on a temporary data dir, fills it with the demo org of ``tests/playwright_browser.py``
(a repo ``era5`` with a CF-like ``t2m``, a group, several commits, a tag and a branch; two more repos),
signs in with Playwright driving Debian's Chromium (``/usr/bin/chromium``) and saves PNGs of the main pages
at 1280 px wide, and a few at 390 px (a phone), as ``web-*.png``. Rerunnable: the files are overwritten,
the server and its data are thrown away. Prints what it wrote.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))  # the test suite's helpers start servers and fill them

os.environ.setdefault("ICECHUNK_LOG", "error")  # not icechunk's warning about local folders, once per commit

from playwright.sync_api import sync_playwright  # noqa: E402

from playwright_browser import ADMIN, ANALYSIS, WARM, chromium_path, fill_demo, launch, sign_in  # noqa: E402
from services import log_tail, start_floe  # noqa: E402

WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
MAX_BYTES = 300_000


def pages(snapshots: dict[str, str]) -> list[tuple[str, str, dict, bool]]:
    """(file name, path, viewport, whole page) of every screenshot taken signed in."""
    diff = f"/default/era5/diff?from={snapshots[ANALYSIS]}&to={snapshots[WARM]}"
    return [
        ("web-home.png", "/", WIDE, True),
        ("web-org.png", "/default", WIDE, True),
        ("web-repo.png", "/default/era5", WIDE, True),
        ("web-history.png", "/default/era5/history", WIDE, True),
        ("web-tree.png", "/default/era5/tree", WIDE, True),
        ("web-array.png", "/default/era5/tree/t2m?ref=main&sel=2,:,:", WIDE, True),
        ("web-diff.png", diff, WIDE, True),
        ("web-settings.png", "/default/era5/-/settings", WIDE, False),
        ("web-buckets.png", "/default/-/buckets", WIDE, True),
        ("web-bucket-new.png", "/default/-/buckets/new?platform=s3-compatible", WIDE, False),
        ("web-phone-repo.png", "/default/era5", PHONE, False),
        ("web-phone-array.png", "/default/era5/tree/t2m", PHONE, True),
    ]


def save(png: bytes, target: Path) -> int:
    """Write ``png``; squeezed to 256 colours if it is bigger than ``MAX_BYTES``. Returns the size."""
    if len(png) > MAX_BYTES:
        from PIL import Image

        image = (
            Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        )
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        png = out.getvalue()
    target.write_bytes(png)
    return len(png)


def shoot(context, path: str, full_page: bool) -> bytes:
    page = context.new_page()
    try:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        if page.locator("figure.preview img").count():
            page.wait_for_function(
                "() => { const i = document.querySelector('figure.preview img'); return i.complete && i.naturalWidth > 0 }"
            )
        return page.screenshot(full_page=full_page, animations="disabled")
    finally:
        page.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "images", help="where the PNGs go")
    args = parser.parse_args()
    if chromium_path() is None:
        print(
            "error: Chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
            file=sys.stderr,
        )
        return 1
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="floe-screenshots-"))
    server = None
    written: list[tuple[Path, int]] = []
    try:
        server = start_floe(work / "data")
        demo = fill_demo(server)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                fresh = browser.new_context(base_url=server.url, viewport=WIDE)
                target = out / "web-login.png"
                written.append((target, save(shoot(fresh, "/login", False), target)))
                sign_in(fresh.new_page(), server.url, ADMIN)
                state = fresh.storage_state()
                fresh.close()
                contexts = {}
                for name, path, viewport, full_page in pages(demo.snapshots):
                    key = viewport["width"]
                    if key not in contexts:
                        contexts[key] = browser.new_context(
                            base_url=server.url,
                            viewport=viewport,
                            storage_state=state,
                            is_mobile=viewport is PHONE,
                            has_touch=viewport is PHONE,
                        )
                    target = out / name
                    written.append((target, save(shoot(contexts[key], path, full_page), target)))
                for context in contexts.values():
                    context.close()
            finally:
                browser.close()
    except BaseException:
        if server is not None:
            print(f"--- {server.log_path} (tail) ---\n{log_tail(server.log_path)}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    for target, size in written:
        shown = target.relative_to(REPO_ROOT) if target.is_relative_to(REPO_ROOT) else target
        print(f"wrote {shown} ({size / 1000:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
