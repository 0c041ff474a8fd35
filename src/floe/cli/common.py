"""What the client command groups share: the client, the org default, common options, KEY=VALUE parsing.

The commands are a thin layer over :class:`floe.Client`: the client finds the server and token
itself (``FLOE_SERVICE_URI`` / ``FLOE_TOKEN``, else the config file ``floe serve`` writes), and every
``floe.FloeError`` it raises becomes one ``error: ...`` line on stderr and exit status 1.

Nothing here imports the client, icechunk, zarr or pydantic at import time: ``floe --help`` builds
every command's options, so the values the options need (choices, limits) are listed below and
checked against their sources by tests/test_cli.py.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from floe.cli.output import err_console, fail

if TYPE_CHECKING:
    import floe

ENV_ORG = "FLOE_ORG"
DEFAULT_ORG = "default"

CONNECTION_HELP = (
    "The server and token come from FLOE_SERVICE_URI and FLOE_TOKEN, else from the session `floe auth login` "
    "stored, else from the config file that `floe serve` writes (FLOE_CONFIG_DIR, default ~/.config/floe)."
)
ORG_HELP = f"Org (default: ${ENV_ORG}, else `org` in the config file, else '{DEFAULT_ORG}')."

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
OrgOpt = Annotated[str | None, typer.Option("--org", metavar="ORG", help=ORG_HELP, show_default=False)]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Confirm: this cannot be undone.")]

# --- values the options need, mirrored from modules that are slow to import ----------------
# (tests/test_cli.py::test_cli_choices_match_their_sources keeps them in step)

PLATFORMS = (
    "s3",
    "s3-compatible",
    "minio",
    "r2",
    "tigris",
    "gs",
    "azure",
    "file",
    "memory",
)  # models.Platform
REPO_MODES = ("online", "maintenance", "offline")  # floe.models.RepoMode
GRANT_LEVELS = ("read", "write", "admin")  # floe.models.GrantLevel
ROLES = ("owner", "admin", "member", "viewer")  # floe.models.Role
API_CLIENT_ROLES = ("admin", "member", "viewer")  # floe.models.ApiClientRole
SERVICE_PROTOCOLS = ("dap2", "edr", "wms", "tiles", "zarr")  # floe.client._services.PROTOCOLS
MAX_LOG_TAIL = 10000  # floe.client._services.MAX_TAIL
MAX_FOLLOW_TIMEOUT = 3600  # floe.client._services.MAX_FOLLOW_TIMEOUT
MAX_SHARE_TEXT = "90 days"  # floe.models.sharing.MAX_SHARE_TEXT
MAX_HISTORY_PAGE = 500  # floe.inspection.MAX_HISTORY_PAGE
MAX_TREE_NODES = 5000  # floe.inspection.MAX_TREE_NODES


def group(help_text: str) -> typer.Typer:
    """A command group whose help says where the connection comes from."""
    return typer.Typer(help=f"{help_text}\n\n{CONNECTION_HELP}", no_args_is_help=True, rich_markup_mode=None)


def resolve_org(org: str | None) -> str:
    """``--org``, else ``$FLOE_ORG``, else the ``org`` key of the user config file, else ``default``."""
    if org:
        return org
    from floe.client.config import read_user_config

    return os.environ.get(ENV_ORG) or read_user_config().get("org") or DEFAULT_ORG


def require_yes(yes: bool, what: str, *, undo: str | None = None) -> None:
    """Refuse (exit 2) to delete ``what`` unless ``--yes`` was given; ``undo`` says how to undo it."""
    if not yes:
        consequence = f"it can be undone with {undo}" if undo else "it cannot be undone"
        fail(f"deleting {what}: {consequence}; add --yes to confirm", code=2)


# --- times ------------------------------------------------------------------------------------


def format_time(value: datetime | str | float | None) -> str:
    """Every time the CLI prints: ISO 8601 in UTC to the second, ``2026-12-02T10:31:05Z``.

    Takes a datetime (naive ones are UTC), an ISO 8601 string or epoch seconds; ``""`` for None,
    other text unchanged.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            value = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return str(value)
    if not isinstance(value, datetime):
        return str(value)
    when = value if value.tzinfo else value.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- progress -----------------------------------------------------------------------------------


@contextmanager
def working(message: str) -> Iterator[Any]:
    """A spinner with ``message`` on stderr while a slow step runs (on a terminal; else nothing).

    Yields the rich ``Status``: ``.update(text)`` changes the message.
    """
    with err_console.status(message) as status:
        yield status


