"""What readers may see of a bucket config's auth: the names of secret fields and their redaction."""

from __future__ import annotations

from typing import Any

from floe.models import REDACTED

SECRET_FIELDS = frozenset(
    {
        "secret_access_key",
        "read_secret_access_key",
        "account_key",
        "service_account_key",
        "sas_token",
        "password",
        "session_token",
    }
)


def redact_auth(auth: dict[str, Any] | None) -> dict[str, Any] | None:
    """The auth config as readers may see it: every secret replaced by ``REDACTED``."""
    if auth is None:
        return None
    return {k: (REDACTED if k in SECRET_FIELDS and v else v) for k, v in auth.items()}
