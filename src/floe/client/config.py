"""Where the client finds its service URI and token: arguments, then environment, then the user config file."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from floe.client import sessions
from floe.client.paths import config_dir, config_path
from floe.files import make_private_dirs, open_private

__all__ = ["Connection", "config_dir", "config_path", "read_user_config", "resolve", "write_user_config"]

ENV_SERVICE_URI = "FLOE_SERVICE_URI"
ENV_TOKEN = "FLOE_TOKEN"
DEFAULT_SERVICE_URI = "http://127.0.0.1:7800"


def read_user_config() -> dict[str, str]:
    path = config_path()
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return {k: str(v) for k, v in data.items() if isinstance(v, str | int)}


def write_user_config(values: dict[str, str]) -> Path:
    """Merge ``values`` into the user config file, readable by its owner only (0600)."""
    path = config_path()
    make_private_dirs(path.parent)
    merged = {**read_user_config(), **values}
    tmp = path.with_suffix(".tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(merged, fh)
    os.replace(tmp, path)
    return path


TOKEN_FROM_ARGUMENT = "argument"
TOKEN_FROM_ENV = ENV_TOKEN
TOKEN_FROM_SESSION = "session"
TOKEN_FROM_CONFIG = "config file"


@dataclass(frozen=True)
class Connection:
    service_uri: str
    token: str | None
    token_source: str | None = None
    """Where the token came from: ``argument``, ``FLOE_TOKEN``, ``session`` (sessions.json) or
    ``config file`` (config.toml); None without a token."""


def resolve(service_uri: str | None = None, token: str | None = None) -> Connection:
    """The server and token to use.

    Service URI: the argument, else ``FLOE_SERVICE_URI``, else ``service_uri`` in config.toml, else the
    default. Token: the argument, else ``FLOE_TOKEN``, else the unexpired session stored by
    ``floe auth login`` for that service URI, else ``token`` in config.toml.
    """
    file_values = read_user_config() if service_uri is None or token is None else {}
    uri = (
        service_uri
        or os.environ.get(ENV_SERVICE_URI)
        or file_values.get("service_uri")
        or DEFAULT_SERVICE_URI
    )
    if not uri.startswith(("http://", "https://")):
        raise ValueError(f"invalid service_uri {uri!r}: it must start with http:// or https://")
    uri = uri.rstrip("/")
    source: str | None = None
    if token:
        tok, source = token, TOKEN_FROM_ARGUMENT
    elif os.environ.get(ENV_TOKEN):
        tok, source = os.environ[ENV_TOKEN], TOKEN_FROM_ENV
    elif (stored := sessions.active(uri)) is not None:
        tok, source = stored.token, TOKEN_FROM_SESSION
    elif file_values.get("token"):
        tok, source = file_values["token"], TOKEN_FROM_CONFIG
    else:
        tok = None
    return Connection(service_uri=uri, token=tok, token_source=source)