# --- errors ---------------------------------------------------------------------------------------

# Request fields as the person typed them: "field: message" from the server or the client's own
# checks becomes "--flag: message". None drops the field (the message names the argument already).
FIELD_FLAGS: dict[str, str | None] = {
    "endpoint_url": "--endpoint-url",
    "region_name": "--region",
    "use_ssl": "--use-ssl",
    "force_path_style": "--force-path-style",
    "access_key_id": "--access-key-id",
    "secret_access_key": "--secret-access-key",
    "read_access_key_id": "--read-access-key-id",
    "read_secret_access_key": "--read-secret-access-key",
    "readers_get_write_keys": "--readers-get-write-keys",
    "extra_config": "--extra",
    "auth_config": "--auth-file",
    "platform": "--platform",
    "new_nickname": "--rename",
    "prefix": "--prefix",
    "description": "--description",
    "metadata": "--metadata",
    "update_metadata": "--set",
    "remove_metadata": "--unset",
    "filter_metadata": "--filter",
    "expires_in_days": "--expires-in-days",
    "expires_in": "--expires-in",
    "trash_retention_days": "--trash-days",
    "store_cache_ttl": "--cache-ttl",
    "store_cache_size": "--cache-size",
    "cache_max_age": "--cache-max-age",
    "deployment_name": "--name",
    "is_public": "--public",
    "repos": "--repo",
    "limit": "--limit",
    "cursor": "--cursor",
    "note": "--note",
    "ref": "--ref",
    "role": "--role",
    "concurrency": "--concurrency",
    "bucket_nickname": "--bucket",
    "nickname": None,
    "name": None,
    "email": None,
    "password": None,
    "level": None,
    "mode": None,
}

_FIELD_PREFIX = re.compile(r"^(?P<loc>[A-Za-z_][\w.\[\]]*): (?P<rest>.+)$", re.DOTALL)
_SNAKE_WORD = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
_PYDANTIC_PHRASES = [
    (re.compile(r"^Value error, "), ""),
    (re.compile(r"^Assertion failed, "), ""),
    (re.compile(r"^Field required$"), "is required"),
    (re.compile(r"^Extra inputs are not permitted$"), "is not an option here"),
    (re.compile(r"^Input should be greater than or equal to (\S+)$"), r"must be at least \1"),
    (re.compile(r"^Input should be less than or equal to (\S+)$"), r"must be at most \1"),
    (re.compile(r"^Input should be greater than (\S+)$"), r"must be more than \1"),
    (re.compile(r"^Input should be less than (\S+)$"), r"must be less than \1"),
    (re.compile(r"^Input should be a valid integer.*$"), "must be a whole number"),
    (re.compile(r"^Input should be a valid number.*$"), "must be a number"),
    (re.compile(r"^Input should be a valid boolean.*$"), "must be true or false"),
    (re.compile(r"^Input should be a valid URL.*$"), "must be a URL"),
    (re.compile(r"^Input should be a valid (\w+).*$"), r"must be a \1"),
    (re.compile(r"^Input should be (.+)$"), r"must be \1"),
    (re.compile(r"^String should have at least (\d+) characters?$"), r"must have at least \1 characters"),
    (re.compile(r"^String should have at most (\d+) characters?$"), r"must have at most \1 characters"),
    (re.compile(r"^String should match pattern .*$"), "has characters that are not allowed"),
    (re.compile(r"^List should have at (least|most) (\d+) items?.*$"), r"must have at \1 \2 entries"),
]


def _plain_message(message: str) -> str:
    for pattern, replacement in _PYDANTIC_PHRASES:
        if pattern.search(message):
            return pattern.sub(replacement, message)
    return message


def _flag(loc: str, flags: Mapping[str, str | None]) -> str | bool | None:
    """The flag for a field path (``extra_config.endpoint_url`` -> ``--endpoint-url``); False: unknown."""
    parts = [p for p in re.split(r"[.\[\]]+", loc) if p and not p.isdigit()]
    for part in reversed(parts):
        if part in flags:
            return flags[part]
    return False


def _join(flag: str | None, message: str) -> str:
    if flag is None:
        return message
    glue = " " if message.startswith(("must ", "is ", "has ")) else ": "
    return f"{flag}{glue}{message}"


