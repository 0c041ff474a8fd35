"""What the client command groups share: the client, the org default, common options, KEY=VALUE parsing.

The commands are a thin layer over :class:`floe.Client`: the client finds the server and token
itself (``FLOE_SERVICE_URI`` / ``FLOE_TOKEN``, else the config file ``floe serve`` writes), and every
``floe.FloeError`` it raises becomes one ``error: ...`` line on stderr and exit status 1.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import icechunk
import typer

import floe
from floe.cli.output import fail
from floe.client.config import read_user_config
from floe.errors import FloeError

ENV_ORG = "FLOE_ORG"
DEFAULT_ORG = "default"

CONNECTION_HELP = (
    "The server and token come from FLOE_SERVICE_URI and FLOE_TOKEN, else from the session `floe auth login` "
    "stored, else from the config file that `floe serve` writes (FLOE_CONFIG_DIR, default ~/.config/floe)."
)
ORG_HELP = f"Org (default: ${ENV_ORG}, else `org` in the config file, else '{DEFAULT_ORG}')."

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
OrgOpt = Annotated[str | None, typer.Option("--org", help=ORG_HELP, show_default=False)]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Confirm: this cannot be undone.")]


def group(help_text: str) -> typer.Typer:
    """A command group whose help says where the connection comes from."""
    return typer.Typer(help=f"{help_text}\n\n{CONNECTION_HELP}", no_args_is_help=True)


def resolve_org(org: str | None) -> str:
    """``--org``, else ``$FLOE_ORG``, else the ``org`` key of the user config file, else ``default``."""
    if org:
        return org
    return os.environ.get(ENV_ORG) or read_user_config().get("org") or DEFAULT_ORG


def require_yes(yes: bool, what: str, *, undo: str | None = None) -> None:
    """Refuse (exit 2) to delete ``what`` unless ``--yes`` was given; ``undo`` says how to undo it."""
    if not yes:
        consequence = f"it can be undone with {undo}" if undo else "it cannot be undone"
        fail(f"deleting {what}: {consequence}; add --yes to confirm", code=2)


@contextmanager
def client_errors() -> Iterator[None]:
    """Turn ``floe.FloeError`` (and ``ValueError`` from bad local input) into one line and exit 1."""
    try:
        yield
    except FloeError as exc:
        fail(str(exc) or type(exc).__name__)
    except ValueError as exc:
        fail(str(exc) or type(exc).__name__)


def choice(value: str, allowed: Sequence[str], what: str) -> str:
    """``value`` if it is one of ``allowed``, else a one-line usage error (exit 2) naming the valid values."""
    if value not in allowed:
        valid = ", ".join(allowed[:-1]) + f" or {allowed[-1]}" if len(allowed) > 1 else allowed[0]
        fail(f"invalid {what} {value!r}: use {valid}", code=2)
    return value


@contextmanager
def connect(service_uri: str | None = None) -> Iterator[floe.Client]:
    """A ``floe.Client`` from the environment / config file, closed afterwards; errors as one line."""
    if "ICECHUNK_LOG" not in os.environ:
        # Icechunk logs warnings to stdout, which would corrupt --json output; errors reach us as exceptions.
        icechunk.set_logs_filter("error")
    with client_errors():
        client = floe.Client(service_uri=service_uri)
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
