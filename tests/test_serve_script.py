"""``scripts/serve.sh``: installs the first time, then starts without pip (and so without the network)
until pyproject.toml or the version changes."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "scripts" / "serve.sh"


def _fake_venv(venv: Path, log: Path) -> None:
    """A virtualenv whose python records pip runs (and succeeds) and whose floe records its arguments."""
    (venv / "bin").mkdir(parents=True)
    for name, body in {
        "python": f'echo "python $*" >> {log}\n[[ "$1 $2" == "-m pip" ]] && exit 0\nexit 3\n',
        "floe": f'echo "floe $*" >> {log}\n',
    }.items():
        path = venv / "bin" / name
        path.write_text(f"#!/usr/bin/env bash\n{body}")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _serve(venv: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "FLOE_VENV": str(venv), **env}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=full_env, capture_output=True, text=True, timeout=60
    )


def test_serve_installs_once_then_starts_without_pip(tmp_path):
    venv, log = tmp_path / "venv", tmp_path / "calls.log"
    _fake_venv(venv, log)
    (venv / "bin" / "floe").rename(venv / "bin" / "floe-later")  # not installed yet

    first = _serve(venv, "--port", "7901")
    assert first.returncode == 127, first.stderr  # the fake pip installed no floe to start
    assert (venv / ".floe-install-stamp").read_text().strip()
    calls = log.read_text()
    assert "-m pip install --progress-bar on -e .[services,xarray]" in calls, calls
    assert "first time" in first.stderr

    (venv / "bin" / "floe-later").rename(venv / "bin" / "floe")
    log.unlink()
    second = _serve(venv, "--port", "7901")
    assert second.returncode == 0, second.stderr
    assert log.read_text().splitlines() == ["floe serve --port 7901"]  # no pip: no network needed

    (venv / ".floe-install-stamp").write_text("from an older pyproject.toml\n")
    log.unlink()
    third = _serve(venv)
    assert "changed since the last install" in third.stderr
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["python", "floe"]
    log.unlink()
    assert _serve(venv).returncode == 0 and log.read_text().splitlines() == ["floe serve"]
