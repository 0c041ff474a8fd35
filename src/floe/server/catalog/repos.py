"""Repos: create, import, get, list, modify, status, delete, open."""

from __future__ import annotations

import json
import math
import secrets
from typing import Any

import icechunk
import sqlalchemy as sa

from floe.errors import (
    ConflictError,
    FloeError,
    NotFoundError,
    RepoUnavailableError,
    ValidationError,
)
from floe.models import (
    Author,
    OpenRepoResponse,
    Paginated,
    Repo,
    RepoCreate,
    RepoImport,
    RepoMode,
    RepoStatus,
    RepoStatusUpdate,
    RepoUpdate,
    TempCredentials,
)
from floe.models.common import MAX_PAGE_NUMBER
from floe.server.auth import Action, Caller, decide
from floe.server.catalog import creation, trash
from floe.server.catalog.audit import VendNote, record, record_open, record_vend
from floe.server.catalog.base import (
    Catalog,
    authorize_repo,
    bucket_model,
    bucket_row_by_nickname,
    bucket_spec,
    may,
    now,
    org_and_repo,
    org_row,
    repo_model,
    repo_row,
    storage_call,
    write_metadata,
)
from floe.server.catalog.locations import check_repo_location
from floe.server.catalog.virtual import container_credentials
from floe.server.db import tables as t
from floe.storage import (
    BucketSpec,
    ServerCredentialsOff,
    check_endpoints,
    credentials_for,
    icechunk_storage,
    join_prefix,
    object_store,
    reading_credentials,
    server_may_connect,
)
from floe.storage.probe import icechunk_config_for

MAX_PAGE_SIZE = 1000
MAX_FILTER_LENGTH = 4096  # characters of filter_metadata
MAX_FILTER_TERMS = 20  # values filter_metadata asks for, list items counted one by one


# --- helpers -----------------------------------------------------------------------------


def target_bucket(conn: sa.Connection, org: sa.Row, nickname: str | None) -> sa.Row:
    if nickname:
        return bucket_row_by_nickname(conn, org, nickname)
    if org.default_bucket_id is None:
        raise ValidationError(
            f"org {org.name!r} has no default bucket config: pass bucket_nickname, or set a default "
            "with `floe bucket set-default NICKNAME`"
        )
    return conn.execute(sa.select(t.buckets).where(t.buckets.c.id == org.default_bucket_id)).one()


def check_prefix_free(cat: Catalog, conn: sa.Connection, org: sa.Row, bucket: sa.Row, prefix: str) -> None:
    """No two repos anywhere in the catalog may share a location, or sit one inside the other."""
    check_repo_location(cat, conn, org, bucket_spec(cat.box, bucket, decrypt=False), prefix)


def location_text(spec: BucketSpec, prefix: str) -> str:
    return f"{spec.platform}://{spec.name}/{prefix}"


def _insert_repo(
    conn: sa.Connection,
    org: sa.Row,
    bucket: sa.Row,
    principal: Caller,
    *,
    name: str,
    prefix: str,
    description: str | None,
    metadata: dict[str, Any] | None,
    state: str,
) -> Repo:
    repo_id = secrets.token_hex(12)
    stamp = now()
    conn.execute(
        sa.insert(t.repos).values(
            id=repo_id,
            org_id=org.id,
            name=name,
            bucket_id=bucket.id,
            prefix=prefix,
            kind="icechunk",
            description=description,
            metadata=metadata,
            status_mode=RepoMode.online.value,
            status_initiated_by={},
            created=stamp,
            updated=stamp,
            created_by=principal.id,
            state=state,
        )
    )
    write_metadata(conn, org.id, repo_id, metadata)
    row = conn.execute(sa.select(t.repos).where(t.repos.c.id == repo_id)).one()
    return repo_model(row, org.name, bucket_model(bucket, org.default_bucket_id))


def _ensure_name_free(conn: sa.Connection, org: sa.Row, name: str) -> None:
    if conn.execute(
        sa.select(t.repos.c.id).where(t.repos.c.org_id == org.id, t.repos.c.name == name)
    ).first():
        raise ConflictError(f"repo {org.name}/{name} already exists; pick another name or delete it first")


# --- operations --------------------------------------------------------------------------


