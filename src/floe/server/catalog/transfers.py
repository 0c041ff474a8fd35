"""Copying and moving repos: the catalog steps around a client-side copy.

The server never copies bytes: the client does, with the credentials these steps vend. What the
catalog guarantees is that nobody opens a copy before it is complete and verified:

* ``copy_target`` registers the destination **offline** ("being copied from ORG/SRC") in the same
  transaction that inserts it, and hands out read credentials for the source and write
  credentials for the destination; called again by the same principal for the same source, it
  resumes. ``copy_complete`` sets the destination online once the client has verified it.
* ``move_target`` sets the repo offline ("being moved to ...") and reserves the new location as a
  temporary offline entry ``_moving-REPO``; ``move_complete`` then, in one transaction, puts the old
  location in the trash (reason ``moved``), drops the temporary entry and points the repo (same
  id, name, grants, metadata, history) at the new location, restoring its earlier status.
  ``move_abort`` restores the status and keeps the temporary entry, so a re-run resumes.
"""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa

from floe.errors import ConflictError, NotFoundError, RepoUnavailableError, ValidationError
from floe.models import Author, OpenRepoResponse, RepoMode, RepoStatus, check_name
from floe.models.transfers import (
    COPYING_MESSAGE,
    MOVE_TARGET_MESSAGE,
    MOVING_MESSAGE,
    CopyTargetRequest,
    MoveResult,
    MoveTargetRequest,
    TransferPlan,
    move_target_name,
)
from floe.server.auth import Action, Caller
from floe.server.catalog import creation
from floe.server.catalog.audit import record, record_vend
from floe.server.catalog.base import (
    Catalog,
    authorize_repo,
    bucket_model,
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
from floe.server.catalog.repos import (
    OPEN_QUERY,
    Attrs,
    check_prefix_free,
    location_text,
    split_repo_bucket,
    target_bucket,
    with_bucket,
)
from floe.server.db import tables as t
from floe.storage import ReaderKeysMissing, credentials_for, join_prefix, object_store, server_may_connect


def _split(full: str) -> tuple[str, str]:
    parts = full.split("/")
    if len(parts) != 2:
        raise ValidationError(f"invalid repo name {full!r}: expected ORG/REPO")
    try:
        check_name(parts[0], entity="org", max_length=64)
        check_name(parts[1], entity="repo")
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    return parts[0], parts[1]


def _answer(
    cat: Catalog, principal: Caller, org_name: str, name: str, *, read_only: bool
) -> OpenRepoResponse:
    """An ``open`` answer whatever the repo's status (the caller has checked who may have it)."""
    with cat.read() as conn:
        found = conn.execute(OPEN_QUERY, {"org": org_name, "name": name}).first()
        if found is None:
            raise NotFoundError(f"repo {org_name}/{name} not found")
        mapping = found._mapping
        repo, bucket = split_repo_bucket(found)
        can_write = may(conn, principal, Action.REPO_WRITE, repo.org_id, repo.id)
    repo["state"] = creation.check_openable(cat, principal, repo, bucket, f"{org_name}/{name}")
    reading = read_only or not can_write
    bucket_resp = bucket_model(bucket, mapping[t.orgs.c.default_bucket_id])
    spec = bucket_spec(cat.box, bucket)
    try:
        creds = credentials_for(spec, prefix=repo.prefix, read_only=reading, policy=cat.policy)
    except ReaderKeysMissing:
        if not can_write:
            raise
        # an hmac config without a read-only pair: whoever may write reads with the write keys
        reading = False
        creds = credentials_for(spec, prefix=repo.prefix, read_only=False, policy=cat.policy)
    if creds is not None:
        with cat.tx() as conn:
            org = Attrs(id=repo.org_id, name=org_name)
            record_vend(
                conn,
                principal,
                org,
                f"{org_name}/{name}",
                bucket,
                read_only=reading,
                window_seconds=cat.audit_vend_window_seconds,
            )
    return OpenRepoResponse(
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
    )


def _initiated(principal: Caller, **extra: Any) -> dict[str, Any]:
    return {"principal_id": principal.id, "name": principal.label, "at": now().isoformat(), **extra}


def _check_new_location(
    cat: Catalog, org: sa.Row, bucket: sa.Row, relative_prefix: str | None, name: str
) -> str:
    """The full prefix for a new repo location: free in the catalog and empty in storage."""
    spec = bucket_spec(cat.box, bucket)
    if spec.auth_method == "anonymous":
        raise ValidationError(
            f"bucket config {bucket.nickname!r} uses anonymous access, which is read-only: nothing can be "
            "copied there; give the bucket config credentials"
        )
    prefix = join_prefix(spec.prefix, relative_prefix or f"{secrets.token_hex(6)}-{name}")
    with cat.read() as conn:
        check_prefix_free(cat, conn, org, bucket, prefix)
    if server_may_connect(spec, cat.policy) is None:
        store = object_store(spec, cat.policy)
        where = location_text(spec, prefix)
        if not storage_call(f"checking {where}", store.is_empty, prefix):
            raise ConflictError(f"{where} already holds data; choose another prefix")
    return prefix


def _insert_offline(
    conn: sa.Connection,
    org: sa.Row,
    bucket: sa.Row,
    principal: Caller,
    *,
    name: str,
    prefix: str,
    message: str,
    description: str | None,
    metadata: dict[str, Any] | None,
) -> str:
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
            status_mode=RepoMode.offline.value,
            status_message=message,
            status_initiated_by=_initiated(principal),
            created=stamp,
            updated=stamp,
            created_by=principal.id,
        )
    )
    write_metadata(conn, org.id, repo_id, metadata)
    return repo_id


