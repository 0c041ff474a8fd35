"""Find the Icechunk repositories stored under a bucket config's prefix, registered or not.

The server lists the storage itself, with the bucket config's credentials and through its guarded
object-store handle (the operator's egress policy applies to every request), so the people who
ask never hold the keys. The walk is breadth-first over child prefixes ("folders") from the
bucket config's prefix (plus an optional prefix under it), bounded in depth, in listings and in
repos; it never descends into a repo. A prefix is an Icechunk repo when it holds the folders
Icechunk writes first and always: ``refs/`` (branch and tag pointers) and ``snapshots/`` (the
repo's initial snapshot is written at creation). Icechunk 1.x also writes ``manifests/``,
``transactions/``, ``chunks/`` and ``config.yaml`` as needed, but a fresh repo has none of them.

Who may search: principals with ``bucket:use`` on the org (members and up). A search names what
is stored under the prefix, including unregistered data and repos the caller has no grant on;
``bucket:use`` is the permission that already lets a member read the whole bucket (its
credential route), while viewers (``bucket:read``) only see where a bucket config points.
"""

from __future__ import annotations

import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import sqlalchemy as sa

from floe.errors import FloeError, ValidationError
from floe.models import check_prefix
from floe.models.discovery import DiscoveredRepo, DiscoveryResult
from floe.server.auth import Action, Caller
from floe.server.catalog.audit import record
from floe.server.catalog.base import (
    Catalog,
    bucket_row_by_id,
    bucket_row_by_nickname,
    bucket_spec,
    org_row,
    storage_call,
)
from floe.server.catalog.locations import near
from floe.server.db import tables as t
from floe.storage import (
    BucketSpec,
    Location,
    ObjectStore,
    ServerCredentialsOff,
    location_of,
    object_store,
    server_reachable,
)
from floe.storage.base import join_prefix

MAX_DEPTH = 8  # folders below the starting prefix that are looked into
MAX_LISTINGS = 1000  # folder listings per search
MAX_REPOS = 100  # repos reported per search
FOLDER_LIMIT = 1000  # entries read from one folder
SIZE_LIMIT = 10_000  # a repo with more objects than this gets no size (one bounded recursive listing)
SNAPSHOT_LIMIT = 10_000  # more snapshots than this: not counted
MAX_NOTES = 20
STATS_WORKERS = 8
REPO_FOLDERS = frozenset({"refs", "snapshots"})


@dataclass(frozen=True)
class _Registration:
    location: Location
    org_id: str
    name: str
    trashed: bool


def _bucket_row(conn: sa.Connection, org: sa.Row, bucket: str) -> sa.Row:
    """The bucket config by id or, as the other bucket routes accept too, by nickname."""
    try:
        uuid.UUID(str(bucket))
    except ValueError:
        return bucket_row_by_nickname(conn, org, bucket)
    return bucket_row_by_id(conn, org, bucket)


def _relative(full: str, base: str) -> str:
    if not base:
        return full
    return "" if full == base else full.removeprefix(base + "/")


def discover_repos(
    cat: Catalog, principal: Caller, org_name: str, bucket: str, prefix: str | None = None
) -> DiscoveryResult:
    """Every Icechunk repo under the bucket config's prefix (and ``prefix`` under it), with its
    catalog name where it is registered and its snapshot count and size where they are cheap."""
    try:
        relative = check_prefix(prefix or "")
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_USE)
        row = _bucket_row(conn, org, bucket)
        spec = bucket_spec(cat.box, row)
    if not server_reachable(spec):
        raise ValidationError(
            f"bucket config {row.nickname!r} uses {spec.platform} storage, which lives in each client process: "
            "the server cannot look inside it"
        )
    try:
        store = object_store(spec, cat.policy)
    except ServerCredentialsOff as exc:
        raise ServerCredentialsOff(f"cannot search bucket config {row.nickname!r}: {exc.message}") from None

    start = join_prefix(spec.prefix, relative)
    notes: list[str] = []
    found, listings, truncated = _walk(store, spec, start, notes)
    stats = _all_stats(store, spec, found, notes)
    with cat.read() as conn:
        registrations = _registrations(cat, conn, spec)
    repos = []
    for full in found:
        here = location_of(spec.with_changes(prefix=full))
        match = next((r for r in registrations if here is not None and _same(r.location, here)), None)
        ours = match is not None and match.org_id == org.id
        snapshots, size, objects = stats[full]
        repos.append(
            DiscoveredRepo(
                prefix=_relative(full, spec.prefix),
                full_prefix=full,
                catalog_name=f"{org.name}/{match.name}" if ours and not match.trashed else None,
                trashed_as=f"{org.name}/{match.name}" if ours and match.trashed else None,
                registered_elsewhere=match is not None and not ours,
                snapshot_count=snapshots,
                size_bytes=size,
                object_count=objects,
            )
        )
    result = DiscoveryResult(
        org=org.name,
        nickname=row.nickname,
        bucket_prefix=spec.prefix,
        prefix=relative,
        repos=repos,
        listings=listings,
        truncated=truncated,
        notes=notes[:MAX_NOTES],
    )
    with cat.tx() as conn:
        record(
            conn,
            principal,
            "bucket.discover",
            org=org,
            resource=f"{org.name}/buckets/{row.nickname}",
            detail={
                "prefix": start,
                "repos": len(repos),
                "listings": listings,
                "truncated": result.truncated,
            },
        )
    return result


