"""Validation helpers every adapter shares: messages name the field and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from floe.storage.base import BucketSpec

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def config_bool(key: str, value: str | bool) -> bool:
    """An ``extra_config`` flag given as a bool or a string such as "true"/"no" (from the CLI)."""
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"extra_config.{key} must be true or false, got {value!r}")


def check_extra_keys(
    spec: BucketSpec, allowed: Sequence[str], *, shown: Sequence[str] | None = None, hint: str = ""
) -> None:
    """Refuse ``extra_config`` keys outside ``allowed``; the message lists ``shown`` (default ``allowed``)."""
    unknown = sorted(set(spec.extra_config) - set(allowed))
    if unknown:
        listed = tuple(shown if shown is not None else allowed)
        raise ValueError(
            f"unknown extra_config key(s) {', '.join(unknown)} for platform {spec.platform}: "
            f"allowed {'is' if len(listed) == 1 else 'are'} {', '.join(listed)}{hint}"
        )


def check_auth(spec: BucketSpec, methods: Sequence[str], *, hint: str = "") -> dict[str, Any]:
    """A copy of the spec's auth config (anonymous when there is none), its method one of ``methods``."""
    auth = dict(spec.auth or {"method": "anonymous"})
    if auth.get("method") not in methods:
        raise ValueError(
            f"auth_config.method {auth.get('method')!r} is not supported for {spec.platform}: "
            f"use one of {', '.join(methods)}{hint}"
        )
    return auth


def check_http_url(value: Any, field: str, fix: str) -> str:
    """A full http(s) URL without a query or fragment, trailing '/' dropped; else ``ValueError``
    ``invalid FIELD 'VALUE': FIX``."""
    url = str(value).strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.query or parsed.fragment:
        raise ValueError(f"invalid {field} {url!r}: {fix}")
    return url


def check_use_ssl(spec: BucketSpec, endpoint: str | None) -> bool:
    """``extra_config.use_ssl``: by default whether ``endpoint`` is https; true with http:// is refused."""
    plain = (endpoint or "").startswith("http://")
    use_ssl = config_bool("use_ssl", spec.extra_config.get("use_ssl", not plain))
    if plain and use_ssl:
        raise ValueError(
            "extra_config.use_ssl is true but endpoint_url starts with http://: use https:// or set use_ssl false"
        )
    return use_ssl