def _taken(org_name: str, name: str) -> ConflictError:
    return ConflictError(
        f"repo {org_name}/{name} already exists; copy to another name, or delete it first "
        f"(`floe repo delete {org_name}/{name}`)"
    )


# --- copy -------------------------------------------------------------------------------------


def copy_target(
    cat: Catalog, principal: Caller, org_name: str, name: str, body: CopyTargetRequest
) -> TransferPlan:
    """Register ``org_name/name`` offline as the copy of ``body.source`` (or resume an earlier copy)."""
    src_org, src_name = _split(body.source)
    check_name(name, entity="repo")
    if (src_org, src_name) == (org_name, name):
        raise ValidationError("a repo cannot be copied onto itself: give another destination name")
    message = COPYING_MESSAGE.format(source=body.source)
    with cat.read() as conn:
        _, source = org_and_repo(conn, principal, src_org, src_name, Action.REPO_READ)
        if source.status_mode == RepoMode.offline.value:
            raise RepoUnavailableError(
                f"repo {body.source} is offline ({source.status_message or 'no reason given'}); it cannot be "
                "copied until it is online again"
            )
        org = org_row(conn, principal, org_name, Action.REPO_WRITE)
        existing = conn.execute(
            sa.select(t.repos).where(t.repos.c.org_id == org.id, t.repos.c.name == name)
        ).first()
        bucket = target_bucket(conn, org, body.bucket_nickname) if existing is None else None
    resumed = existing is not None
    if existing is not None:
        if existing.status_mode != RepoMode.offline.value or existing.status_message != message:
            raise _taken(org_name, name)
        with cat.read() as conn:
            own = existing.created_by == principal.id and may(
                conn, principal, Action.REPO_WRITE, org.id, existing.id
            )
            if not own:
                authorize_repo(conn, principal, Action.REPO_ADMIN, org, existing)
            wanted = target_bucket(conn, org, body.bucket_nickname)
        if wanted.id != existing.bucket_id or (
            body.prefix is not None and join_prefix(wanted.prefix, body.prefix) != existing.prefix
        ):
            raise ConflictError(
                f"repo {org_name}/{name} is being copied from {body.source} to another location "
                f"({existing.prefix!r} of another bucket config or prefix): re-run the copy with the same "
                "--bucket and --prefix, or delete it first"
            )
    else:
        assert bucket is not None
        prefix = _check_new_location(cat, org, bucket, body.prefix, name)
        try:
            with cat.tx() as conn:
                org = org_row(conn, principal, org_name, Action.REPO_WRITE)
                if conn.execute(
                    sa.select(t.repos.c.id).where(t.repos.c.org_id == org.id, t.repos.c.name == name)
                ).first():
                    raise _taken(org_name, name)
                check_prefix_free(cat, conn, org, bucket, prefix)
                _insert_offline(
                    conn,
                    org,
                    bucket,
                    principal,
                    name=name,
                    prefix=prefix,
                    message=message,
                    description=source.description,
                    metadata=source.metadata,
                )
                record(
                    conn,
                    principal,
                    "repo.create",
                    org=org,
                    resource=f"{org_name}/{name}",
                    detail={"bucket": bucket.nickname, "prefix": prefix, "copy_of": body.source},
                )
        except sa.exc.IntegrityError:
            raise ConflictError(
                f"repo {org_name}/{name} or its prefix was taken meanwhile; try again"
            ) from None
    return TransferPlan(
        source=_answer(cat, principal, src_org, src_name, read_only=True),
        target=_answer(cat, principal, org_name, name, read_only=False),
        target_name=f"{org_name}/{name}",
        resumed=resumed,
    )