def _where(spec: BucketSpec, prefix: str) -> str:
    return f"{spec.platform}://{spec.name}/{prefix}".rstrip("/")


def _walk(store: ObjectStore, spec: BucketSpec, start: str, notes: list[str]) -> tuple[list[str], int, bool]:
    """Breadth-first from ``start``: the full prefixes of the repos found, the listings made, and
    whether a bound cut the search short (what was cut is in ``notes``)."""
    before = len(notes)
    found: list[str] = []
    queue: deque[tuple[str, int]] = deque([(start, 0)])
    listings = 0
    while queue:
        prefix, depth = queue.popleft()
        if listings >= MAX_LISTINGS:
            notes.append(
                f"stopped after {MAX_LISTINGS} folder listings; search a narrower prefix to see the rest"
            )
            break
        where = _where(spec, prefix)
        listing = storage_call(f"listing {where}", lambda p=prefix: store.list_dir(p, limit=FOLDER_LIMIT))
        listings += 1
        children = {p.rsplit("/", 1)[-1] for p in listing.prefixes}
        if REPO_FOLDERS.issubset(children):
            found.append(prefix)
            if len(found) >= MAX_REPOS:
                if queue:
                    notes.append(f"stopped at {MAX_REPOS} repos; search a narrower prefix to see the rest")
                break
            continue  # never into a repo
        if listing.truncated:
            notes.append(f"{where} holds more than {FOLDER_LIMIT} entries: only the first were looked at")
        if depth >= MAX_DEPTH:
            if listing.prefixes:
                notes.append(f"did not look below {where} (more than {MAX_DEPTH} levels down)")
            continue
        queue.extend((child, depth + 1) for child in listing.prefixes)
    return found, listings, len(notes) > before


def _stats(store: ObjectStore, full: str) -> tuple[int | None, int | None, int | None]:
    """(snapshot count, total bytes, object count) of the repo at ``full``, ``None`` where too many."""
    everything = store.list_dir(full, recursive=True, limit=SIZE_LIMIT)
    snapshots_at = join_prefix(full, "snapshots") + "/"
    if not everything.truncated:
        snapshots = sum(1 for o in everything.objects if o.key.startswith(snapshots_at))
        return snapshots, sum(o.size for o in everything.objects), len(everything.objects)
    listing = store.list_dir(join_prefix(full, "snapshots"), limit=SNAPSHOT_LIMIT)
    return (None if listing.truncated else len(listing.objects)), None, None


def _all_stats(
    store: ObjectStore, spec: BucketSpec, found: list[str], notes: list[str]
) -> dict[str, tuple[int | None, int | None, int | None]]:
    def one(full: str) -> tuple[int | None, int | None, int | None]:
        try:
            return storage_call(f"counting the objects of {_where(spec, full)}", _stats, store, full)
        except FloeError as exc:
            notes.append(f"could not count the objects of {_where(spec, full)}: {exc.message}")
            return None, None, None

    if len(found) <= 1:
        return {full: one(full) for full in found}
    with ThreadPoolExecutor(max_workers=min(STATS_WORKERS, len(found))) as pool:
        return dict(zip(found, pool.map(one, found), strict=True))


def _registrations(cat: Catalog, conn: sa.Connection, spec: BucketSpec) -> list[_Registration]:
    """Every repo location registered (or in a trash) that could be in the same store as ``spec``."""
    found: list[_Registration] = []
    for table, trashed in ((t.repos, False), (t.trashed_repos, True)):
        rows = conn.execute(
            sa.select(
                table.c.name.label("repo_name"),
                table.c.org_id.label("repo_org_id"),
                table.c.prefix.label("repo_prefix"),
                t.buckets,
            )
            .join(t.buckets, t.buckets.c.id == table.c.bucket_id)
            .where(near(spec))
        )
        for row in rows:
            there = location_of(bucket_spec(cat.box, row, decrypt=False).with_changes(prefix=row.repo_prefix))
            if there is not None:
                found.append(_Registration(there, row.repo_org_id, row.repo_name, trashed))
    return found


def _same(a: Location, b: Location) -> bool:
    return a.same_store(b) and a.path.strip("/") == b.path.strip("/")
