"""Floe's protections (write block, commit leases) hold on every repository object a Floe repo gives:
``reopen``, ``reopen_async``, pickling (as Dask ships repos) -- against a real server (SQLite) whose
default bucket is a local folder, a store without conditional updates (so commits take leases)."""

from __future__ import annotations

import asyncio
import inspect
import pickle
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import icechunk
import pytest
import zarr

import floe
from floe.client import repository as floe_repository
from floe.client.leases import LeaseClient
from services import InProcessFloe, running_floe_in_process, unique_name

# Every way of getting another repository object from a Floe one.
DERIVATIONS: dict[str, Callable[[floe.FloeRepository], Any]] = {
    "reopen()": lambda repo: repo.reopen(),
    "reopen_async()": lambda repo: asyncio.run(repo.reopen_async()),
    "pickle round trip": lambda repo: pickle.loads(pickle.dumps(repo)),
    "pickle round trip, then reopen()": lambda repo: pickle.loads(pickle.dumps(repo)).reopen(),
    "reopen(config=...)": lambda repo: repo.reopen(config=repo.config),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFloe]:
    """One Floe server (SQLite) for the whole module."""
    with running_floe_in_process(tmp_path_factory.mktemp("protection-server")) as srv:
        yield srv


@pytest.fixture
def admin(server: InProcessFloe) -> Iterator[floe.Client]:
    with floe.Client(service_uri=server.url, token=server.token) as client:
        yield client


@pytest.fixture
def repo_name(admin: floe.Client) -> str:
    """A fresh repo on the local-folder default bucket, with one commit of data on ``main``."""
    name = f"default/{unique_name('protected-')}"
    repo = admin.create_repo(name)
    assert repo.commit_protection == "leases"  # the local folder has no conditional update
    session = repo.writable_session("main")
    zarr.create_array(session.store, name="x", shape=(4,), chunks=(2,), dtype="i4")[:] = [1, 2, 3, 4]
    session.commit("first")
    return name


def _read(repo: icechunk.Repository) -> list[int]:
    return zarr.open_array(repo.readonly_session("main").store, path="x")[:].tolist()


def _call(repo: icechunk.Repository, name: str) -> None:
    """Call a write method (awaiting it when async); Floe refuses before looking at the arguments."""
    result = getattr(repo, name)("main")
    if inspect.isawaitable(result):
        asyncio.run(result)


def _waits_for_lease(
    server: InProcessFloe, repo_name: str, ref: str, operation: Callable[..., Any], *args: Any
) -> Any:
    """Run ``operation(*args)`` while another writer holds the lease on ``ref``: it must wait for it."""
    org, repo = repo_name.split("/")
    other = LeaseClient(service_uri=server.url, token=server.token, org=org, repo=repo)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = operation(*args)
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    with other.hold(ref, "another writer"):
        worker.start()
        worker.join(1.0)
        assert worker.is_alive() and not outcome, f"it did not wait for the lease on {ref}: {outcome}"
    worker.join(60)
    assert not worker.is_alive(), f"still waiting for the lease on {ref} after it was released"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


# --------------------------------------------------------------------------------------------- the table


def test_every_icechunk_repository_member_is_classified() -> None:
    """A member icechunk adds must be classified in floe/client/repository.py before Floe ships with it."""
    tables = {
        "WRITE_METHODS": set(floe_repository.WRITE_METHODS),
        "READ_METHODS": set(floe_repository.READ_METHODS),
        "NEW_REPOSITORY_METHODS": set(floe_repository.NEW_REPOSITORY_METHODS),
        "CONSTRUCTORS": set(floe_repository.CONSTRUCTORS),
    }
    public = {name for name in dir(icechunk.Repository) if not name.startswith("_")}
    unclassified = sorted(public - set().union(*tables.values()))
    assert not unclassified, (
        f"icechunk {icechunk.__version__} has icechunk.Repository members Floe has not classified: "
        f"{', '.join(unclassified)}. Add each to {', '.join(tables)} in src/floe/client/repository.py "
        "(and protect it if it writes or returns a repository)."
    )
    for first, second in [(a, b) for a in tables for b in tables if a < b]:
        both = sorted(tables[first] & tables[second])
        assert not both, f"classified as both {first} and {second}: {', '.join(both)}"

    for name in sorted(public):
        member = inspect.getattr_static(icechunk.Repository, name)
        fn = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
        returns = str(inspect.signature(fn).return_annotation)
        if re.search(r"\bSelf\b|Repository\b", returns):
            assert name in tables["NEW_REPOSITORY_METHODS"] | tables["CONSTRUCTORS"], (
                f"icechunk.Repository.{name} returns {returns}: classify it as NEW_REPOSITORY_METHODS "
                "(so the new repository is protected) or CONSTRUCTORS"
            )
        if name in tables["CONSTRUCTORS"]:
            assert isinstance(member, classmethod), f"{name} is classified as a constructor but takes self"
        if name in tables["WRITE_METHODS"] | tables["NEW_REPOSITORY_METHODS"]:
            assert inspect.getattr_static(floe.FloeRepository, name) is not member, (
                f"FloeRepository.{name} is icechunk's own: Floe does not protect it"
            )