def create_repo(cat: Catalog, principal: Caller, org_name: str, body: RepoCreate) -> Repo:
    """Register a repo at an empty prefix; with ``create_mode="create"`` also create the Icechunk repo.

    The prefix must hold nothing yet, so that deleting a repo whose creation failed can never
    remove someone else's data. Nothing is left in the catalog when storage refuses.
    """
    if body.create_mode == "import":
        if not body.prefix:
            raise ValidationError("create_mode 'import' needs a prefix where the Icechunk repo exists")
        return import_repo(
            cat,
            principal,
            org_name,
            RepoImport(
                name=body.name,
                description=body.description,
                bucket_nickname=body.bucket_nickname,
                metadata=body.metadata,
                prefix=body.prefix,
            ),
        )
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.REPO_WRITE)
        bucket = target_bucket(conn, org, body.bucket_nickname)
        _ensure_name_free(conn, org, body.name)
    spec = bucket_spec(cat.box, bucket)
    prefix = join_prefix(spec.prefix, body.prefix or f"{secrets.token_hex(6)}-{body.name}")
    with cat.read() as conn:
        check_prefix_free(cat, conn, org, bucket, prefix)
    if spec.auth_method == "anonymous":
        raise ValidationError(
            f"bucket config {bucket.nickname!r} uses anonymous access, which is read-only: repos cannot be "
            "created there; import an existing repo instead, or give the bucket config credentials"
        )
    why_not = server_may_connect(spec, cat.policy)
    if why_not and body.create_mode == "create":
        raise ServerCredentialsOff(
            f"the server cannot create the Icechunk repo: {why_not}; register the repo and create it from "
            "the client (the default create_mode)"
        )
    # From_env without the operator's consent: the server cannot look, and cannot delete either.
    store = None if why_not else object_store(spec, cat.policy)
    if store is not None and not storage_call(
        f"checking {location_text(spec, prefix)}", store.is_empty, prefix
    ):
        raise ConflictError(
            f"{location_text(spec, prefix)} already holds data; to register an existing Icechunk repo use "
            "import (`floe repo import`), or choose another prefix"
        )
    if store is None or body.create_mode != "create":
        # registered: ready once its creator has created the Icechunk repo (see catalog.creation);
        # a server that may not look at the storage cannot tell, and takes the creator's word
        state = creation.REGISTERED if store is not None else creation.READY
        return _register(cat, principal, org_name, bucket, body, prefix, state=state)
    # Two phases, so that a crash leaves nothing the reaper cannot finish or remove: the entry first
    # (state creating: never opened nor vended), then the Icechunk repo, then the entry is ready.
    repo = _register(cat, principal, org_name, bucket, body, prefix, state=creation.CREATING)
    storage = icechunk_storage(spec, prefix, credentials_for(spec, prefix=prefix, policy=cat.policy))
    try:
        storage_call(
            f"creating the Icechunk repo at {location_text(spec, prefix)}",
            icechunk.Repository.create,
            storage,
            icechunk_config_for(bucket.capabilities, None),
        )
    except FloeError:
        store.delete_prefix(prefix)
        creation.remove_entry(cat, repo.id, creation.CREATING)
        raise
    if not creation.mark_ready(cat, repo.id):
        raise ConflictError(
            f"repo {org_name}/{body.name} was removed while it was being created; create it again"
        )
    return repo.model_copy(update={"state": creation.READY})


def import_repo(cat: Catalog, principal: Caller, org_name: str, body: RepoImport) -> Repo:
    """Register an Icechunk repo that already exists at a prefix (relative to the bucket config's prefix)."""
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.REPO_WRITE)
        bucket = target_bucket(conn, org, body.bucket_nickname)
        _ensure_name_free(conn, org, body.name)
        spec = bucket_spec(cat.box, bucket)
        prefix = join_prefix(spec.prefix, body.prefix)
        check_prefix_free(cat, conn, org, bucket, prefix)
    if server_may_connect(spec, cat.policy) is None:
        check_endpoints(spec, cat.policy)
        creds, _ = reading_credentials(spec, prefix=prefix, policy=cat.policy)  # the server's own look
        storage = icechunk_storage(spec, prefix, creds)
        where = location_text(spec, prefix)
        if not storage_call(f"looking for an Icechunk repo at {where}", icechunk.Repository.exists, storage):
            raise NotFoundError(f"no Icechunk repo found at {where}; check the bucket config and prefix")
    return _register(cat, principal, org_name, bucket, body, prefix, state=creation.READY)


