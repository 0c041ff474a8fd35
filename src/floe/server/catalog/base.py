"""The catalog context, row lookups shared by every resource, and row -> model conversion."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import icechunk
import sqlalchemy as sa

from floe.errors import FloeError, NotFoundError, PermissionDeniedError, StorageError, ValidationError
from floe.models import (
    Bucket,
    Capabilities,
    GrantLevel,
    OpenRepoResponse,
    Repo,
    RepoStatus,
)
from floe.server.auth import Action, Caller, decide
from floe.server.db import tables as t
from floe.server.db.engine import read_connection, write_transaction
from floe.server.keys import SecretBox
from floe.storage import BucketSpec, StoragePolicy


def needs_leases(capabilities: Capabilities | None) -> bool:
    """True when a probe found the store lacking conditional create or update."""
    return capabilities is not None and capabilities.lacks_conditional_writes


def for_clients(capabilities: Capabilities | None) -> Capabilities | None:
    """Only what clients need of the probe's findings to configure Icechunk (conditional writes);
    the rest is for bucket admins."""
    if capabilities is None:
        return None
    return Capabilities(
        conditional_create=capabilities.conditional_create, conditional_update=capabilities.conditional_update
    )


def serialize(conn: sa.Connection, key: str) -> None:
    """Hold the lock named ``key`` until this write transaction ends.

    Transactions that check an invariant and then change what it is about (no two repos at
    overlapping locations, an org keeps an owner, one active API client per name in an org) take
    the same lock first, so they run one at a time and each sees what the one before committed.
    PostgreSQL: a transaction-level advisory lock. SQLite: write transactions already run one at
    a time (``Catalog.tx`` begins them IMMEDIATE), so nothing more is needed.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_ADVISORY_LOCK, {"key": key})


_ADVISORY_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


def aware(dt: datetime | None) -> datetime | None:
    """Datetimes from SQLite come back naive; every stored time is UTC."""
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Catalog:
    """What every catalog operation needs: the database, the secret box, the storage policy."""

    engine: sa.Engine
    box: SecretBox
    policy: StoragePolicy
    trash_retention_days: float = 7.0  # the default; an org may set its own
    # repeated credential vends to one principal for one resource within this many seconds are one
    # audit event with a count (0: an event per vend)
    audit_vend_window_seconds: float = 600.0
    # called before the audit trail is read, to write what is still held in memory (open_cache)
    before_audit_read: Callable[[], object] | None = None

    @contextmanager
    def tx(self) -> Iterator[sa.Connection]:
        """A write transaction (on SQLite it holds the write lock from its start)."""
        with write_transaction(self.engine) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A connection for reading (see ``read_connection``: no transaction round trips on PostgreSQL)."""
        with read_connection(self.engine) as conn:
            yield conn


# --- lookups --------------------------------------------------------------------------------


def authorize(principal: Caller, action: Action, org: sa.Row, grant: GrantLevel | None = None) -> None:
    """Raise unless ``principal`` may do ``action`` in ``org``; other orgs look nonexistent."""
    if decide(principal, action, org.id, grant):
        return
    if not decide(principal, Action.ORG_READ, org.id):
        raise NotFoundError(f"org {org.name!r} not found")
    role = principal.roles.get(org.id)
    raise PermissionDeniedError(
        f"{principal.label} (role {role} in org {org.name!r}) may not do {action}; ask an org admin"
    )


def org_row(conn: sa.Connection, principal: Caller, name: str, action: Action = Action.ORG_READ) -> sa.Row:
    """The org called ``name``, checked for ``action``; 404 when missing or invisible."""
    row = conn.execute(sa.select(t.orgs).where(t.orgs.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"org {name!r} not found")
    authorize(principal, action, row)
    return row


_GRANT_QUERY = sa.select(t.repo_grants.c.level).where(
    t.repo_grants.c.repo_id == sa.bindparam("repo_id"),
    t.repo_grants.c.principal_id == sa.bindparam("principal_id"),
)


def grant_of(conn: sa.Connection, principal: Caller, repo_id: str) -> GrantLevel | None:
    """The principal's grant on a repo, if any."""
    level = conn.execute(_GRANT_QUERY, {"repo_id": repo_id, "principal_id": principal.id}).scalar()
    return GrantLevel(level) if level else None


