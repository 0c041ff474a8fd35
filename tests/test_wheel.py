"""The built package works without the source tree: templates, static files and migrations travel in it.

``python -m build`` makes the sdist and, from it, the wheel (so the sdist is complete too). The wheel
is installed into a fresh virtualenv in a folder outside the repository; ``floe serve`` starts from
that virtualenv's own ``floe`` script on a fresh data dir (its catalog made at the newest migration
revision the wheel carries), a person signs in to a page, and a repo is created, written and opened
with the installed client.

To stay fast, the fresh virtualenv gets the package's dependencies from the test environment's
site-packages through a ``.pth`` path entry (a path entry, not a site dir: the editable install of
the source tree there is not picked up); the test checks that ``floe`` itself loads from the wheel.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import httpx
import pytest

from services import LOCALHOST, REPO_ROOT, _http_ok, _popen_logged, free_port, wait_until

SHIPPED = [
    r"floe/server/web/templates/login\.html",
    r"floe/server/web/static/floe\.css",
    r"floe/server/db/migrations/env\.py",
    r"floe/server/db/migrations/versions/0001_\w+\.py",
    r"floe/py\.typed",
]


def _run(*cmd: str, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done


def _run_icechunk_script(py: Path, script: str, names: tuple[str, str], **kwargs) -> str:
    """Run ``script`` and return what it printed, allowing one retry for a known upstream race only.

    Icechunk's Tokio worker threads are not shut down before the interpreter finalizes; one still
    finishing a task as ``Py_Finalize`` runs can make a short-lived process abort (SIGABRT) after all
    its work is done and printed (the same race as lancedb#4175 and pyo3-async-runtimes#40). A process
    that aborts *after* printing the right answer is run once more; with ``-X faulthandler`` the
    failure message shows every thread's stack if it happens twice. Anything else fails at once.
    The script takes a repo name as ``sys.argv[1]``: the retry uses the second of ``names``.
    """
    cmd = (str(py), "-X", "faulthandler", "-c", script)
    done = subprocess.run((*cmd, names[0]), capture_output=True, text=True, timeout=300, **kwargs)
    if done.returncode == -6 and done.stdout.strip():  # aborted at exit, after the work
        done = subprocess.run((*cmd, names[1]), capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the backend pyproject.toml names (hatchling, in the test extra) from this environment
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO_ROOT))
    (wheel,) = out.glob("icefloe-*.whl")
    (sdist,) = out.glob("icefloe-*.tar.gz")
    return wheel, sdist


def test_wheel_and_sdist_carry_the_data_files(built) -> None:
    wheel, _ = built
    names = zipfile.ZipFile(wheel).namelist()
    for pattern in SHIPPED:
        assert any(re.fullmatch(pattern, n) for n in names), f"{pattern} is missing from {wheel.name}"
    migrations = [n for n in names if re.fullmatch(r"floe/server/db/migrations/versions/\d{4}_\w+\.py", n)]
    in_tree = list((REPO_ROOT / "src/floe/server/db/migrations/versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert len(migrations) == len(in_tree)


def test_installed_wheel_serves_signs_in_and_opens_a_repo(built, tmp_path: Path) -> None:
    wheel, _ = built
    home = tmp_path / "outside"  # nowhere near the source tree
    home.mkdir()
    venv = home / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (purelib / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    py, floe_bin = venv / "bin" / "python", venv / "bin" / "floe"
    pip = [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--disable-pip-version-check"]
    _run(*pip, "--no-deps", str(wheel))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOE_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(FLOE_CONFIG_DIR=str(home / "config"), HOME=str(home), NO_PROXY="127.0.0.1,localhost")
    where = _run(str(py), "-c", "import floe; print(floe.__file__)", cwd=home, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), where

    data, port = home / "data", free_port()
    log = home / "serve.log"
    cmd = [str(floe_bin), "serve", "--host", LOCALHOST, "--port", str(port), "--data-dir", str(data)]
    url = f"http://{LOCALHOST}:{port}"
    proc = _popen_logged(cmd, log, env=env, cwd=home)
    try:
        wait_until(lambda: _http_ok(f"{url}/health"), 60, proc, log, what="floe serve from the wheel")
        # the new catalog is at the newest migration revision the installed package carries
        head = max(p.name[:4] for p in (Path(where).parent / "server/db/migrations/versions").glob("0*.py"))
        with sqlite3.connect(data / "floe.db") as db:
            (version,) = db.execute("select version_num from alembic_version").fetchone()
        assert version.startswith(head), (version, head)

        printed = _run(
            *(str(floe_bin), "admin", "login-link", "--email", "you@example.org"),
            *("--data-dir", str(data), "--url", url),
            cwd=home,
            env=env,
        ).stdout
        link = printed.strip().splitlines()[-1]
        assert link.startswith(f"{url}/login/link?token="), printed
        with httpx.Client(follow_redirects=True, timeout=30, trust_env=False) as browser:
            page = browser.get(link)
            assert page.status_code == 200 and "you@example.org" in page.text, page.text[:500]
            assert "<html" in page.text.lower()
            css = browser.get(f"{url}/static/floe.css")
            assert css.status_code == 200 and "{" in css.text

        script = (
            "import sys, numpy as np, zarr, floe\n"
            "name = sys.argv[1]\n"
            "client = floe.Client()\n"
            "repo = client.create_repo(name)\n"
            "s = repo.writable_session('main')\n"
            "zarr.create_array(s.store, name='x', shape=(3,), dtype='i4')[:] = [1, 2, 3]\n"
            "s.commit('from the wheel')\n"
            "r = client.get_repo(name, read_only=True)\n"
            "print(zarr.open_array(r.readonly_session('main').store, path='x')[:].tolist())\n"
        )
        assert (
            _run_icechunk_script(
                py, script, ("default/wheel", "default/wheel-again"), cwd=home, env=env
            ).strip()
            == "[1, 2, 3]"
        )
    finally:
        proc.terminate()
        proc.wait(15)