def _register(
    cat: Catalog,
    principal: Caller,
    org_name: str,
    bucket: sa.Row,
    body: RepoCreate | RepoImport,
    prefix: str,
    *,
    state: str,
) -> Repo:
    """Insert the catalog entry, checking again (in the transaction) that name and prefix are free."""
    try:
        with cat.tx() as conn:
            org = org_row(conn, principal, org_name, Action.REPO_WRITE)
            _ensure_name_free(conn, org, body.name)
            check_prefix_free(cat, conn, org, bucket, prefix)
            repo = _insert_repo(
                conn,
                org,
                bucket,
                principal,
                name=body.name,
                prefix=prefix,
                description=body.description,
                metadata=body.metadata,
                state=state,
            )
            record(
                conn,
                principal,
                "repo.import" if isinstance(body, RepoImport) else "repo.create",
                org=org,
                resource=f"{org.name}/{body.name}",
                detail={"bucket": bucket.nickname, "prefix": prefix},
            )
            return repo
    except sa.exc.IntegrityError:
        raise ConflictError(
            f"repo {org_name}/{body.name} or its prefix was taken meanwhile; try again"
        ) from None


def with_bucket(conn: sa.Connection, org: sa.Row, row: sa.Row) -> Repo:
    bucket = conn.execute(sa.select(t.buckets).where(t.buckets.c.id == row.bucket_id)).one()
    return repo_model(row, org.name, bucket_model(bucket, org.default_bucket_id))


def get_repo(cat: Catalog, principal: Caller, org_name: str, name: str) -> Repo:
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.REPO_READ)
        return with_bucket(conn, org, repo_row(conn, org, name))


def parse_metadata_filter(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f'filter_metadata must be a JSON object, e.g. {{"project": "era5"}}: {exc.msg}'
        ) from None
    if not isinstance(value, dict):
        raise ValidationError('filter_metadata must be a JSON object, e.g. {"project": "era5"}')
    terms = 0
    for key, item in value.items():
        items = item if isinstance(item, list) else [item]
        if any(isinstance(i, dict | list) for i in items):
            raise ValidationError(
                f"filter_metadata: the value of {key[:40]!r} must be a string, number, boolean or null, "
                "or a list of them"
            )
        terms += len(items)
    if terms > MAX_FILTER_TERMS:
        raise ValidationError(
            f"filter_metadata asks for {terms} values; at most {MAX_FILTER_TERMS} (keys and list items)"
        )
    return value


def list_repos(
    cat: Catalog,
    principal: Caller,
    org_name: str,
    *,
    page: int = 1,
    size: int = 50,
    filter_metadata: dict[str, Any] | None = None,
    name_contains: str | None = None,
) -> Paginated[Repo]:
    """One page of an org's repos, by name; ``filter_metadata`` keeps repos whose metadata
    has every given key with the given value (or, for list-valued metadata, containing it), and
    ``name_contains`` those whose name contains it (ignoring case)."""
    if not 1 <= page <= MAX_PAGE_NUMBER:
        raise ValidationError(f"page must be between 1 and {MAX_PAGE_NUMBER}")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationError(f"size must be between 1 and {MAX_PAGE_SIZE}")
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.REPO_READ)
        # With a metadata filter, the repos are its matches found by id (below); their org stays a
        # condition, but one that no index serves, or SQLite (which keeps no statistics) walks every
        # repo of the org through the org_id index instead, one random read each, to test it.
        in_org = t.repos.c.org_id.concat("") if filter_metadata else t.repos.c.org_id
        where = [in_org == org.id]
        if name_contains:
            escaped = name_contains.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(sa.func.lower(t.repos.c.name).like(f"%{escaped}%", escape="\\"))
        md = t.repo_metadata
        for key, value in (filter_metadata or {}).items():
            for item in value if isinstance(value, list) else [value]:
                # the org's rows with this key and value: one range of ix_repo_metadata_org_key_value,
                # as long as the matches, whatever the size of the org or of the catalog
                matching = sa.select(md.c.repo_id).where(
                    md.c.org_id == org.id, md.c.key == key, md.c.value == json.dumps(item)
                )
                where.append(t.repos.c.id.in_(matching))
        total = conn.execute(sa.select(sa.func.count()).select_from(t.repos).where(*where)).scalar_one()
        rows = conn.execute(
            sa.select(t.repos, t.buckets)
            .join(t.buckets, t.buckets.c.id == t.repos.c.bucket_id)
            .where(*where)
            .order_by(t.repos.c.name)
            .offset((page - 1) * size)
            .limit(size)
        ).all()
        items = []
        for row in rows:
            repo, bucket = split_repo_bucket(row)
            items.append(repo_model(repo, org.name, bucket_model(bucket, org.default_bucket_id)))
        return Paginated[Repo](
            items=items, total=total, page=page, size=size, pages=max(1, math.ceil(total / size))
        )


