"""The repository object Floe hands out: an ``icechunk.Repository`` that knows its catalog status.

Two things are added to Icechunk's behaviour, and nothing else changes:

- writes are refused when the repo was opened read-only, the token may only read, or the
  catalog says the repo is not online;
- on stores without conditional writes, every operation that moves a ref (commit, branch
  and tag creation, reset, delete) holds the catalog's lease on that ref while it runs, so a
  writer whose base is stale gets Icechunk's normal conflict error instead of silently
  overwriting another commit.

Both survive every way of getting another repository object from this one: ``reopen`` (and
``reopen_async``) and pickling (as Dask does to ship repos to its workers).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import icechunk

from floe.client.leases import LeaseClient
from floe.errors import RepoUnavailableError

# Every public name of icechunk.Repository is in exactly one of these tables
# (tests/test_repository_protection.py checks the installed icechunk against them).

# Repository methods that write; the value is the kind of ref they move (None: no ref).
WRITE_METHODS: dict[str, str | None] = {
    "writable_session": None,
    "writable_session_async": None,
    "transaction": None,
    "save_config": None,
    "save_config_async": None,
    "expire_snapshots": None,
    "expire_snapshots_async": None,
    "rewrite_manifests": "branch",
    "rewrite_manifests_async": "branch",
    "garbage_collect": None,
    "garbage_collect_async": None,
    "create_branch": "branch",
    "create_branch_async": "branch",
    "reset_branch": "branch",
    "reset_branch_async": "branch",
    "delete_branch": "branch",
    "delete_branch_async": "branch",
    "create_tag": "tag",
    "create_tag_async": "tag",
    "delete_tag": "tag",
    "delete_tag_async": "tag",
}

# Methods and attributes that change nothing in storage (default commit metadata is in memory only).
READ_METHODS: frozenset[str] = frozenset(
    {
        "ancestry",
        "async_ancestry",
        "authorized_virtual_container_prefixes",
        "chunk_storage_stats",
        "chunk_storage_stats_async",
        "config",
        "default_commit_metadata",
        "diff",
        "diff_async",
        "exists",
        "exists_async",
        "fetch_config",
        "fetch_config_async",
        "inspect_snapshot",
        "inspect_snapshot_async",
        "list_branches",
        "list_branches_async",
        "list_tags",
        "list_tags_async",
        "lookup_branch",
        "lookup_branch_async",
        "lookup_snapshot",
        "lookup_snapshot_async",
        "lookup_tag",
        "lookup_tag_async",
        "readonly_session",
        "readonly_session_async",
        "set_default_commit_metadata",
        "storage",
        "total_chunks_storage",
        "total_chunks_storage_async",
    }
)

# Methods that return a new repository made from this one: it gets this one's protections.
NEW_REPOSITORY_METHODS: frozenset[str] = frozenset({"reopen", "reopen_async"})

# Class methods that build a repository from a ``Storage``; it has no Floe state to inherit.
# Floe builds its repositories with them and then protects the result (``_floe_init``).
CONSTRUCTORS: frozenset[str] = frozenset(
    {"create", "create_async", "open", "open_async", "open_or_create", "open_or_create_async"}
)


def _wrap(name: str, original: Callable[..., Any], ref_kind: str | None) -> Callable[..., Any]:
    action = name.removesuffix("_async").replace("_", " ")

    def check(repo: FloeRepository) -> None:
        if repo.write_block is not None:
            raise RepoUnavailableError(f"cannot {action}: {repo.write_block}")

    if name.endswith("_async"):

        @functools.wraps(original)
        async def async_method(self: FloeRepository, *args: Any, **kwargs: Any) -> Any:
            check(self)
            with self._reporting_write_errors():
                if ref_kind is None or self.lease_client is None:
                    return await original(self, *args, **kwargs)
                sync = getattr(icechunk.Repository, name.removesuffix("_async"))
                return await asyncio.to_thread(_leased, self, sync, ref_kind, action, args, kwargs)

        return async_method

    @functools.wraps(original)
    def method(self: FloeRepository, *args: Any, **kwargs: Any) -> Any:
        check(self)
        with self._reporting_write_errors():
            if ref_kind is None or self.lease_client is None:
                return original(self, *args, **kwargs)
            return _leased(self, original, ref_kind, action, args, kwargs)

    return method


def _carrying(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a method returning a new repository so that the new one is protected like ``self``."""
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def async_method(self: FloeRepository, *args: Any, **kwargs: Any) -> FloeRepository:
            return self._carry_to(await original(self, *args, **kwargs))

        return async_method

    @functools.wraps(original)
    def method(self: FloeRepository, *args: Any, **kwargs: Any) -> FloeRepository:
        return self._carry_to(original(self, *args, **kwargs))

    return method


