"""GCS bucket configs: bucket names, service-account keys and the canonical form of a spec."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any

from floe.storage.base import BucketSpec
from floe.storage.validate import check_auth, check_extra_keys, check_http_url

GCS_READ_ONLY = "https://www.googleapis.com/auth/devstorage.read_only"
GCS_READ_WRITE = "https://www.googleapis.com/auth/devstorage.read_write"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
DEFAULT_ENDPOINT = "https://storage.googleapis.com"
EXTRA_KEYS = ("endpoint_url",)
AUTH_METHODS = ("gcs_service_account", "from_env", "anonymous")

_BUCKET_PART_RE = re.compile(r"[a-z0-9](?:[a-z0-9_\-]{0,61}[a-z0-9])?")
_BUCKET_CHARS_RE = re.compile(r"[a-z0-9][a-z0-9._\-]*[a-z0-9]")
_KEY_HELP = (
    "paste the whole JSON key file of a service account (IAM & Admin > Service accounts > Keys > "
    "Add key > JSON in the Google Cloud console), e.g. json.load(open('key.json'))"
)
# Icechunk's GCS credential provider asks for new credentials 120-180 s before they expire;


def _url_fix(example: str) -> str:
    return f"give a full http(s) URL such as {example}"


def check_bucket_name(name: str) -> str:
    """Validate a GCS bucket name; ``ValueError`` naming the rule that is broken otherwise."""
    rules = (
        "GCS bucket names are 3-63 characters (up to 222 with dots, 63 between dots) of lower-case "
        "letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
    )
    if not isinstance(name, str) or not name:
        raise ValueError(f"bucket name is missing: {rules}")
    too_long = len(name) > (222 if "." in name else 63)
    if len(name) < 3 or too_long or not _BUCKET_CHARS_RE.fullmatch(name):
        raise ValueError(f"invalid bucket name {name!r}: {rules}")
    if any(not _BUCKET_PART_RE.fullmatch(part) for part in name.split(".")):
        raise ValueError(f"invalid bucket name {name!r}: {rules}; every dot-separated part too")
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        raise ValueError(f"invalid bucket name {name!r}: GCS bucket names cannot be IP addresses")
    if name.startswith("goog") or "google" in name or "g00gle" in name:
        raise ValueError(
            f"invalid bucket name {name!r}: GCS bucket names cannot start with 'goog' or contain 'google'"
        )
    return name


def check_service_account_key(key: Any) -> dict[str, Any]:
    """Validate a service-account key; return it with ``token_uri`` filled in when missing.

    Messages name the field (``auth_config.service_account_key.<field>``) and never echo the key.
    """
    field = "auth_config.service_account_key"
    if isinstance(key, str):
        try:
            key = json.loads(key)
        except ValueError:
            raise ValueError(f"{field} is not JSON: {_KEY_HELP}") from None
    if not isinstance(key, Mapping):
        raise ValueError(f"{field} must be the key file's JSON object: {_KEY_HELP}")
    key = dict(key)
    kind = key.get("type")
    if kind == "authorized_user":
        raise ValueError(
            f"{field} is a user's login (gcloud auth application-default login), not a service-account key: "
            f"{_KEY_HELP}; or use auth_config.method from_env"
        )
    if kind != "service_account":
        raise ValueError(f"{field}.type must be 'service_account', got {kind!r}: {_KEY_HELP}")
    email = key.get("client_email")
    if not isinstance(email, str) or "@" not in email:
        raise ValueError(f"{field}.client_email is missing or not an e-mail address: {_KEY_HELP}")
    private_key = key.get("private_key")
    if not isinstance(private_key, str) or "PRIVATE KEY" not in private_key:
        raise ValueError(f"{field}.private_key is missing or not a PEM private key: {_KEY_HELP}")
    key["token_uri"] = check_http_url(
        key.get("token_uri") or GOOGLE_TOKEN_URI, f"{field}.token_uri", _url_fix(GOOGLE_TOKEN_URI)
    )
    from google.auth import crypt

    try:
        crypt.RSASigner.from_service_account_info(key)
    except (ValueError, TypeError):
        raise ValueError(
            f"{field}.private_key cannot be read as an RSA private key (was the key file edited or "
            f"truncated?): {_KEY_HELP}"
        ) from None
    return key


def normalize_gcs(spec: BucketSpec) -> BucketSpec:
    """The canonical form of a ``gs`` spec; ``ValueError`` naming the field and the fix."""
    check_bucket_name(spec.name)
    check_extra_keys(spec, EXTRA_KEYS, hint=" (GCS needs no region)")
    extra: dict[str, str | bool] = {}
    if spec.extra_config.get("endpoint_url"):
        extra["endpoint_url"] = check_http_url(
            spec.extra_config["endpoint_url"], "extra_config.endpoint_url", _url_fix(DEFAULT_ENDPOINT)
        )
    auth = check_auth(spec, AUTH_METHODS)
    if auth.get("method") == "gcs_service_account":
        auth["service_account_key"] = check_service_account_key(auth.get("service_account_key"))
    return spec.with_changes(extra_config=extra, auth=auth)
