"""Password hashing for email + password sign-in: argon2id, via argon2-cffi."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters


@cache
def _dummy_hash() -> str:
    """A hash to check when there is none (made at first use: argon2 takes a tenth of a second by design)."""
    return _HASHER.hash("floe: no such account")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches. With no stored hash a dummy one is checked, so the
    answer takes as long whether or not the account (or its password) exists."""
    dummy = _dummy_hash()  # made at the first check of either kind, so that one is no tell either
    try:
        return _HASHER.verify(stored_hash or dummy, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether a hash was made with weaker parameters than the current ones."""
    return _HASHER.check_needs_rehash(stored_hash)
