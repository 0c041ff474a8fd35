"""Azure bucket configs: container and account names, SAS tokens, account keys, the canonical form."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from floe.models import AzureCredentials
from floe.storage.base import BucketSpec
from floe.storage.validate import check_auth, check_extra_keys, check_http_url, check_use_ssl

# 3-63 characters of lower-case letters, digits and single hyphens, starting and ending with a letter or digit
_CONTAINER_RE = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
_SPECIAL_CONTAINERS = frozenset({"$root", "$web"})
_ACCOUNT_RE = re.compile(r"[a-z0-9]{3,24}")
DEFAULT_DURATION = 3600
AUTH_METHODS = ("azure_account_key", "azure_sas", "from_env", "anonymous")
EXTRA_KEYS = ("account_name", "endpoint_url", "use_ssl")
_ENDPOINT_FIX = (
    "give the blob service URL of the account, e.g. https://mystorageaccount.blob.core.usgovcloudapi.net "
    "or, for Azurite, http://127.0.0.1:10000/devstoreaccount1"
)
_METHOD_HINT = " (azure_account_key keeps the key on the server and hands out short-lived SAS tokens)"


def default_endpoint(account: str) -> str:
    return f"https://{account}.blob.core.windows.net"


def check_account(value: Any, field: str) -> str:
    account = str(value).strip() if value is not None else ""
    if not _ACCOUNT_RE.fullmatch(account):
        raise ValueError(
            f"invalid {field} {value!r}: Azure storage account names are 3-24 lower-case letters and digits, "
            "e.g. mystorageaccount (the part before .blob.core.windows.net)"
        )
    return account


def _sas_fields(token: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(token, keep_blank_values=True).items()}


def sas_expiry(token: str) -> datetime | None:
    """The expiry (``se=``) of a SAS token, or None when it has none or it cannot be read."""
    value = _sas_fields(token).get("se")
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_sas(value: Any) -> str:
    token = str(value or "").strip().removeprefix("?")
    if "://" in token:
        raise ValueError(
            "auth_config.sas_token must be the token only (the query string after '?'), not a SAS URL"
        )
    fields = _sas_fields(token)
    if not fields.get("sig") or not fields.get("sv"):
        raise ValueError(
            "auth_config.sas_token does not look like a SAS token: expected a query string such as "
            "sv=...&sp=rl&sr=c&se=...&sig=... (from the portal's 'Shared access tokens' page or `az storage container generate-sas`)"
        )
    if fields.get("sr") not in (None, "c", "d"):
        raise ValueError(
            f"auth_config.sas_token is scoped to sr={fields['sr']}: give a container SAS (sr=c), "
            "a directory SAS (sr=d) or an account SAS, since repos span many blobs"
        )
    if "ss" in fields and "b" not in fields["ss"]:
        raise ValueError(
            "auth_config.sas_token is an account SAS without the blob service (ss must contain b)"
        )
    permissions = fields.get("sp", "")
    missing = [p for p in "rl" if p not in permissions]
    if missing:
        raise ValueError(
            f"auth_config.sas_token lacks the {' and '.join({'r': 'read', 'l': 'list'}[p] for p in missing)} "
            f"permission (sp={permissions!r}): Icechunk needs at least sp=rl to read a repo, racwdl to write"
        )
    expiry = sas_expiry(token)
    if expiry is not None and expiry <= datetime.now(UTC):
        raise ValueError(
            f"auth_config.sas_token expired at {expiry.isoformat()}: issue a new SAS and update the bucket config"
        )
    return token


def check_account_key(value: Any) -> str:
    key = str(value or "").strip()
    try:
        ok = bool(key) and bool(base64.b64decode(key, validate=True))
    except (binascii.Error, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            "auth_config.account_key is not a storage account key: copy key1 or key2 (a base64 string) "
            "from the storage account's 'Access keys' page"
        )
    return key


def _check_container(name: str) -> None:
    if "@" in name:
        container, _, host = name.partition("@")
        raise ValueError(
            f"invalid container name {name!r}: write az://{container}/PREFIX and give the account "
            f"({host.split('.')[0]}) as extra_config.account_name"
        )
    if not (_CONTAINER_RE.fullmatch(name) or name in _SPECIAL_CONTAINERS):
        raise ValueError(
            f"invalid container name {name!r}: Azure container names are 3-63 characters of "
            "lower-case letters, digits and single hyphens, starting and ending with a letter or digit"
        )


def _given_account(spec: BucketSpec, auth: dict[str, Any]) -> str:
    """The storage account named in extra_config or auth_config (the same one, if both)."""
    given = spec.extra_config.get("account_name")
    in_auth = auth.get("account_name")
    if given in (None, "") and in_auth in (None, ""):
        raise ValueError(
            "platform azure needs extra_config.account_name, the storage account that holds the "
            "container, e.g. mystorageaccount"
        )
    if given not in (None, ""):
        account = check_account(given, "extra_config.account_name")
    else:
        account = check_account(in_auth, "auth_config.account_name")
    if in_auth not in (None, "") and check_account(in_auth, "auth_config.account_name") != account:
        raise ValueError(
            f"extra_config.account_name {account!r} and auth_config.account_name {in_auth!r} differ: "
            "they must name the same storage account (or leave one out)"
        )
    return account


def _check_duration(value: Any) -> int:
    try:
        duration = int(value)
    except (TypeError, ValueError):
        duration = -1
    if not 300 <= duration <= 7 * 24 * 3600:
        raise ValueError(
            "auth_config.duration_seconds must be between 300 and 604800 (the SAS lifetime in seconds)"
        )
    return duration


def normalize_azure(spec: BucketSpec) -> BucketSpec:
    """The canonical form of an ``azure`` spec; ``ValueError`` naming the field and the fix."""
    _check_container(spec.name)
    check_extra_keys(spec, EXTRA_KEYS)
    auth = check_auth(spec, AUTH_METHODS, hint=_METHOD_HINT)
    method = auth.get("method")
    account = _given_account(spec, auth)
    extra: dict[str, str | bool] = {"account_name": account}
    endpoint = spec.extra_config.get("endpoint_url")
    if endpoint not in (None, ""):
        endpoint = check_http_url(endpoint, "extra_config.endpoint_url", _ENDPOINT_FIX)
        extra["endpoint_url"] = endpoint
    else:
        endpoint = None
    use_ssl = check_use_ssl(spec, endpoint)
    if not use_ssl and not (endpoint or "").startswith("http://"):
        raise ValueError(
            "extra_config.use_ssl false needs an http:// extra_config.endpoint_url (Azure itself is reached over https)"
        )
    extra["use_ssl"] = use_ssl
    if method == "azure_account_key":
        auth["account_key"] = check_account_key(auth.get("account_key"))
        auth["duration_seconds"] = _check_duration(auth.get("duration_seconds", DEFAULT_DURATION))
    elif method == "azure_sas":
        auth["sas_token"] = check_sas(auth.get("sas_token"))
    if method in ("azure_account_key", "azure_sas"):
        auth["account_name"] = account
    return spec.with_changes(extra_config=extra, auth=auth)


def account_of(spec: BucketSpec, credentials: AzureCredentials | None = None) -> str:
    """The storage account of a spec (or, on clients, of the credentials it was vended)."""
    account = spec.extra_config.get("account_name") or (spec.auth or {}).get("account_name")
    if not account and credentials is not None:
        account = credentials.storage_account
    if not account:
        raise ValueError("platform azure needs extra_config.account_name")
    return str(account)


def endpoint_of(spec: BucketSpec) -> str:
    """The blob service URL of the spec's account."""
    return str(spec.extra_config.get("endpoint_url") or default_endpoint(account_of(spec)))
