"""The client's memory of ``open`` answers, so a repeat ``get_repo`` costs no catalog request.

An answer is kept while the credentials it carries are valid (until a minute before they
expire), and at most ``FLOE_OPEN_CACHE_SECONDS`` (default 60) when they do not expire, so a
status change made elsewhere is seen within that time. It is dropped at once when the
client changes the repo's status, deletes it, or sees a write through it fail.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

from floe.models import OpenRepoResponse

ENV_SECONDS = "FLOE_OPEN_CACHE_SECONDS"
DEFAULT_SECONDS = 60.0
_MARGIN = 60.0


class OpenCache:
    """Thread-safe, per client. Never pickled: a copy sent to a worker starts empty."""

    def __init__(self, max_age: float | None = None) -> None:
        self.max_age = float(os.environ.get(ENV_SECONDS, DEFAULT_SECONDS)) if max_age is None else max_age
        self._entries: dict[str, tuple[OpenRepoResponse, float]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> OpenRepoResponse | None:
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return None
            if time.monotonic() >= entry[1]:
                del self._entries[name]
                return None
            return entry[0]

    def put(self, name: str, opened: OpenRepoResponse) -> None:
        life = self.max_age
        creds = opened.repo_credentials
        if creds is not None and creds.expiration is not None:
            life = min(life, (creds.expiration - datetime.now(UTC)).total_seconds() - _MARGIN)
        if life <= 0:
            return
        with self._lock:
            self._entries[name] = (opened, time.monotonic() + life)

    def drop(self, name: str) -> None:
        """Forget a repo's answers (the writable and the read-only one)."""
        base = name.split("?", 1)[0]
        with self._lock:
            self._entries.pop(base, None)
            self._entries.pop(f"{base}?read_only", None)

    def __getstate__(self) -> dict[str, float]:
        return {"max_age": self.max_age}

    def __setstate__(self, state: dict[str, float]) -> None:
        self.__init__(state["max_age"])  # type: ignore[misc]