def may(conn: sa.Connection, principal: Caller, action: Action, org_id: str, repo_id: str) -> bool:
    """Whether ``principal`` may do ``action`` on one repo, by org role or by grant (looked up only if needed)."""
    if decide(principal, action, org_id):
        return True
    return decide(principal, action, org_id, grant_of(conn, principal, repo_id))


def authorize_repo(conn: sa.Connection, principal: Caller, action: Action, org: sa.Row, repo: Any) -> None:
    """Raise unless ``principal`` may do ``action`` on ``repo`` (org role or grant)."""
    if not decide(principal, action, org.id):
        authorize(principal, action, org, grant_of(conn, principal, repo.id))


def org_and_repo(
    conn: sa.Connection, principal: Caller, org_name: str, repo_name: str, action: Action
) -> tuple[sa.Row, sa.Row]:
    """The org and repo rows, checked for a repo ``action``; 404 when either is missing or invisible."""
    org = org_row(conn, principal, org_name, Action.ORG_READ)
    repo = repo_row(conn, org, repo_name)
    authorize_repo(conn, principal, action, org, repo)
    return org, repo


def bucket_row_by_nickname(conn: sa.Connection, org: sa.Row, nickname: str) -> sa.Row:
    row = conn.execute(
        sa.select(t.buckets).where(t.buckets.c.org_id == org.id, t.buckets.c.nickname == nickname)
    ).first()
    if row is None:
        raise NotFoundError(
            f"bucket config {nickname!r} not found in org {org.name!r}; `floe bucket list` shows the nicknames"
        )
    return row


def bucket_row_by_id(conn: sa.Connection, org: sa.Row, bucket_id: str) -> sa.Row:
    row = conn.execute(
        sa.select(t.buckets).where(t.buckets.c.org_id == org.id, t.buckets.c.id == str(bucket_id))
    ).first()
    if row is None:
        raise NotFoundError(f"bucket config {bucket_id} not found in org {org.name!r}")
    return row


