"""Running the ``floe`` command as a real subprocess against a test server, for the CLI tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from services import FloeServer

CLI_TIMEOUT = 120


@dataclass
class Result:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self):
        assert self.code == 0, self.describe()
        return json.loads(self.out)

    def describe(self) -> str:
        return f"floe {' '.join(self.args)} -> {self.code}\n--- stdout ---\n{self.out}\n--- stderr ---\n{self.err}"


class Floe:
    """Runs ``python -m floe ...`` against one server, remembering every output.

    Commands run with ``token`` (default: the server's admin token) in FLOE_TOKEN; pass
    ``token="..."`` for another, or ``token=None`` to run with no FLOE_TOKEN at all.
    """

    def __init__(self, server: FloeServer, config_dir: Path, token: str | None = None) -> None:
        self.server = server
        self.config_dir = config_dir
        self.token = token or server.token
        self.outputs: list[str] = []

    def env(self, token: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOE_", "ICECHUNK_LOG"))}
        env.update(
            FLOE_SERVICE_URI=self.server.url,
            FLOE_CONFIG_DIR=str(self.config_dir),
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
            COLUMNS="200",
        )
        if token:
            env["FLOE_TOKEN"] = token
        env.update(extra or {})
        return env

    def __call__(
        self,
        *args: str,
        token: str | bool | None = True,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "floe", *args],
            env=self.env(self.token if token is True else token or None, env),
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
        )
        self.outputs += [done.stdout, done.stderr]
        return Result(tuple(args), done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, **kwargs) -> Result:
        result = self(*args, **kwargs)
        assert result.code == 0, result.describe()
        return result


def error_line(result: Result, code: int | tuple[int, ...]) -> str:
    """Assert the command failed with ``code`` and exactly one line on stderr, no traceback; return it."""
    codes = (code,) if isinstance(code, int) else code
    assert result.code in codes, result.describe()
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.err, result.describe()
    return lines[0]