def cli_message(message: str, flags: Mapping[str, str | None] | None = None) -> str:
    """An error as a person reads it: request fields named by their flags, no validation-library words."""
    table = {**FIELD_FLAGS, **(flags or {})}
    parts = []
    for line in [line.strip() for line in str(message).split(";")] if "; " in message else [message.strip()]:
        found = _FIELD_PREFIX.match(line)
        flag = _flag(found.group("loc"), table) if found else False
        if found and flag is not False:
            line = _join(flag, _plain_message(found.group("rest").strip()))  # type: ignore[arg-type]
        else:
            line = _plain_message(line)
        parts.append(
            _SNAKE_WORD.sub(lambda m: str(table[m.group(0)]) if table.get(m.group(0)) else m.group(0), line)
        )
    return "; ".join(parts)


def _validation_message(exc: Exception, flags: Mapping[str, str | None] | None) -> str | None:
    """A pydantic ``ValidationError`` as one line naming the flags; None for other errors."""
    errors = getattr(exc, "errors", None)
    if type(exc).__name__ != "ValidationError" or not callable(errors):
        return None
    lines = []
    for error in errors():
        loc = ".".join(str(part) for part in error.get("loc", ()))
        text = str(error.get("msg", ""))
        lines.append(f"{loc}: {text}" if loc else text)
    return cli_message("; ".join(lines), flags)


@contextmanager
def client_errors(flags: Mapping[str, str | None] | None = None) -> Iterator[None]:
    """Turn ``floe.FloeError`` (and ``ValueError`` from bad local input) into one line and exit 1.

    ``flags`` maps request fields to this command's flags, on top of :data:`FIELD_FLAGS`.
    """
    from floe.errors import FloeError

    try:
        yield
    except FloeError as exc:
        fail(cli_message(str(exc) or type(exc).__name__, flags))
    except ValueError as exc:
        fail(_validation_message(exc, flags) or cli_message(str(exc) or type(exc).__name__, flags))


def choice(value: str, allowed: Sequence[str], what: str) -> str:
    """``value`` if it is one of ``allowed``, else a one-line usage error (exit 2) naming the valid values."""
    if value not in allowed:
        valid = ", ".join(allowed[:-1]) + f" or {allowed[-1]}" if len(allowed) > 1 else allowed[0]
        fail(f"invalid {what} {value!r}: use {valid}", code=2)
    return value


@contextmanager
def connect(
    service_uri: str | None = None, *, flags: Mapping[str, str | None] | None = None
) -> Iterator[floe.Client]:
    """A ``floe.Client`` from the environment / config file, closed afterwards; errors as one line."""
    with client_errors(flags):
        from floe.client import Client
        from floe.storage.icechunk_logs import set_icechunk_log_level

        if "ICECHUNK_LOG" not in os.environ:
            # Icechunk logs warnings to stdout, which would corrupt --json output; errors reach us as exceptions.
            set_icechunk_log_level("error")
        client = Client(service_uri=service_uri)
        try:
            yield client
        finally:
            client.close()


# --- KEY=VALUE ---------------------------------------------------------------------------


def _split_pair(item: str, option: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
    return key, value


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool)


def json_scalar(text: str, *, allow_list: bool = False) -> Any:
    """``2020`` -> 2020, ``true`` -> True, ``1.5`` -> 1.5, ``null`` -> None; anything else stays a string.

    With ``allow_list``, a JSON array of such scalars (``[1, "a"]``) is kept as a list.
    """
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if _is_scalar(value):
        return value
    if allow_list and isinstance(value, list) and all(_is_scalar(v) for v in value):
        return value
    return text


def parse_pairs(items: Sequence[str] | None, option: str, *, allow_list: bool = False) -> dict[str, Any]:
    """``["year=2020", "name=era5"]`` -> ``{"year": 2020, "name": "era5"}`` (values as by :func:`json_scalar`).

    Raises ``typer.BadParameter`` (a usage error, exit 2) for items without ``=`` or with an empty key.
    """
    result: dict[str, Any] = {}
    for item in items or []:
        key, value = _split_pair(item, option)
        result[key] = json_scalar(value, allow_list=allow_list)
    return result


def parse_extra(items: Sequence[str] | None, option: str = "--extra") -> dict[str, str | bool]:
    """Bucket ``extra_config`` pairs: ``true`` / ``false`` become booleans, everything else stays a string."""
    result: dict[str, str | bool] = {}
    for item in items or []:
        key, value = _split_pair(item, option)
        lowered = value.strip().lower()
        result[key] = True if lowered == "true" else False if lowered == "false" else value
    return result
