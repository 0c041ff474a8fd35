"""The docs are tests: every block a reader is meant to run, run in order against a real ``floe serve``.

Each page gets a fresh data dir, config dir and home, and a ``floe serve`` process whose first start
saved its address and admin token where ``floe.Client()`` and the CLI find them, as ``scripts/serve.sh``
does. Blocks that need outside stores run against the local test servers (``replace`` directives in
the page, see ``tests/docs_runner.py``); the outputs a page shows, such as the messages on the
Troubleshooting page, are checked against what the run printed, so they cannot drift.
"""

from __future__ import annotations

import http.server
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from docs_runner import Page, blocks
from services import LOCALHOST, MOTO_ACCESS_KEY, MOTO_SECRET_KEY, REPO_ROOT, free_port, unique_name

# the pages a reader follows, and what each needs besides a Floe server
# (pages run one after the other on one server, as a reader goes from one to the next; what they need)
PAGES = {
    "first-hour": (("README.md", "docs/quickstart.md"), ()),
    "local": (("docs/storage/local.md",), ("file_root",)),
    "minio": (("docs/storage/minio-ceph.md",), ("moto",)),
    "troubleshooting": (
        ("docs/troubleshooting.md",),
        ("moto", "file_root", "jasmin_like", "skewed", "auth_moto"),
    ),
}

SKEWED_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>RequestTimeTooSkewed</Code>'
    b"<Message>The difference between the request time and the current time is too large.</Message></Error>"
)


class _Skewed(http.server.BaseHTTPRequestHandler):
    """An S3 endpoint whose clock disagrees with everyone's: every request is refused as too skewed."""

    def _refuse(self) -> None:
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(SKEWED_BODY)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(SKEWED_BODY)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _refuse

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def skewed() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer((LOCALHOST, 0), _Skewed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOCALHOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _page_env(tmp_path: Path, server) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOE_", "VIRTUAL_ENV"))}
    home = tmp_path / "home"
    home.mkdir()
    env.update(
        HOME=str(home),
        FLOE_CONFIG_DIR=server.env["FLOE_CONFIG_DIR"],
        PATH=f"{Path(sys.prefix) / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        NO_PROXY="127.0.0.1,localhost",
        COLUMNS="200",
    )
    return env


@pytest.mark.parametrize("walk", list(PAGES))
def test_pages_run(walk: str, tmp_path: Path, floe_factory, approve_device, request) -> None:
    pages, needs = PAGES[walk]
    values: dict[str, str] = {"tmp": str(tmp_path), "unused": f"http://{LOCALHOST}:{free_port()}"}
    extra_args: list[str] = []
    if "file_root" in needs:
        root = tmp_path / "srv"
        root.mkdir()
        values["file_root"] = str(root)
        extra_args += ["--file-root", str(root)]
    if "moto" in needs:
        moto = request.getfixturevalue("moto")
        values.update(
            moto=moto.endpoint,
            bucket=moto.create_bucket(unique_name("lab-data-")),
            key=MOTO_ACCESS_KEY,
            secret=MOTO_SECRET_KEY,
            missing=unique_name("no-such-bucket-"),
        )
    if "jasmin_like" in needs:
        values["jasmin_like"] = request.getfixturevalue("jasmin_like")
    if "skewed" in needs:
        values["skewed"] = request.getfixturevalue("skewed")
    if "auth_moto" in needs:
        auth = request.getfixturevalue("auth_moto")
        values.update(auth_moto=auth.server.endpoint, auth_bucket=auth.bucket, auth_key=auth.writer[0])
    # `floe auth login` polls at the server's interval: 1 s instead of 5 s
    server = floe_factory(extra_args=extra_args, env={"FLOE_DEVICE_INTERVAL_SECONDS": "1"})
    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / ".venv").symlink_to(sys.prefix)  # `source .venv/bin/activate`, as after scripts/serve.sh
    values.update(url=server.url, data_dir=str(server.data_dir))
    env = _page_env(tmp_path, server)
    for page in pages:
        run = Page(
            REPO_ROOT / page,
            env=env,
            cwd=cwd,
            values=values,
            approve=lambda url, email, password: approve_device(url, email, password),
        )
        run.run(update=os.environ.get("FLOE_DOCS_UPDATE") == "1")
        assert run.ran, f"{page}: no block ran"


def test_every_runnable_block_runs_or_says_why_not() -> None:
    """A block a reader would run is run, or carries ``skip REASON``: nothing is left out silently."""
    for pages, _ in PAGES.values():
        for page in pages:
            for block in blocks(REPO_ROOT / page):
                skip = block.directive("skip")
                assert skip is None or skip, f"{page}:{block.line}: `skip` needs a reason"


# fixture shared with the probe's tests: a moto server with IAM authentication switched on
from test_probe import auth_moto  # noqa: E402, F401
