"""The docs are tests: every block a reader is meant to run, run in order against a real ``floe serve``.

Each page gets a fresh data dir, config dir and home, and a ``floe serve`` process whose first start
saved its address and admin token where ``floe.Client()`` and the CLI find them, as ``scripts/serve.sh``
does. Blocks that need outside stores run against the local test servers (``replace`` directives in
the page, see ``tests/docs_runner.py``); the outputs a page shows, such as the messages on the
Troubleshooting page, are checked against what the run printed, so they cannot drift.

Every storage recipe (``docs/storage/*.md``) is in a walk: the S3 family (AWS, STS, IBM COS, R2, Tigris,
JASMIN, the storage README, memory) on moto and a JASMIN-like proxy in front of it, GCS on the GCS
emulator and an OAuth token endpoint stand-in, Azure on Azurite. Their pages work in an org ``my-org``,
which the walk creates first as a site admin would.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from docs_runner import Page, blocks
from services import (
    LOCALHOST,
    MOTO_ACCESS_KEY,
    MOTO_REGION,
    MOTO_SECRET_KEY,
    REPO_ROOT,
    free_port,
    unique_name,
)

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
    # one org admin registering one store after another; the storage README's examples use the
    # `jasmin` bucket config that jasmin.md registered
    "s3-family": (
        (
            "docs/storage/aws-s3.md",
            "docs/storage/aws-sts.md",
            "docs/storage/ibm-cos.md",
            "docs/storage/r2.md",
            "docs/storage/tigris.md",
            "docs/storage/jasmin.md",
            "docs/storage/README.md",
            "docs/storage/memory.md",
        ),
        ("moto", "jasmin_like", "my_org", "s3_keys", "existing_repos"),
    ),
    "gcs": (("docs/storage/gcs.md",), ("gcs", "my_org")),
    "azure": (("docs/storage/azure.md",), ("azurite", "my_org")),
}
STORAGE_DOCS = REPO_ROOT / "docs" / "storage"
# a block nobody runs whose first line reads like a command (`floe ...`, `$ ...`, Python) is a step left out
COMMAND_STARTS = ("floe ", "$ ", "import ", "from ", "client.", "python ", "pip ", "uv ")

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


def _public_read(moto, bucket: str) -> None:
    """Let anyone list and read ``bucket``, as the owner of a public data set does."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    moto.s3_client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def _icechunk_repo_at(moto, bucket: str, prefix: str) -> None:
    """An Icechunk repository with one commit, written straight to ``bucket`` (not through Floe): the
    existing data a page registers with import."""
    import icechunk
    import zarr

    storage = icechunk.s3_storage(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=moto.endpoint,
        allow_http=True,
        force_path_style=True,
        region=MOTO_REGION,
        access_key_id=MOTO_ACCESS_KEY,
        secret_access_key=MOTO_SECRET_KEY,
    )
    session = icechunk.Repository.create(storage).writable_session("main")
    zarr.create_array(session.store, name="t", shape=(3,), chunks=(3,), dtype="i4")[:] = [1, 2, 3]
    session.commit("written before Floe knew it")


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
    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / ".venv").symlink_to(sys.prefix)  # `source .venv/bin/activate`, as after scripts/serve.sh
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
    if "existing_repos" in needs:  # what aws-s3.md and jasmin.md import
        moto = request.getfixturevalue("moto")
        values["public_bucket"] = moto.create_bucket(unique_name("open-bucket-"))
        _public_read(moto, values["public_bucket"])
        values["moto_alias"] = moto.endpoint.replace(LOCALHOST, "localhost")  # another address, same store
        for prefix in ("path/to/icechunk/repo", "path/to/icechunk/cli-repo"):  # Python's, the shell's
            _icechunk_repo_at(moto, values["public_bucket"], prefix)
        _icechunk_repo_at(moto, values["bucket"], "floe/path/in/bucket")
    if "gcs" in needs:
        emulator, tokens = (
            request.getfixturevalue("gcs_emulator"),
            request.getfixturevalue("gcs_token_endpoint"),
        )
        values.update(
            gcs=emulator.endpoint,
            gcs_bucket=emulator.create_bucket(unique_name("docs")),
            gcs_public=emulator.create_bucket(unique_name("public")),
        )
        # the key file the reader downloaded from the console (its token_uri is the stand-in's)
        key = tokens.service_account_key("floe-data@my-project.iam.gserviceaccount.com")
        (cwd / "key.json").write_text(json.dumps(key))
    if "azurite" in needs:
        azurite = request.getfixturevalue("azurite")
        container = azurite.create_container(unique_name("docs-"))
        values.update(
            azurite=azurite.blob_endpoint,
            azure_account=azurite.account_name,
            azure_key=azurite.account_key,
            container=container,
            public_container=azurite.create_container(unique_name("open-"), public=True),
            azure_sas=azurite.container_sas(container),
        )
    # `floe auth login` polls at the server's interval: 1 s instead of 5 s
    server = floe_factory(extra_args=extra_args, env={"FLOE_DEVICE_INTERVAL_SECONDS": "1"})
    values.update(url=server.url, data_dir=str(server.data_dir))
    env = _page_env(tmp_path, server)
    if "s3_keys" in needs:  # the pages' CLI steps take the secret from the environment, as they advise
        env.update(FLOE_SECRET_ACCESS_KEY=values["secret"], R2_KEY_ID=values["key"])
    if "my_org" in needs:  # the org the storage pages work in, made by the site admin
        made = subprocess.run(["floe", "org", "create", "my-org"], env=env, capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
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
    """A block a reader would run is run, or carries ``skip REASON``: nothing is left out silently.
    Every storage recipe is in a walk, so a new one is run as soon as it is written."""
    walked = [page for pages, _ in PAGES.values() for page in pages]
    recipes = sorted(str(path.relative_to(REPO_ROOT)) for path in STORAGE_DOCS.glob("*.md"))
    assert recipes, STORAGE_DOCS
    missing = [page for page in recipes if page not in walked]
    assert not missing, f"storage pages no walk in PAGES runs: {missing}"
    for page in sorted(set(walked)):
        for block in blocks(REPO_ROOT / page):
            where = f"{page}:{block.line}"
            skip = block.directive("skip")
            assert skip is None or skip, f"{where}: `skip` needs a reason"
            assert block.directive("file") != "", f"{where}: `file` needs the file's name"
            if block.kind is None and skip is None and not {"output", "file"} & _directive_names(block):
                first = block.code.lstrip().splitlines()[0] if block.code.strip() else ""
                assert not first.startswith(COMMAND_STARTS), (
                    f"{where}: a ```{block.lang} block that reads like a step ({first!r}) is not run: "
                    "make it ```bash / ```python, or say why not with `skip REASON`"
                )


def _directive_names(block) -> set[str]:
    return {d.partition(" ")[0] for d in block.directives}


# fixture shared with the probe's tests: a moto server with IAM authentication switched on
from test_probe import auth_moto  # noqa: E402, F401