def copy_complete(cat: Catalog, principal: Caller, org_name: str, name: str, source: str) -> RepoStatus:
    """Set a verified copy online (its creator, or a repo admin)."""
    message = COPYING_MESSAGE.format(source=source)
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.REPO_READ)
        row = repo_row(conn, org, name)
        own = row.created_by == principal.id and may(conn, principal, Action.REPO_WRITE, org.id, row.id)
        if not own:
            authorize_repo(conn, principal, Action.REPO_ADMIN, org, row)
        if row.status_mode != RepoMode.offline.value or row.status_message != message:
            raise ConflictError(f"repo {org_name}/{name} is not a copy of {source} in progress")
        initiated = _initiated(principal)
        conn.execute(
            sa.update(t.repos)
            .where(t.repos.c.id == row.id)
            .values(
                status_mode=RepoMode.online.value,
                status_message=None,
                status_initiated_by=initiated,
                updated=now(),
            )
        )
        record(
            conn, principal, "repo.copy", org=org, resource=f"{org_name}/{name}", detail={"source": source}
        )
    return RepoStatus(mode=RepoMode.online, message=None, initiated_by=initiated)


# --- move -------------------------------------------------------------------------------------


def _moving(row: Any) -> dict[str, Any] | None:
    """The move state recorded in a repo's status, if it is being moved."""
    info = row.status_initiated_by or {}
    if row.status_mode == RepoMode.offline.value and isinstance(info.get("move"), dict):
        return info["move"]
    return None


def move_target(
    cat: Catalog, principal: Caller, org_name: str, name: str, body: MoveTargetRequest
) -> TransferPlan:
    """Take the repo offline and reserve its new location (or resume an interrupted move)."""
    temp = move_target_name(name)
    full = f"{org_name}/{name}"
    with cat.read() as conn:
        org, row = org_and_repo(conn, principal, org_name, name, Action.REPO_ADMIN)
        bucket = target_bucket(conn, org, body.bucket_nickname)
        temp_row = conn.execute(
            sa.select(t.repos).where(t.repos.c.org_id == org.id, t.repos.c.name == temp)
        ).first()
    state = _moving(row)
    if temp_row is not None:
        # an earlier run reserved a location: resume it, if it is the one asked for
        if temp_row.status_message != MOVE_TARGET_MESSAGE.format(source=full):
            raise ConflictError(
                f"repo {org_name}/{temp} exists and is not a move target of {full}; rename or delete it"
            )
        if temp_row.bucket_id != bucket.id or (
            body.prefix is not None and join_prefix(bucket.prefix, body.prefix) != temp_row.prefix
        ):
            raise ConflictError(
                f"an earlier move of {full} to {temp_row.prefix!r} was interrupted: re-run it with the same --bucket "
                f"and --prefix, or delete {org_name}/{temp} first"
            )
        if state is None and row.status_mode == RepoMode.offline.value:
            raise RepoUnavailableError(
                f"repo {full} is offline ({row.status_message}); bring it online first"
            )
        resumed = True
        prefix = temp_row.prefix
    else:
        if state is not None or row.status_mode == RepoMode.offline.value:
            raise RepoUnavailableError(
                f"repo {full} is offline ({row.status_message or 'no reason given'}); bring it online first"
            )
        if (
            bucket.id == row.bucket_id
            and body.prefix is not None
            and join_prefix(bucket.prefix, body.prefix) == row.prefix
        ):
            raise ConflictError(f"repo {full} is already at that location")
        prefix = _check_new_location(cat, org, bucket, body.prefix, name)
        resumed = False
    with cat.tx() as conn:
        org, row = org_and_repo(conn, principal, org_name, name, Action.REPO_ADMIN)
        if temp_row is None:
            check_prefix_free(cat, conn, org, bucket, prefix)
            _insert_offline(
                conn,
                org,
                bucket,
                principal,
                name=temp,
                prefix=prefix,
                message=MOVE_TARGET_MESSAGE.format(source=full),
                description=f"the new location of {full} while it is moved",
                metadata=None,
            )
        if _moving(row) is None:
            previous = {
                "mode": row.status_mode,
                "message": row.status_message,
                "initiated_by": row.status_initiated_by,
            }
            conn.execute(
                sa.update(t.repos)
                .where(t.repos.c.id == row.id)
                .values(
                    status_mode=RepoMode.offline.value,
                    status_message=MOVING_MESSAGE.format(bucket=bucket.nickname, prefix=prefix),
                    status_initiated_by=_initiated(principal, move={"target": temp, "previous": previous}),
                    updated=now(),
                )
            )
        record(
            conn,
            principal,
            "repo.move_start",
            org=org,
            resource=full,
            detail={"bucket": bucket.nickname, "prefix": prefix, "resumed": resumed},
        )
    return TransferPlan(
        source=_answer(cat, principal, org_name, name, read_only=True),
        target=_answer(cat, principal, org_name, temp, read_only=False),
        target_name=f"{org_name}/{temp}",
        resumed=resumed,
    )


