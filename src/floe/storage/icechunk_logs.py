"""Icechunk's own log output: its level, and its local-filesystem warning said once, plainly.

Icechunk (Rust) logs to stdout, in colour whatever stdout is, and logs "The LocalFileSystem storage is
not safe for concurrent commits ..." each time a local storage is made (twice for a create-then-open
script). Floe silences that one target and says it once per process where it matters, when a repo in
a local folder is opened for writing (:func:`warn_local_once`), as a plain ``logging`` warning on stderr.
A user who sets ``ICECHUNK_LOG`` gets Icechunk's logs exactly as they asked.
"""

from __future__ import annotations

import logging
import os

# the Icechunk module that logs the local-filesystem warning
LOCAL_TARGET = "icechunk::storage::object_store"
LOCAL_WARNING = (
    "{what} is in a local folder: Icechunk's local storage is not safe for concurrent commits, "
    "so let one process commit to it at a time (object stores do not have this limit)"
)

log = logging.getLogger("floe.storage")
_level = "warn"
_applied: str | None = None
_warned = False


def set_icechunk_log_level(level: str) -> None:
    """Icechunk's log level (``"error"``, ``"warn"`` ...), keeping its local-filesystem warning quiet."""
    global _level
    _level = level
    quiet_local_warning()


def quiet_local_warning() -> None:
    """Silence Icechunk's local-filesystem warning (unless ``ICECHUNK_LOG`` is set); cheap to repeat."""
    global _applied
    if os.environ.get("ICECHUNK_LOG"):
        return
    directive = f"{_level},{LOCAL_TARGET}=error"
    if directive != _applied:
        import icechunk

        icechunk.set_logs_filter(directive)
        _applied = directive


def warn_local_once(what: str) -> None:
    """Say once per process that ``what`` (a repo in a local folder, opened for writing) is not safe for
    concurrent commits."""
    global _warned
    if not _warned:
        _warned = True
        log.warning(LOCAL_WARNING.format(what=what))
