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


def load_or_create_key(path: Path) -> bytes:
    """Read the server's Fernet key from ``path``, creating it (mode 0600) on first use."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = open_private(path, os.O_WRONLY | os.O_EXCL)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


class SecretBox:
    """Encrypts and decrypts JSON secrets; the first key encrypts, all keys decrypt (rotation)."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def seal(self, value: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(value, sort_keys=True).encode()).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken:
            raise ServerError(
                "cannot decrypt a stored bucket secret: the server's secret key differs from the one "
                "that encrypted it (check FLOE_SECRET_KEY / --secret-key-file), or re-enter the bucket "
                "config's credentials with a modify"
            ) from None
