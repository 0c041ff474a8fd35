"""Service logs: one line per request a data service answered, kept in a file per service.

Lines look like the container logs the arraylake client reads from Flux
(``2026-12-02T03:30:15.505397Z stdout F GET /services/edr/acme/era5/main/edr/position 200 12 ms``),
never with a token or a query's credentials. Files live in ``DATA_DIR/service-logs`` and are cut to
their newest half when they pass ``MAX_BYTES``, so several server processes on one machine share them.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from floe.files import make_private_dirs

MAX_BYTES = 4 * 2**20
MAX_TAIL = 10_000
_lock = threading.Lock()


class ServiceLogs:
    """The log files of every service on this server."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _path(self, service_id: str) -> Path:
        return self.directory / f"{service_id}.log"

    def write(self, service_id: str, message: str, *, stream: str = "stdout") -> None:
        """Append one line (newlines in ``message`` become spaces)."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        line = f"{stamp} {stream} F {' '.join(message.split())}\n".encode()
        path = self._path(service_id)
        with _lock:
            make_private_dirs(self.directory)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
            if path.stat().st_size > MAX_BYTES:
                self._shrink(path)

    @staticmethod
    def _shrink(path: Path) -> None:
        data = path.read_bytes()
        keep = data[len(data) // 2 :]
        keep = keep[keep.find(b"\n") + 1 :]
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(keep)
        os.replace(tmp, path)

    def read(
        self,
        service_id: str,
        *,
        tail: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[str]:
        """The service's lines, oldest first, within ``since``/``until``, the last ``tail`` of them."""
        path = self._path(service_id)
        try:
            lines = path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []
        if since or until:
            lines = [line for line in lines if _within(line, since, until)]
        if tail is not None:
            lines = lines[-min(tail, MAX_TAIL) :] if tail > 0 else []
        return lines

    def remove(self, service_id: str) -> None:
        self._path(service_id).unlink(missing_ok=True)


def _within(line: str, since: datetime | None, until: datetime | None) -> bool:
    try:
        when = datetime.strptime(line.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return False
    if since and when < (since if since.tzinfo else since.replace(tzinfo=UTC)):
        return False
    return not (until and when > (until if until.tzinfo else until.replace(tzinfo=UTC)))
