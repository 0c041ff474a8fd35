"""Sign-in sessions the client keeps: ``<config dir>/sessions.json``, readable by its owner only.

The file maps a service URI to ``{"token", "email", "expires"}``; ``floe auth login`` (or
``Client.login()``) writes an entry, ``floe auth logout`` removes it. The directory is created 0700,
the file is written 0600 (a temporary file opened 0600, then renamed over the old one), and an
existing file readable by others is tightened to 0600 when read.
"""

from __future__ import annotations

import json
import os
import stat
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from floe.client.paths import config_dir
from floe.files import make_private_dirs, open_private

SESSION_TOKEN_PREFIX = "ema_u."


def sessions_path() -> Path:
    return config_dir() / "sessions.json"


def is_session_token(token: str | None) -> bool:
    """Whether ``token`` is a person's sign-in session token (API client tokens are not)."""
    return bool(token) and str(token).startswith(SESSION_TOKEN_PREFIX)


def _key(service_uri: str) -> str:
    return service_uri.rstrip("/")


@dataclass(frozen=True)
class StoredSession:
    service_uri: str
    token: str
    email: str | None
    expires: datetime | None

    @property
    def expired(self) -> bool:
        return self.expires is not None and self.expires <= datetime.now(UTC)


def _tighten(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(0o600)
    except OSError:
        pass


def _read_all() -> dict[str, Any]:
    path = sessions_path()
    if not path.exists():
        return {}
    _tighten(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_all(data: dict[str, Any]) -> Path:
    path = sessions_path()
    make_private_dirs(path.parent)
    tmp = path.with_name(f".sessions-{uuid.uuid4().hex}.tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_EXCL)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _tighten(path)
    return path


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def load(service_uri: str) -> StoredSession | None:
    """The stored session for ``service_uri`` (expired or not), if any."""
    entry = _read_all().get(_key(service_uri))
    if not isinstance(entry, dict) or not isinstance(entry.get("token"), str) or not entry["token"]:
        return None
    email = entry.get("email")
    return StoredSession(
        service_uri=_key(service_uri),
        token=entry["token"],
        email=email if isinstance(email, str) else None,
        expires=_parse_time(entry.get("expires")),
    )


def active(service_uri: str) -> StoredSession | None:
    """The stored session for ``service_uri`` if it has not expired."""
    found = load(service_uri)
    return found if found is not None and not found.expired else None


def store(service_uri: str, token: str, *, email: str | None, expires: datetime | None) -> Path:
    """Remember a session for ``service_uri`` (replacing any earlier one)."""
    data = _read_all()
    data[_key(service_uri)] = {
        "token": token,
        "email": email,
        "expires": expires.astimezone(UTC).isoformat(timespec="seconds") if expires else None,
    }
    return _write_all(data)


def remove(service_uri: str, token: str | None = None) -> bool:
    """Forget the session for ``service_uri`` (only if it holds ``token``, when given); True if one was."""
    data = _read_all()
    entry = data.get(_key(service_uri))
    if entry is None or (token is not None and isinstance(entry, dict) and entry.get("token") != token):
        return False
    del data[_key(service_uri)]
    _write_all(data)
    return True