# --------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("opened_as", ["viewer token", "read_only=True"])
def test_a_write_blocked_repo_stays_blocked_on_every_derived_repository(
    admin: floe.Client, repo_name: str, opened_as: str
) -> None:
    if opened_as == "viewer token":
        token = admin.create_api_client("default", name=unique_name("viewer-"), role="viewer").token
        client = floe.Client(service_uri=admin.service_uri, token=token)
        repo = client.get_repo(repo_name)
        assert repo.write_block == f"your token may only read {repo_name}"
    else:
        client = admin
        repo = admin.get_repo(repo_name, read_only=True)
        assert repo.write_block == f"{repo_name} was opened with read_only=True"
    tip = repo.lookup_branch("main")
    writes = sorted(name for name in floe_repository.WRITE_METHODS if hasattr(icechunk.Repository, name))
    assert "writable_session" in writes and "create_tag" in writes

    for how, derive in DERIVATIONS.items():
        derived = derive(repo)
        assert isinstance(derived, floe.FloeRepository), how
        assert (derived.full_name, derived.write_block) == (repo_name, repo.write_block), how
        assert derived.commit_protection == "leases", how
        for name in writes:
            with pytest.raises(floe.RepoUnavailableError, match=re.escape(repo.write_block)):
                _call(derived, name)
        assert _read(derived) == [1, 2, 3, 4], how  # reading is unchanged
    assert (repo.lookup_branch("main"), repo.list_branches(), repo.list_tags()) == (tip, {"main"}, set())
    if client is not admin:
        client.close()


# --------------------------------------------------------------------------------------------- writes


def test_a_writable_repo_stays_writable_and_leased_on_every_derived_repository(
    server: InProcessFloe, admin: floe.Client, repo_name: str
) -> None:
    repo = admin.get_repo(repo_name)
    assert repo.write_block is None and repo.commit_protection == "leases"
    author = admin.whoami().email

    for i, (how, derive) in enumerate(DERIVATIONS.items()):
        derived = derive(repo)
        assert isinstance(derived, floe.FloeRepository), how
        assert derived.write_block is None and derived.commit_protection == "leases", how
        session = derived.writable_session("main")
        zarr.open_array(session.store, path="x")[:] = [i] * 4
        snapshot = _waits_for_lease(server, repo_name, "branch.main", session.commit, how)
        assert derived.lookup_branch("main") == snapshot, how
        tip = next(iter(derived.ancestry(branch="main")))
        assert (tip.message, tip.metadata.get("author_email")) == (how, author), how  # the author too
        assert _read(repo) == [i] * 4, how
        branch = f"b{i}"
        _waits_for_lease(server, repo_name, f"branch.{branch}", derived.create_branch, branch, snapshot)
        assert repo.lookup_branch(branch) == snapshot, how


def test_a_failed_write_through_a_reopened_repo_makes_the_client_forget_the_repo(
    admin: floe.Client, repo_name: str
) -> None:
    """The client drops what it remembered of the repo when a write fails, through reopen() too."""
    repo = admin.get_repo(repo_name)
    seen: list[str] = []
    admin._http.event_hooks["request"].append(lambda request: seen.append(request.url.path))
    admin.get_repo(repo_name)
    assert seen == []  # remembered: no request

    with pytest.raises(icechunk.IcechunkError):
        repo.reopen().create_branch("main", "0" * 20)  # main exists: Icechunk refuses
    admin.get_repo(repo_name)
    assert seen == [f"/repos/{repo_name}/open"]
