"""Where the client finds its service URI and token: arguments, then environment, then the user config file."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

ENV_SERVICE_URI = "FLOE_SERVICE_URI"
ENV_TOKEN = "FLOE_TOKEN"
DEFAULT_SERVICE_URI = "http://127.0.0.1:7800"


def config_dir() -> Path:
    explicit = os.environ.get("FLOE_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "floe"


def config_path() -> Path:
    return config_dir() / "config.toml"


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
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    merged = {**read_user_config(), **values}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(merged, fh)
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class Connection:
    service_uri: str
    token: str | None


def resolve(service_uri: str | None = None, token: str | None = None) -> Connection:
    """Arguments win, then ``FLOE_SERVICE_URI`` / ``FLOE_TOKEN``, then the user config file."""
    file_values = read_user_config() if service_uri is None or token is None else {}
    uri = (
        service_uri
        or os.environ.get(ENV_SERVICE_URI)
        or file_values.get("service_uri")
        or DEFAULT_SERVICE_URI
    )
    tok = token or os.environ.get(ENV_TOKEN) or file_values.get("token")
    if not uri.startswith(("http://", "https://")):
        raise ValueError(f"invalid service_uri {uri!r}: it must start with http:// or https://")
    return Connection(service_uri=uri.rstrip("/"), token=tok)