def _restore_values(state: dict[str, Any]) -> dict[str, Any]:
    previous = state.get("previous") or {}
    return {
        "status_mode": previous.get("mode") or RepoMode.online.value,
        "status_message": previous.get("message"),
        "status_initiated_by": previous.get("initiated_by") or {},
        "updated": now(),
    }


def move_complete(cat: Catalog, principal: Caller, org_name: str, name: str) -> MoveResult:
    """In one transaction: the old location to the trash, the repo to its new location, its status back."""
    from floe.server.catalog import trash  # written alongside; imported when a move completes

    full = f"{org_name}/{name}"
    temp = move_target_name(name)
    with cat.tx() as conn:
        org, row = org_and_repo(conn, principal, org_name, name, Action.REPO_ADMIN)
        state = _moving(row)
        if state is None or state.get("target") != temp:
            raise ConflictError(
                f"repo {full} is not being moved; start with `floe repo move {full} --bucket ...`"
            )
        temp_row = conn.execute(
            sa.select(t.repos).where(t.repos.c.org_id == org.id, t.repos.c.name == temp)
        ).first()
        if temp_row is None:
            raise ConflictError(
                f"the new location of {full} ({org_name}/{temp}) is gone; start the move again"
            )
        old = {"bucket_id": row.bucket_id, "prefix": row.prefix}
        trash_id = trash.put_in_trash(cat, conn, principal, org, row, reason="moved")
        conn.execute(sa.delete(t.repos).where(t.repos.c.id == temp_row.id))
        conn.execute(
            sa.update(t.repos)
            .where(t.repos.c.id == row.id)
            .values(bucket_id=temp_row.bucket_id, prefix=temp_row.prefix, **_restore_values(state))
        )
        record(
            conn,
            principal,
            "repo.move",
            org=org,
            resource=full,
            detail={
                "from": old,
                "to": {"bucket_id": temp_row.bucket_id, "prefix": temp_row.prefix},
                "trash_id": trash_id,
            },
        )
        repo = with_bucket(conn, org, repo_row(conn, org, name))
    return MoveResult(repo=repo, trash_id=trash_id)


def move_abort(cat: Catalog, principal: Caller, org_name: str, name: str) -> RepoStatus:
    """Give the repo its earlier status back; the reserved new location stays, so a re-run resumes."""
    full = f"{org_name}/{name}"
    with cat.tx() as conn:
        org, row = org_and_repo(conn, principal, org_name, name, Action.REPO_ADMIN)
        state = _moving(row)
        if state is None:
            raise ConflictError(f"repo {full} is not being moved")
        values = _restore_values(state)
        conn.execute(sa.update(t.repos).where(t.repos.c.id == row.id).values(**values))
        record(conn, principal, "repo.move_abort", org=org, resource=full, detail={})
    return RepoStatus(
        mode=values["status_mode"],
        message=values["status_message"],
        initiated_by=values["status_initiated_by"],
    )
