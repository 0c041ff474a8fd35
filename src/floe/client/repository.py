"""The repository object Floe hands out: an ``icechunk.Repository`` that knows its catalog status."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import icechunk

from floe.errors import RepoUnavailableError

# Every Repository method that writes to the repo (moves a ref, writes config or data).
WRITE_METHODS = (
    "writable_session",
    "writable_session_async",
    "transaction",
    "create_branch",
    "create_branch_async",
    "create_tag",
    "create_tag_async",
    "reset_branch",
    "reset_branch_async",
    "delete_branch",
    "delete_branch_async",
    "delete_tag",
    "delete_tag_async",
    "save_config",
    "save_config_async",
    "expire_snapshots",
    "expire_snapshots_async",
    "rewrite_manifests",
    "rewrite_manifests_async",
    "garbage_collect",
    "garbage_collect_async",
)


def _guarded(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def method(self: FloeRepository, *args: Any, **kwargs: Any) -> Any:
        if self.write_block is not None:
            raise RepoUnavailableError(
                f"cannot {name.removesuffix('_async').replace('_', ' ')}: {self.write_block}"
            )
        return original(self, *args, **kwargs)

    return method


class FloeRepository(icechunk.Repository):
    """An Icechunk repository opened through Floe.

    It behaves exactly like ``icechunk.Repository``; writes are refused with
    :class:`floe.RepoUnavailableError` when the repo was opened read-only or the catalog
    says it is not online.
    """

    write_block: str | None = None
    full_name: str | None = None

    def _floe_init(self, *, full_name: str, write_block: str | None) -> FloeRepository:
        self.full_name = full_name
        self.write_block = write_block
        return self

    def __repr__(self) -> str:
        state = f", read-only: {self.write_block}" if self.write_block else ""
        return f"<FloeRepository {self.full_name}{state}>"


for _name in WRITE_METHODS:
    if hasattr(icechunk.Repository, _name):
        setattr(FloeRepository, _name, _guarded(_name, getattr(icechunk.Repository, _name)))
