"""Keep a long-running server's memory flat: glibc's allocator, tuned and trimmed.

Under a long mixed load the server's Python objects stay flat, but glibc's heap does not: its
dynamic mmap threshold rises after the first large block is freed, so later large blocks (query
results, JSON bodies, Icechunk buffers) land in the heap, and the free space between live blocks is
kept rather than returned. Measured with the soak bench (``python -m bench --only soak``), the heap's
free space tripled in ten minutes while the memory in use grew by a tenth of that. Two remedies, both
no-ops off glibc: a fixed mmap threshold (large blocks always get their own mapping, given back on
free), and ``malloc_trim`` every so often (free pages inside the heap go back to the system).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache
from typing import Any

_log = logging.getLogger("floe.server.memory")

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value, kept fixed
TRIM_THRESHOLD = 4 * 1024 * 1024  # free space at the top of the heap kept before giving it back


@cache
def _glibc() -> Any | None:
    """The C library when it is glibc (it has ``malloc_trim``), else None."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):  # musl, macOS: nothing to tune
        return None
    return libc


def tune_allocator() -> bool:
    """Fix glibc's mmap threshold (and the trim threshold that goes with it). True if applied."""
    libc = _glibc()
    if libc is None:
        return False
    applied = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    if not applied:
        _log.debug("glibc refused the allocator settings; memory is left as the system sets it")
    return applied


def release_free_memory() -> bool:
    """Give the heap's free pages back to the system (``malloc_trim(0)``). True if any were."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