def _leased(
    repo: FloeRepository, fn: Callable[..., Any], ref_kind: str, action: str, args: tuple, kwargs: dict
) -> Any:
    ref_name = kwargs.get(ref_kind) or (args[0] if args else "main")
    assert repo.lease_client is not None
    with repo.lease_client.hold(f"{ref_kind}.{ref_name}", f"{action} {ref_name}"):
        return fn(repo, *args, **kwargs)


class LeasedSession(icechunk.Session):
    """A writable session of a Floe repo: its commits hold the branch's lease on stores without
    conditional writes, and a failed commit tells the client to forget what it knew of the repo."""

    lease_client: LeaseClient | None = None
    on_error: Callable[[], None] | None = None

    def commit(self, message: str, *args: Any, **kwargs: Any) -> str:
        try:
            if self.lease_client is None:
                return super().commit(message, *args, **kwargs)
            with self.lease_client.hold(f"branch.{self.branch}", f"commit {message[:60]!r}"):
                return super().commit(message, *args, **kwargs)
        except Exception:
            if self.on_error is not None:
                self.on_error()
            raise

    async def commit_async(self, message: str, *args: Any, **kwargs: Any) -> str:
        if self.lease_client is None:
            return await super().commit_async(message, *args, **kwargs)
        return await asyncio.to_thread(self.commit, message, *args, **kwargs)


class FloeRepository(icechunk.Repository):
    """An Icechunk repository opened through Floe; it behaves exactly like ``icechunk.Repository``.

    Writes are refused with :class:`floe.RepoUnavailableError` when the repo was opened
    read-only or the catalog says it is not online. ``commit_protection`` says what keeps
    concurrent commits safe: ``"store"`` (conditional writes) or ``"leases"`` (Floe's).
    """

    write_block: str | None = None
    full_name: str | None = None
    lease_client: LeaseClient | None = None
    on_write_error: Callable[[], None] | None = None

    def _floe_init(
        self,
        *,
        full_name: str | None,
        write_block: str | None,
        lease_client: LeaseClient | None = None,
        on_write_error: Callable[[], None] | None = None,
    ) -> FloeRepository:
        self.full_name = full_name
        self.write_block = write_block
        self.lease_client = lease_client
        self.on_write_error = on_write_error
        return self

    def _floe_state(self) -> dict[str, Any]:
        """The protections every repository made from this one keeps (all picklable)."""
        return {
            "full_name": self.full_name,
            "write_block": self.write_block,
            "lease_client": self.lease_client,
        }

    def _carry_to(self, new: FloeRepository) -> FloeRepository:
        """Give ``new``, made from this repository in this process, its protections and commit author."""
        new.set_default_commit_metadata(self.default_commit_metadata())
        return new._floe_init(**self._floe_state(), on_write_error=self.on_write_error)

    @contextlib.contextmanager
    def _reporting_write_errors(self) -> Iterator[None]:
        try:
            yield
        except Exception:
            if self.on_write_error is not None:
                self.on_write_error()
            raise

    @property
    def commit_protection(self) -> str:
        return "leases" if self.lease_client is not None else "store"

    def _lease_session(self, session: icechunk.Session) -> icechunk.Session:
        leased = LeasedSession(session._session)
        leased.lease_client = self.lease_client
        leased.on_error = self.on_write_error
        return leased

    def writable_session(self, branch: str) -> icechunk.Session:
        if self.write_block is not None:
            raise RepoUnavailableError(f"cannot open a writable session: {self.write_block}")
        return self._lease_session(super().writable_session(branch))

    async def writable_session_async(self, branch: str) -> icechunk.Session:
        if self.write_block is not None:
            raise RepoUnavailableError(f"cannot open a writable session: {self.write_block}")
        return self._lease_session(await super().writable_session_async(branch))

    # Pickles keep the protections; ``on_write_error`` belongs to the client of this process.
    def __getstate__(self) -> object:
        state = super().__getstate__()
        assert isinstance(state, dict)
        return {**state, "_floe": self._floe_state()}

    def __setstate__(self, state: object) -> None:
        assert isinstance(state, dict)
        self._floe_init(**state.pop("_floe"))
        super().__setstate__(state)

    def __repr__(self) -> str:
        state = f", read-only: {self.write_block}" if self.write_block else ""
        return f"<FloeRepository {self.full_name} (commit protection: {self.commit_protection}){state}>"


for _name, _kind in WRITE_METHODS.items():
    if _name in ("writable_session", "writable_session_async"):
        continue
    if hasattr(icechunk.Repository, _name):
        setattr(FloeRepository, _name, _wrap(_name, getattr(icechunk.Repository, _name), _kind))
for _name in NEW_REPOSITORY_METHODS:
    if hasattr(icechunk.Repository, _name):
        setattr(FloeRepository, _name, _carrying(getattr(icechunk.Repository, _name)))
