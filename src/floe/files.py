"""Files and folders that only their owner may read, whatever the process umask."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def open_private(path: Path, flags: int) -> int:
    """``os.open`` with ``O_CREAT``; the file gets mode 0600 exactly (a umask can neither widen
    nor narrow it). Add ``os.O_EXCL`` to refuse an existing file."""
    fd = os.open(path, flags | os.O_CREAT, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_private_file(path: Path) -> bool:
    """Create an empty file with mode 0600 unless it exists; True if it was created."""
    try:
        os.close(open_private(path, os.O_WRONLY | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def make_private_dirs(path: Path) -> Path:
    """Create the folder ``path`` and its missing parents, each with mode 0700 exactly; folders that
    exist already are left as they are."""
    missing: list[Path] = []
    current = Path(path)
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by someone else: theirs
            os.mkdir(folder, PRIVATE_DIR)
            os.chmod(folder, PRIVATE_DIR)
    return Path(path)