def repo_row(conn: sa.Connection, org: sa.Row, name: str) -> sa.Row:
    row = conn.execute(sa.select(t.repos).where(t.repos.c.org_id == org.id, t.repos.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"repo {org.name}/{name} not found; `floe repo list {org.name}` shows the repos")
    return row


# --- conversions ---------------------------------------------------------------------------


def bucket_spec(box: SecretBox, row: sa.Row, *, decrypt: bool = True) -> BucketSpec:
    """The full spec of a bucket config, secrets decrypted (server side only) unless ``decrypt`` is off."""
    sealed = row.auth_secret if decrypt else None
    auth = box.open(sealed) if sealed else dict(row.auth_public or {"method": row.auth_method})
    return BucketSpec(
        platform=row.platform,
        name=row.name,
        prefix=row.prefix,
        extra_config=dict(row.extra_config),
        auth=auth,
    )


def bucket_model(row: sa.Row, default_id: str | None, *, auth: dict[str, Any] | None = None) -> Bucket:
    """A bucket config as readers see it; ``auth`` replaces the redacted auth config when given."""
    return Bucket(
        id=row.id,
        nickname=row.nickname,
        platform=row.platform,
        name=row.name,
        prefix=row.prefix,
        extra_config=dict(row.extra_config),
        created=aware(row.created),
        updated=aware(row.updated),
        created_by=row.created_by,
        is_default=row.id == default_id,
        auth_config=auth if auth is not None else dict(row.auth_public or {"method": row.auth_method}),
        capabilities=row.capabilities,
    )


def repo_model(row: sa.Row, org_name: str, bucket: Bucket | None) -> Repo:
    return Repo(
        _id=row.id,
        org=org_name,
        name=row.name,
        created=aware(row.created),
        updated=aware(row.updated),
        description=row.description,
        metadata=row.metadata,
        created_by=row.created_by,
        bucket=bucket,
        status=RepoStatus(
            mode=row.status_mode, message=row.status_message, initiated_by=row.status_initiated_by or {}
        ),
        kind=row.kind,
        prefix=row.prefix,
        state=row.state,
        commit_protection="leases" if bucket is not None and needs_leases(bucket.capabilities) else "store",
    )


def bucket_for_reader(bucket: Bucket, *, keep_auth: bool = False) -> Bucket:
    """A bucket config as callers who do not administer buckets see it: where it is and its auth
    method, not its credential settings (access key ids, account names ...; kept with ``keep_auth``
    for answers that hand out credentials anyway) nor the probe's findings beyond conditional writes."""
    update: dict[str, Any] = {"capabilities": for_clients(bucket.capabilities)}
    if not keep_auth:
        update["auth_config"] = {"method": (bucket.auth_config or {}).get("method", "anonymous")}
    return bucket.model_copy(update=update)


def administers_buckets(principal: Caller, org_name: str) -> bool:
    """Whether ``principal`` may read every setting of the bucket configs of ``org_name``."""
    org_id = next((i for i, name in principal.org_names.items() if name == org_name), None)
    return decide(principal, Action.BUCKET_ADMIN, org_id)


def repo_as_seen_by(principal: Caller, repo: Repo, *, keep_auth: bool = False) -> Repo:
    """``repo`` with its bucket config shown as ``principal`` may see it (see :func:`bucket_for_reader`)."""
    if repo.bucket is None or administers_buckets(principal, repo.org):
        return repo
    return repo.model_copy(update={"bucket": bucket_for_reader(repo.bucket, keep_auth=keep_auth)})


def open_as_seen_by(
    principal: Caller, org_name: str, opened: OpenRepoResponse, *, keep_auth: bool = False
) -> OpenRepoResponse:
    """An ``open`` answer with its bucket configs shown as ``principal`` may see them."""
    if administers_buckets(principal, org_name):
        return opened
    bucket = bucket_for_reader(opened.repo_bucket, keep_auth=keep_auth)
    repo = opened.repo.model_copy(update={"bucket": bucket}) if opened.repo is not None else None
    return opened.model_copy(update={"repo_bucket": bucket, "repo": repo})


# --- shared by repo operations ------------------------------------------------------------


def metadata_rows(org_id: str, repo_id: str, metadata: dict[str, Any] | None) -> list[dict[str, str]]:
    """One row per (key, scalar) so metadata filters use an index; lists give one row per item."""
    rows = []
    for key, value in (metadata or {}).items():
        for item in value if isinstance(value, list) else [value]:
            rows.append({"repo_id": repo_id, "key": key, "value": json.dumps(item), "org_id": org_id})
    return rows


def write_metadata(conn: sa.Connection, org_id: str, repo_id: str, metadata: dict[str, Any] | None) -> None:
    """Replace the filter rows of repo ``repo_id`` of org ``org_id`` by those of ``metadata``."""
    conn.execute(sa.delete(t.repo_metadata).where(t.repo_metadata.c.repo_id == repo_id))
    rows = metadata_rows(org_id, repo_id, metadata)
    if rows:
        conn.execute(sa.insert(t.repo_metadata), rows)


def storage_call(what: str, fn: Any, *args: Any) -> Any:
    """Run a storage operation; turn anything unexpected into a StorageError (424) that says what failed."""
    try:
        return fn(*args)
    except FloeError:
        raise
    except icechunk.IcechunkError as exc:
        raise StorageError(f"{what} failed: {str(exc).splitlines()[0][:300]}") from None
    except ValueError as exc:
        raise ValidationError(f"{what}: {exc}") from None
    except OSError as exc:
        raise StorageError(f"{what} failed: {exc.strerror or exc}") from None
