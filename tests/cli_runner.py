"""Running the ``floe`` command against a test server, for the CLI tests: in this process (typer's
``CliRunner``, no Python start-up per command) or as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from services import FloeServer

CLI_TIMEOUT = 120
_OURS = ("FLOE_", "ICECHUNK_LOG")  # never inherited from the environment the tests run in


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


@dataclass
class Floe:
    """Runs ``floe ...`` against one server, remembering every output.

    Commands run with ``token`` (default: the server's admin token) in FLOE_TOKEN; pass
    ``token="..."`` for another, or ``token=None`` to run with no FLOE_TOKEN at all. With
    ``in_process`` they run in this process through ``floe.cli.main.main`` (stdin, stdout, stderr
    and the environment swapped for each command); else, and for ``process=True``, as
    ``python -m floe`` subprocesses.
    """

    server: FloeServer
    config_dir: Path
    token: str | None = None
    in_process: bool = False
    outputs: list[str] | None = None

    def __post_init__(self) -> None:
        self.token = self.token or self.server.token
        if self.outputs is None:
            self.outputs = []

    def in_subprocesses(self) -> Floe:
        """The same runner (server, config dir, token, outputs), each command a real subprocess."""
        return replace(self, in_process=False)

    def _ours(self, token: str | None, extra: dict[str, str] | None) -> dict[str, str]:
        env = {
            "FLOE_SERVICE_URI": self.server.url,
            "FLOE_CONFIG_DIR": str(self.config_dir),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "COLUMNS": "200",
        }
        if token:
            env["FLOE_TOKEN"] = token
        env.update(extra or {})
        return env

    def env(self, token: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The whole environment of a subprocess: this one's, without FLOE_* and ICECHUNK_LOG, plus ours."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
        env.update(self._ours(token, extra))
        return env

    def __call__(
        self,
        *args: str,
        token: str | bool | None = True,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        process: bool = False,
    ) -> Result:
        token_value = self.token if token is True else token or None
        if self.in_process and not process:
            result = self._run_here(args, self._ours(token_value, env), stdin or "")
        else:
            done = subprocess.run(
                [sys.executable, "-m", "floe", *args],
                env=self.env(token_value, env),
                input=stdin if stdin is not None else "",
                capture_output=True,
                text=True,
                timeout=CLI_TIMEOUT,
            )
            result = Result(tuple(args), done.returncode, done.stdout, done.stderr)
        assert self.outputs is not None
        self.outputs += [result.out, result.err]
        return result

    @staticmethod
    def _run_here(args: tuple[str, ...], ours: dict[str, str], stdin: str) -> Result:
        """``floe ARGS`` through ``main()``, with exactly ``ours`` of FLOE_* / ICECHUNK_LOG set."""
        from typer.testing import CliRunner

        from floe.cli.main import main

        overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith(_OURS)}
        overrides.update(ours)
        with CliRunner().isolation(input=stdin, env=overrides) as (out, err, _):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            return Result(tuple(args), code, out.getvalue().decode(), err.getvalue().decode())

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
