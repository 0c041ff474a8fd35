"""Encryption at rest for bucket secrets, and hashing of API tokens."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from floe.errors import ServerError
from floe.files import open_private

TOKEN_PREFIX = "ema_"  # the arraylake client accepts only tokens starting with ema_ (or JWTs)


def new_token() -> str:
    """A fresh API token: ``ema_`` and 43 URL-safe random characters (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


SESSION_PREFIX = TOKEN_PREFIX + "u."  # a person's session; "." never occurs in an API client token


def new_session_token() -> str:
    """A fresh session token for a signed-in person (CLI bearer token or browser cookie)."""
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 of a token. Tokens carry 256 random bits, so a fast hash suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def read_key_ring(path: Path) -> list[bytes]:
    """The keys in a key file, newest first: one Fernet key per line (blank lines and ``#`` comments
    ignored). A file written before rotation existed holds a single key."""
    lines = (line.strip() for line in path.read_bytes().splitlines())
    return [line for line in lines if line and not line.startswith(b"#")]


def write_key_ring(path: Path, keys: list[bytes]) -> None:
    """Replace the key file with ``keys`` (newest first) atomically, mode 0600: a process reading it
    meanwhile sees the old ring or the new one, never a partial file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_EXCL)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"".join(k + b"\n" for k in keys))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_or_create_key(path: Path) -> list[bytes]:
    """Read the server's key ring from ``path``, creating it with one new key (mode 0600) on first use."""
    if path.exists():
        keys = read_key_ring(path)
        if not keys:
            raise ValueError(f"the secret key file {path} holds no key")
        return keys
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = open_private(path, os.O_WRONLY | os.O_EXCL)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return [key]


class SecretBox:
    """Encrypts and decrypts JSON secrets; the first key encrypts, all keys decrypt (rotation).

    With ``source`` (the key file the keys came from), the box follows that file: before sealing it
    checks whether the file changed, and a secret no known key opens makes it read the file again, so
    a running server learns a key added by ``floe admin rotate-secret-key`` without a restart.
    """

    def __init__(self, keys: list[bytes], source: Path | None = None) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self.source = source
        self._stamp = self._file_stamp()
        self._use(keys)

    def _use(self, keys: list[bytes]) -> None:
        self.keys = list(keys)
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def _file_stamp(self) -> tuple[int, int, int] | None:
        if self.source is None:
            return None
        try:
            st = self.source.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def refresh(self) -> bool:
        """Read the key file again if it changed since last read; True if the keys changed."""
        stamp = self._file_stamp()
        if stamp is None or stamp == self._stamp:
            return False
        try:
            keys = read_key_ring(self.source)  # type: ignore[arg-type]
            fernets = [Fernet(k) for k in keys]
        except (OSError, ValueError):
            return False  # a broken file: keep the keys we have
        if not fernets:
            return False
        self._stamp = stamp
        changed = keys != self.keys
        self._use(keys)
        return changed

    def seal(self, value: dict[str, Any]) -> str:
        self.refresh()
        return self._fernet.encrypt(json.dumps(value, sort_keys=True).encode()).decode()

    def reseal(self, sealed: str) -> str:
        """``sealed`` encrypted again under the newest key (same content)."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise self._undecryptable() from None

    def open(self, sealed: str) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken:
            if self.refresh():  # a key added to the file since: try again with it
                return self.open(sealed)
            raise self._undecryptable() from None

    @staticmethod
    def _undecryptable() -> ServerError:
        return ServerError(
            "cannot decrypt a stored bucket secret: the server's secret key differs from the one "
            "that encrypted it (check FLOE_SECRET_KEY / --secret-key-file), or re-enter the bucket "
            "config's credentials with a modify"
        )
