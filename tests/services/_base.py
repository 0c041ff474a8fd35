"""What every service handle shares: free ports, logged subprocesses, waiting until ready, cleanup."""

from __future__ import annotations

import atexit
import contextlib
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from floe.tls import ssl_context

LOCALHOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
TESTS_DIR = REPO_ROOT / "tests"

# Handles that are still running; stopped at interpreter exit as a last resort.
_RUNNING: set = set()


class ServiceError(RuntimeError):
    """A service failed to start (the message includes the tail of its log)."""


# --------------------------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is currently free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


def log_tail(log_path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a log file ('' if it does not exist)."""
    try:
        text = log_path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    proc: subprocess.Popen | None = None,
    log_path: Path | None = None,
    *,
    what: str = "service",
    interval: float = 0.1,
) -> None:
    """Poll ``predicate`` until it returns true.

    Raises :class:`ServiceError` (with the tail of ``log_path``) if ``timeout`` seconds pass first, or as
    soon as ``proc`` exits.
    """

    def fail(reason: str) -> ServiceError:
        tail = log_tail(log_path) if log_path is not None else ""
        where = f" (log: {log_path})" if log_path is not None else ""
        return ServiceError(f"{what} {reason}{where}" + (f"\n--- log tail ---\n{tail}" if tail else ""))

    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise fail(f"exited with status {proc.returncode} before becoming ready")
        if predicate():
            return
        if time.monotonic() > deadline:
            raise fail(f"did not become ready within {timeout:.0f} s")
        time.sleep(interval)


_PROBES: dict[str | bool, httpx.Client] = {}
_PROBES_LOCK = threading.Lock()


def _probe_client(verify: str | bool) -> httpx.Client:
    """One client per CA choice for :func:`_http_ok`, which polls several times a second while a
    service starts: a new client each time would load a CA bundle each time (milliseconds of CPU)."""
    with _PROBES_LOCK:
        client = _PROBES.get(verify)
        if client is None:
            client = _PROBES[verify] = httpx.Client(
                timeout=2.0,
                trust_env=False,  # never route 127.0.0.1 through an HTTP(S)_PROXY from the environment
                verify=ssl_context() if verify is True else verify,
                limits=httpx.Limits(max_keepalive_connections=0),  # a fresh connection per probe
            )
        return client


def _http_ok(url: str, *, any_status: bool = False, verify: str | bool = True) -> bool:
    """True if ``url`` answers (with 200, or with anything when ``any_status``)."""
    try:
        response = _probe_client(verify).get(url)
    except httpx.HTTPError:
        return False
    return any_status or response.status_code == 200


def _popen_logged(cmd: Sequence[str], log_path: Path, **kwargs) -> subprocess.Popen:
    """Start ``cmd`` with stdout and stderr appended to ``log_path`` (after a ``$ cmd`` line)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(map(str, cmd))}\n".encode())
        log.flush()
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, **kwargs)


def _run_logged(cmd: Sequence[str], log_path: Path, timeout: float, **kwargs) -> int:
    """Run ``cmd`` to completion like :func:`_popen_logged`; return its exit status."""
    proc = _popen_logged(cmd, log_path, **kwargs)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


@dataclass(eq=False)
class ServiceProcess:
    """A running subprocess that logs to ``log_path``."""

    process: subprocess.Popen
    log_path: Path

    def __post_init__(self) -> None:
        _RUNNING.add(self)

    def log_text(self) -> str:
        """The whole log of the service so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process: SIGTERM, wait up to ``timeout`` seconds, then SIGKILL. Idempotent."""
        _RUNNING.discard(self)
        _terminate(self.process, timeout)


def _terminate(proc: subprocess.Popen, timeout: float, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@atexit.register
def _stop_all() -> None:
    for service in list(_RUNNING):
        with contextlib.suppress(Exception):
            service.stop()


def unique_name(prefix: str) -> str:
    """``prefix`` followed by 8 random lower-case hex digits."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"
