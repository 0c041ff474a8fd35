"""Storage locations belong to one org.

- ``file`` bucket configs of an org point inside that org's own folder under each of the
  server's file roots (``ROOT/ORG``), never at a root itself nor into another org's folder;
- no bucket config, on any platform, overlaps a location registered by another org (same
  store and bucket, one prefix containing the other);
- no repo's prefix is, contains or lies inside another repo's, anywhere in the catalog.

A site admin may share a location with an org (:func:`share_location`): the org's bucket
configs may then point inside it, even where that overlaps other orgs' locations, and (for
``file``) outside the org's own folders.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa

from floe.errors import ConflictError, NotFoundError, ValidationError
from floe.models import SharedLocation, SharedLocationCreate
from floe.server.auth import Action, Caller
from floe.server.catalog.audit import record
from floe.server.catalog.base import Catalog, aware, bucket_spec, now, org_row, serialize
from floe.server.db import tables as t
from floe.storage import (
    NESTED_NAME_PLATFORMS,
    BucketSpec,
    Location,
    StoragePolicy,
    location_of,
    location_only,
    location_root,
    normalize,
    server_reachable,
    store_settings,
)

# Every check of storage locations (bucket configs' and repos') runs under this one lock.
LOCATIONS_LOCK = "floe:storage-locations"

_SHARING_HINT = (
    "a site admin can share that location with this org (`floe org share-location ORG URI`) if both orgs "
    "are meant to use it"
)


def org_policy(cat: Catalog, conn: sa.Connection, org: sa.Row) -> StoragePolicy:
    """The storage policy for one org: its own folder under each file root, plus shared folders."""
    roots = [Path(root) / org.name for root in cat.policy.file_roots]
    for row in _shared_rows(conn, org.id):
        root = location_root(_shared_spec(row))
        if root is not None:
            roots.append(root)
    return cat.policy.with_file_roots(tuple(roots))


def _shared_rows(
    conn: sa.Connection, org_id: str | None = None, *, others_of: str | None = None
) -> list[sa.Row]:
    query = sa.select(t.shared_locations, t.orgs.c.name.label("org_name")).join(
        t.orgs, t.orgs.c.id == t.shared_locations.c.org_id
    )
    if org_id is not None:
        query = query.where(t.shared_locations.c.org_id == org_id)
    if others_of is not None:
        query = query.where(t.shared_locations.c.org_id != others_of)
    return list(conn.execute(query).all())


def _shared_spec(row: sa.Row) -> BucketSpec:
    return BucketSpec(platform=row.platform, name=row.name, prefix=row.prefix, extra_config=row.extra_config)


def _shared_location(row: sa.Row) -> Location | None:
    return location_of(_shared_spec(row))


def near(spec: BucketSpec) -> sa.ColumnElement[bool]:
    """Bucket configs that could share a store location with ``spec``: the same bucket name, or a
    platform whose names are paths that can lie inside one another (``file``)."""
    return sa.or_(t.buckets.c.name == spec.name, t.buckets.c.platform.in_(NESTED_NAME_PLATFORMS))


def check_bucket_location(
    cat: Catalog, conn: sa.Connection, org: sa.Row, spec: BucketSpec, *, except_id: str | None = None
) -> None:
    """Refuse a bucket config whose location overlaps one registered by another org (409),
    unless a site admin shared a location containing it with this org."""
    serialize(conn, LOCATIONS_LOCK)
    here = location_of(spec)
    if here is None:
        return
    if any((loc := _shared_location(r)) and loc.contains(here) for r in _shared_rows(conn, org.id)):
        return
    rows = conn.execute(
        sa.select(t.buckets).where(
            t.buckets.c.org_id != org.id,
            t.buckets.c.id != (except_id or ""),
            near(spec),
        )
    )
    for row in rows:
        there = location_of(bucket_spec(cat.box, row, decrypt=False))
        if there is not None and there.overlaps(here):
            raise ConflictError(
                f"{_describe(spec)} overlaps storage that another org has registered: choose another bucket "
                f"or prefix; {_SHARING_HINT}"
            )
    for row in _shared_rows(conn, others_of=org.id):
        there = _shared_location(row)
        if there is not None and there.overlaps(here):
            raise ConflictError(
                f"{_describe(spec)} overlaps storage that a site admin has given to another org: choose "
                f"another bucket or prefix; {_SHARING_HINT}"
            )


def check_repo_location(
    cat: Catalog, conn: sa.Connection, org: sa.Row, spec: BucketSpec, prefix: str
) -> None:
    """Refuse (409) a repo prefix that is, contains or lies inside any registered repo's prefix,
    in any bucket config of any org. In a write transaction, this holds the locations lock until it
    ends, so two transactions cannot both find overlapping locations free."""
    serialize(conn, LOCATIONS_LOCK)
    here = location_of(spec.with_changes(prefix=prefix))
    if here is None:
        return
    live = sa.select(
        t.repos.c.name.label("repo_name"),
        t.repos.c.org_id.label("repo_org_id"),
        t.repos.c.prefix.label("repo_prefix"),
        sa.literal(False).label("in_trash"),
        t.buckets,
    ).join(t.buckets, t.buckets.c.id == t.repos.c.bucket_id)
    # A trashed repo keeps its location until it is purged: nothing may be created over its objects.
    trashed = sa.select(
        t.trashed_repos.c.name.label("repo_name"),
        t.trashed_repos.c.org_id.label("repo_org_id"),
        t.trashed_repos.c.prefix.label("repo_prefix"),
        sa.literal(True).label("in_trash"),
        t.buckets,
    ).join(t.buckets, t.buckets.c.id == t.trashed_repos.c.bucket_id)
    for query in (live.where(near(spec)), trashed.where(near(spec))):
        for row in conn.execute(query):
            bucket = bucket_spec(cat.box, row, decrypt=False)
            there = location_of(bucket.with_changes(prefix=row.repo_prefix))
            if there is None or not there.overlaps(here):
                continue
            whose = (
                f"repo {org.name}/{row.repo_name}" if row.repo_org_id == org.id else "a repo of another org"
            )
            if row.in_trash:
                whose += (
                    f" in the trash (its objects are kept until purged: `floe repo purge {org.name}/...`)"
                )
            raise ConflictError(
                f"prefix {prefix!r} overlaps {whose} (one prefix contains the other): choose another prefix"
            )


def _describe(spec: BucketSpec) -> str:
    return f"location {spec.platform}://{spec.name}{'/' + spec.prefix if spec.prefix else ''}"


# --- site admins share locations ----------------------------------------------------------------


def _model(row: sa.Row, org_name: str) -> SharedLocation:
    return SharedLocation(
        id=row.id,
        org=org_name,
        platform=row.platform,
        name=row.name,
        prefix=row.prefix,
        extra_config=dict(row.extra_config),
        created=aware(row.created),
        created_by=row.created_by,
    )


def list_shared(cat: Catalog, principal: Caller, org_name: str) -> list[SharedLocation]:
    """Locations shared with an org (org admins and site admins)."""
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        return [_model(r, org.name) for r in _shared_rows(conn, org.id)]


def share_location(
    cat: Catalog, principal: Caller, org_name: str, body: SharedLocationCreate
) -> SharedLocation:
    """Let an org use a location (site admins only); it is validated like a bucket config."""
    try:
        spec = normalize(
            location_only(body.platform, body.name, body.prefix, body.extra_config),
            cat.policy.with_file_roots((Path("/"),)),
        )
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    if not server_reachable(spec):
        raise ValidationError("memory storage lives in each client process: there is nothing to share")
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.SITE_ADMIN)
        location_id = str(uuid.uuid4())
        conn.execute(
            sa.insert(t.shared_locations).values(
                id=location_id,
                org_id=org.id,
                platform=spec.platform,
                name=spec.name,
                prefix=spec.prefix,
                # what names the store; the rest of a bucket config's settings do not matter here
                extra_config=store_settings(spec),
                created=now(),
                created_by=principal.id,
            )
        )
        record(
            conn,
            principal,
            "location.share",
            org=org,
            resource=f"{org.name}/locations/{location_id}",
            detail={"platform": spec.platform, "bucket": spec.name, "prefix": spec.prefix},
        )
        row = conn.execute(sa.select(t.shared_locations).where(t.shared_locations.c.id == location_id)).one()
        return _model(row, org.name)


def unshare_location(cat: Catalog, principal: Caller, org_name: str, location_id: str) -> None:
    """Stop sharing a location (site admins); refused while bucket configs of the org rely on it."""
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.SITE_ADMIN)
        row = conn.execute(
            sa.select(t.shared_locations).where(
                t.shared_locations.c.id == location_id, t.shared_locations.c.org_id == org.id
            )
        ).first()
        if row is None:
            raise NotFoundError(
                f"no shared location {location_id!r} in org {org.name!r}; `floe org locations {org.name}` lists them"
            )
        shared = _shared_location(row)
        users = [
            b.nickname
            for b in conn.execute(sa.select(t.buckets).where(t.buckets.c.org_id == org.id))
            if shared is not None
            and (loc := location_of(bucket_spec(cat.box, b, decrypt=False))) is not None
            and shared.contains(loc)
        ]
        if users:
            raise ConflictError(
                f"bucket config(s) {', '.join(sorted(users))} of org {org.name!r} lie in that location: "
                "delete them first"
            )
        conn.execute(sa.delete(t.shared_locations).where(t.shared_locations.c.id == location_id))
        record(conn, principal, "location.unshare", org=org, resource=f"{org.name}/locations/{location_id}")
