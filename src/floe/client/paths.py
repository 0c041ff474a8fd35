"""Where the client keeps its files: ``$FLOE_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/floe``, else ``~/.config/floe``."""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    """The directory of the user config file and the stored sign-in sessions."""
    explicit = os.environ.get("FLOE_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "floe"


def config_path() -> Path:
    """The user config file (``config.toml``) that ``floe serve`` writes and the client reads."""
    return config_dir() / "config.toml"