class Attrs(dict):
    """A plain row stand-in with attribute access (for joined selects that share column names)."""

    __getattr__ = dict.__getitem__


def split_repo_bucket(row: sa.Row) -> tuple[Attrs, Attrs]:
    """The repo and bucket halves of a ``select(repos, buckets, ...)`` row (their column names overlap)."""
    mapping = row._mapping
    repo = Attrs({c.name: mapping[c] for c in t.repos.c})
    bucket = Attrs({c.name: mapping[c] for c in t.buckets.c})
    return repo, bucket


def modify_repo(cat: Catalog, principal: Caller, org_name: str, name: str, body: RepoUpdate) -> Repo:
    with cat.tx() as conn:
        org, row = org_and_repo(conn, principal, org_name, name, Action.REPO_WRITE)
        metadata = dict(row.metadata or {})
        for key, value in (body.add_metadata or {}).items():
            if key in metadata:
                raise ConflictError(f"metadata key {key!r} already exists; use update_metadata to change it")
            metadata[key] = value
        for key, value in (body.update_metadata or {}).items():
            metadata[key] = value
        for key in body.remove_metadata or []:
            if key not in metadata:
                raise ValidationError(f"metadata key {key!r} does not exist, so it cannot be removed")
            del metadata[key]
        values: dict[str, Any] = {"metadata": metadata, "updated": now()}
        if body.description is not None:
            values["description"] = body.description
        conn.execute(sa.update(t.repos).where(t.repos.c.id == row.id).values(**values))
        write_metadata(conn, org.id, row.id, metadata)
        record(
            conn,
            principal,
            "repo.modify",
            org=org,
            resource=f"{org.name}/{name}",
            detail=body.model_dump(exclude_none=True, mode="json"),
        )
        return with_bucket(conn, org, repo_row(conn, org, name))


def set_status(
    cat: Catalog, principal: Caller, org_name: str, name: str, body: RepoStatusUpdate
) -> RepoStatus:
    with cat.tx() as conn:
        org, row = org_and_repo(conn, principal, org_name, name, Action.REPO_ADMIN)
        initiated_by = {"principal_id": principal.id, "name": principal.label, "at": now().isoformat()}
        conn.execute(
            sa.update(t.repos)
            .where(t.repos.c.id == row.id)
            .values(
                status_mode=body.mode.value,
                status_message=body.message,
                status_initiated_by=initiated_by,
                updated=now(),
            )
        )
        record(
            conn,
            principal,
            "repo.status",
            org=org,
            resource=f"{org.name}/{name}",
            detail={"mode": body.mode.value, "message": body.message},
        )
        return RepoStatus(mode=body.mode, message=body.message, initiated_by=initiated_by)


def delete_repo(
    cat: Catalog, principal: Caller, org_name: str, name: str, *, keep_data: bool = False
) -> str | None:
    """Delete a repo: move it to the org's trash, objects kept until purged; returns the trash id.

    With ``keep_data`` the entry is only unregistered (no trash: the objects are left where they
    are, for whoever registers them again). Nothing is deleted from storage here: only a purge
    deletes objects (see ``trash``). Repo admins may delete any repo; whoever created a repo (and
    may still write) may delete it too.
    """
    with cat.tx() as conn:
        org, row = org_and_repo(conn, principal, org_name, name, Action.REPO_READ)
        own = row.created_by == principal.id and may(conn, principal, Action.REPO_WRITE, org.id, row.id)
        if not own:
            authorize_repo(conn, principal, Action.REPO_ADMIN, org, row)
        bucket = conn.execute(sa.select(t.buckets).where(t.buckets.c.id == row.bucket_id)).one()
        trash_id = None
        if keep_data:
            conn.execute(sa.delete(t.repos).where(t.repos.c.id == row.id))
        else:
            trash_id = trash.trash_repo(cat, conn, principal, org, row)
        detail = {
            "bucket": bucket.nickname,
            "prefix": row.prefix,
            "keep_data": keep_data,
            "trash_id": trash_id,
        }
        record(conn, principal, "repo.delete", org=org, resource=f"{org_name}/{name}", detail=detail)
    return trash_id


def repo_credentials(
    cat: Catalog, principal: Caller, org_name: str, name: str, *, read_only: bool = False
) -> TempCredentials | None:
    """Credentials for one repo: read-only ones unless the caller may write and did not ask to read only."""
    with cat.read() as conn:
        org, row = org_and_repo(conn, principal, org_name, name, Action.REPO_READ)
        bucket = conn.execute(sa.select(t.buckets).where(t.buckets.c.id == row.bucket_id)).one()
        read_only = read_only or not may(conn, principal, Action.REPO_WRITE, org.id, row.id)
    creation.check_openable(cat, principal, row, bucket, f"{org_name}/{name}")
    creds = credentials_for(
        bucket_spec(cat.box, bucket), prefix=row.prefix, read_only=read_only, policy=cat.policy
    )
    if creds is not None:
        with cat.tx() as conn:
            record_vend(
                conn,
                principal,
                org,
                f"{org_name}/{name}",
                bucket,
                read_only=read_only,
                window_seconds=cat.audit_vend_window_seconds,
            )
    return creds


# Whether the repo has virtual chunk containers: their query runs only for the repos that have some.
_HAS_CONTAINERS = sa.exists().where(t.virtual_containers.c.repo_id == t.repos.c.id).label("has_containers")
# Built once: statement construction costs more than running it on the hot path.
OPEN_QUERY = (
    sa.select(t.repos, t.buckets, t.orgs.c.default_bucket_id, _HAS_CONTAINERS)
    .select_from(t.repos)
    .join(t.orgs, t.orgs.c.id == t.repos.c.org_id)
    .join(t.buckets, t.buckets.c.id == t.repos.c.bucket_id)
    .where(t.orgs.c.name == sa.bindparam("org"), t.repos.c.name == sa.bindparam("name"))
)


def open_repo(
    cat: Catalog,
    principal: Caller,
    org_name: str,
    name: str,
    *,
    read_only: bool = False,
    describe_offline: bool = False,
) -> tuple[OpenRepoResponse, VendNote | None]:
    """Everything needed to open a repo, from one query and no storage round trip, and what it vended
    (recorded in the audit trail already), or None.

    Readers, and callers asking for ``read_only``, receive credentials that can only read. An offline
    repo is a 423, or with ``describe_offline`` an answer without credentials whose status says so.
    """
    with cat.read() as conn:
        found = conn.execute(OPEN_QUERY, {"org": org_name, "name": name}).first()
        if found is None:
            org_row(conn, principal, org_name, Action.REPO_READ)  # 404 for the org, or for the repo below
            raise NotFoundError(
                f"repo {org_name}/{name} not found; `floe repo list {org_name}` shows the repos"
            )
        mapping = found._mapping
        repo, bucket = split_repo_bucket(found)
        org = Attrs(id=repo.org_id, name=org_name)
        if not decide(principal, Action.REPO_READ, repo.org_id):
            authorize_repo(conn, principal, Action.REPO_READ, org, repo)
        offline = repo.status_mode == RepoMode.offline.value
        if offline and not describe_offline:
            raise RepoUnavailableError(
                f"repo {org_name}/{name} is offline ({repo.status_message or 'no reason given'}); try again later"
            )
        # before any credentials are made: an entry still being created is not opened (see creation)
        repo["state"] = creation.check_openable(cat, principal, repo, bucket, f"{org_name}/{name}")
        containers = {}
        if mapping["has_containers"] and not offline:
            containers = container_credentials(cat, conn, repo.id, org_name)
        can_write = may(conn, principal, Action.REPO_WRITE, repo.org_id, repo.id)
    bucket_resp = bucket_model(bucket, mapping[t.orgs.c.default_bucket_id])
    reading = read_only or not can_write
    creds = None
    if not offline:
        creds = credentials_for(
            bucket_spec(cat.box, bucket), prefix=repo.prefix, read_only=reading, policy=cat.policy
        )
    note = None
    if creds is not None or containers:
        note = VendNote(
            org_id=repo.org_id,
            org_name=org_name,
            resource=f"{org_name}/{name}",
            read_only=reading,
            bucket_nickname=bucket.nickname if creds is not None else None,
            platform=bucket.platform,
            auth_method=bucket.auth_method,
            containers=tuple(sorted(containers)),
        )
        with cat.tx() as conn:
            record_open(conn, principal, note, window_seconds=cat.audit_vend_window_seconds)
    opened = OpenRepoResponse(
        repo_bucket=bucket_resp,
        repo_prefix=repo.prefix,
        repo_credentials=creds,
        author=Author(name=principal.name, email=principal.email),
        principal_id=principal.id,
        status=RepoStatus(
            mode=repo.status_mode, message=repo.status_message, initiated_by=repo.status_initiated_by or {}
        ),
        repo=repo_model(repo, org_name, bucket_resp),
        can_write=can_write,
        virtual_chunk_credentials=containers,
    )
    return opened, note
