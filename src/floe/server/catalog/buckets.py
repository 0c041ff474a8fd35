"""Bucket configs: register storage once, by nickname; secrets sealed at rest."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import sqlalchemy as sa

from floe.errors import ConflictError, FloeError, StorageError, ValidationError
from floe.models import (
    Bucket,
    BucketCreate,
    BucketUpdate,
    Repo,
    TempCredentials,
)
from floe.server.auth import Action, Caller, decide
from floe.server.catalog.audit import record, record_vend
from floe.server.catalog.base import (
    Catalog,
    aware,
    bucket_model,
    bucket_row_by_id,
    bucket_row_by_nickname,
    bucket_spec,
    now,
    org_row,
    repo_model,
)
from floe.server.catalog.locations import check_bucket_location, org_policy
from floe.server.catalog.trash import trash_usage
from floe.server.db import tables as t
from floe.server.metrics import PROBE_FAILURES
from floe.server.redaction import SECRET_FIELDS, redact_auth
from floe.storage import (
    BucketSpec,
    StoragePolicy,
    check_endpoints,
    normalize,
    object_store,
    read_only_store,
    reading_credentials,
    server_may_connect,
    server_reachable,
)
from floe.storage.probe import ProbeResult, probe, probe_read_keys

_log = logging.getLogger("floe.storage")


def _validated(cat: Catalog, conn: sa.Connection, org: sa.Row, spec: BucketSpec) -> BucketSpec:
    """The canonical spec, confined to the org's own storage (folders, locations of no other org)."""
    try:
        spec = normalize(spec, org_policy(cat, conn, org))
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    check_endpoints(spec, cat.policy)
    return spec


def _auth_columns(cat: Catalog, auth: dict[str, Any]) -> dict[str, Any]:
    """Split an auth config into what may be shown (public) and what is sealed (whole config)."""
    has_secret = any(auth.get(f) for f in SECRET_FIELDS)
    public = redact_auth(auth)
    key = auth.get("service_account_key")
    if isinstance(key, dict) and key.get("client_email"):
        public["client_email"] = key["client_email"]  # who the tokens are minted for: not a secret
    return {
        "auth_method": auth["method"],
        "auth_public": public,
        "auth_secret": cat.box.seal(auth) if has_secret else None,
    }


def _repos_using(conn: sa.Connection, bucket_id: str) -> list[str]:
    """The repos stored in a bucket config, those in the trash included (their objects are still there)."""
    live = list(
        conn.execute(
            sa.select(t.repos.c.name).where(t.repos.c.bucket_id == bucket_id).order_by(t.repos.c.name)
        )
        .scalars()
        .all()
    )
    return live + [f"{name} (in the trash)" for name in trash_usage(conn, bucket_id=bucket_id)]


def _in_use_message(org_name: str, nickname: str, repos: list[str], doing: str) -> str:
    shown = ", ".join(f"{org_name}/{r}" for r in repos[:20]) + (
        f" and {len(repos) - 20} more" if len(repos) > 20 else ""
    )
    return (
        f"cannot {doing} bucket config {nickname!r}: it is used by {len(repos)} repo(s): {shown}; delete "
        "those first (and purge them from the trash: `floe repo purge ORG/REPO`)"
    )


# Probe failures that refuse a bucket config, and the error each becomes; any other is a StorageError (424).
_REFUSED_AS: dict[str, type[FloeError]] = {
    "bucket_missing": ValidationError,
    "keys_rejected": ValidationError,
    "no_credentials": ValidationError,
    "access_denied": ValidationError,
    "no_write_permission": ValidationError,
    "read_mismatch": StorageError,
    "unreachable": StorageError,
    "clock_skew": StorageError,
    "timeout": StorageError,
    "tls": StorageError,
}


def check_storage(spec: BucketSpec, policy: StoragePolicy) -> ProbeResult | None:
    """Probe the store a spec points at (never inside a transaction: it talks to the store), and
    its read-only key pair where it has one.

    ``None`` for storage the server cannot reach by design (memory lives in the client). When the
    server may not use credentials of its own for it, the result says the checks were skipped.
    """
    why_not = server_may_connect(spec, policy)
    if why_not:
        return ProbeResult(checked_at=now().replace(microsecond=0), skipped=why_not, notes=[why_not])
    if not server_reachable(spec):
        return None
    store = object_store(spec, policy)
    result = probe(store, spec.prefix, writable=spec.auth_method != "anonymous")
    if not result.ok:
        PROBE_FAILURES.labels(result.error_kind or "unknown").inc()
    if result.error_kind in ("unreachable", "timeout", "tls"):
        _log.warning("probing %s failed: %s", store.describe(), result.error)
    reader = read_only_store(spec, policy)
    if reader is not None and result.ok and result.can_write:
        try:
            probe_read_keys(store, reader, spec.prefix, result)
        except FloeError as exc:
            result.notes.append(f"could not check the read-only key pair: {exc.message}")
    return result


def refuse_unusable(spec: BucketSpec, result: ProbeResult | None) -> None:
    """Raise when the probe found the storage unusable; a store lacking only conditional writes is fine.

    Anonymous configs are read-only: a store that lets anyone read but not list is accepted.
    """
    if result is None or result.ok:
        return
    if spec.auth_method == "anonymous" and result.error_kind == "access_denied":
        return
    if result.read_keys_can_read is False:
        raise ValidationError(f"bucket config refused: {result.error}")
    cls = _REFUSED_AS.get(result.error_kind or "", StorageError)
    raise cls(f"bucket config refused: {result.error}")


def _capabilities(result: ProbeResult | None) -> dict[str, Any] | None:
    return result.model_dump(mode="json") if result is not None else None


def _nickname_free(conn: sa.Connection, org: sa.Row, nickname: str, *, except_id: str | None = None) -> None:
    clash = conn.execute(
        sa.select(t.buckets.c.id).where(
            t.buckets.c.org_id == org.id,
            t.buckets.c.nickname == nickname,
            t.buckets.c.id != (except_id or ""),
        )
    ).first()
    if clash:
        raise ConflictError(
            f"bucket config {nickname!r} already exists in org {org.name!r}; pick another nickname"
        )


def create_bucket(cat: Catalog, principal: Caller, org_name: str, body: BucketCreate) -> Bucket:
    """Register a bucket config once the probe found the storage usable; nothing is stored otherwise.

    The location must be the org's own (see :mod:`floe.server.catalog.locations`) and its endpoints
    allowed by the server's outbound-request policy; nothing is sent anywhere before both hold.
    """
    requested = BucketSpec(
        platform=body.platform,
        name=body.name,
        prefix=body.prefix,
        extra_config=body.extra_config,
        auth=body.auth_config.model_dump(exclude_none=True) if body.auth_config else None,
    )
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        _nickname_free(conn, org, body.nickname)
        spec = _validated(cat, conn, org, requested)
        check_bucket_location(cat, conn, org, spec)
    result = check_storage(spec, cat.policy)
    refuse_unusable(spec, result)
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        check_bucket_location(cat, conn, org, spec)  # another org may have registered it meanwhile
        created = insert_bucket(
            conn,
            cat,
            org,
            body.nickname,
            spec,
            created_by=principal.email,
            capabilities=_capabilities(result),
        )
        _record(conn, principal, "bucket.create", org, created.nickname, spec)
        return created


def insert_bucket(
    conn: sa.Connection,
    cat: Catalog,
    org: sa.Row,
    nickname: str,
    spec: BucketSpec,
    *,
    created_by: str | None,
    capabilities: dict[str, Any] | None = None,
) -> Bucket:
    """Insert a validated bucket config; it becomes the org default when the org has none."""
    _nickname_free(conn, org, nickname)
    bucket_id = str(uuid.uuid4())
    stamp = now()
    conn.execute(
        sa.insert(t.buckets).values(
            id=bucket_id,
            org_id=org.id,
            nickname=nickname,
            platform=spec.platform,
            name=spec.name,
            prefix=spec.prefix,
            extra_config=dict(spec.extra_config),
            created=stamp,
            updated=stamp,
            created_by=created_by,
            capabilities=capabilities,
            **_auth_columns(cat, dict(spec.auth or {"method": "anonymous"})),
        )
    )
    default_id = org.default_bucket_id
    if default_id is None:
        conn.execute(sa.update(t.orgs).where(t.orgs.c.id == org.id).values(default_bucket_id=bucket_id))
        default_id = bucket_id
    row = conn.execute(sa.select(t.buckets).where(t.buckets.c.id == bucket_id)).one()
    return bucket_model(row, default_id)


def list_buckets(cat: Catalog, principal: Caller, org_name: str) -> list[Bucket]:
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_READ)
        rows = conn.execute(
            sa.select(t.buckets).where(t.buckets.c.org_id == org.id).order_by(t.buckets.c.nickname)
        )
        return [_as_seen_by(principal, org, r) for r in rows]


def get_bucket(cat: Catalog, principal: Caller, org_name: str, bucket: str, *, by: str = "id") -> Bucket:
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_READ)
        row = _find(conn, org, bucket, by)
        return _as_seen_by(principal, org, row)


def _find(conn: sa.Connection, org: sa.Row, bucket: str, by: str) -> sa.Row:
    if by == "nickname":
        return bucket_row_by_nickname(conn, org, bucket)
    try:
        uuid.UUID(str(bucket))
    except ValueError:
        # Friendlier for people and the CLI: accept a nickname where an id is expected.
        return bucket_row_by_nickname(conn, org, bucket)
    return bucket_row_by_id(conn, org, bucket)


def modify_bucket(cat: Catalog, principal: Caller, org_name: str, bucket: str, body: BucketUpdate) -> Bucket:
    """Change a bucket config; a new location or new credentials are probed first (outside the
    transaction), and refused like a new bucket config when the storage is unusable."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        row = _find(conn, org, bucket, "id")
        spec, needs_probe = _modified_spec(cat, conn, org, row, changes)
    result = check_storage(spec, cat.policy) if needs_probe else None
    refuse_unusable(spec, result)
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        current = bucket_row_by_id(conn, org, row.id)
        if aware(current.updated) != aware(row.updated):
            raise ConflictError(f"bucket config {row.nickname!r} was changed meanwhile; try again")
        _modified_spec(cat, conn, org, current, changes)  # the repos and nicknames may have changed too
        values: dict[str, Any] = {
            "nickname": changes.get("nickname", row.nickname),
            "platform": spec.platform,
            "name": spec.name,
            "prefix": spec.prefix,
            "extra_config": dict(spec.extra_config),
            "updated": now(),
            **_auth_columns(cat, dict(spec.auth or {"method": "anonymous"})),
        }
        if needs_probe:
            values["capabilities"] = _capabilities(result)
        conn.execute(sa.update(t.buckets).where(t.buckets.c.id == row.id).values(**values))
        _record(conn, principal, "bucket.modify", org, values["nickname"], spec, changed=sorted(changes))
        return bucket_model(
            conn.execute(sa.select(t.buckets).where(t.buckets.c.id == row.id)).one(), org.default_bucket_id
        )


def _modified_spec(
    cat: Catalog, conn: sa.Connection, org: sa.Row, row: sa.Row, changes: dict[str, Any]
) -> tuple[BucketSpec, bool]:
    """The changed, validated spec, and whether it points somewhere new or with new credentials.

    Refuses location changes while repos use the config, and nicknames that are taken.
    """
    # new credentials replace the old without decrypting them (the key may have been lost)
    current = bucket_spec(cat.box, row, decrypt="auth_config" not in changes)
    location_changes = {
        k for k in ("platform", "name", "prefix") if k in changes and changes[k] != getattr(row, k)
    }
    if location_changes:
        repos = _repos_using(conn, row.id)
        if repos:
            raise ConflictError(
                _in_use_message(org.name, row.nickname, repos, f"change {', '.join(location_changes)} of")
            )
    spec = _validated(
        cat,
        conn,
        org,
        current.with_changes(
            platform=changes.get("platform", current.platform),
            name=changes.get("name", current.name),
            prefix=changes.get("prefix", current.prefix),
            extra_config=changes.get("extra_config", current.extra_config),
            auth=changes.get("auth_config", current.auth),
        ),
    )
    check_bucket_location(cat, conn, org, spec, except_id=row.id)
    _nickname_free(conn, org, changes.get("nickname", row.nickname), except_id=row.id)
    where = (spec.platform, spec.name, spec.prefix, dict(spec.extra_config))
    moved = where != (current.platform, current.name, current.prefix, dict(current.extra_config))
    return spec, moved or "auth_config" in changes


def check_bucket(cat: Catalog, principal: Caller, org_name: str, bucket: str) -> Bucket:
    """Probe a bucket config's storage again and store what was found, failures included."""
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        row = _find(conn, org, bucket, "id")
    result = check_storage(bucket_spec(cat.box, row), cat.policy)
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        current = bucket_row_by_id(conn, org, row.id)
        if aware(current.updated) != aware(row.updated):
            raise ConflictError(f"bucket config {row.nickname!r} was changed meanwhile; check it again")
        conn.execute(
            sa.update(t.buckets).where(t.buckets.c.id == row.id).values(capabilities=_capabilities(result))
        )
        _record(conn, principal, "bucket.check", org, row.nickname, None, ok=result is None or result.ok)
        return bucket_model(
            conn.execute(sa.select(t.buckets).where(t.buckets.c.id == row.id)).one(), org.default_bucket_id
        )


def delete_bucket(cat: Catalog, principal: Caller, org_name: str, bucket: str) -> None:
    """Delete a bucket config; refused (409, naming the repos) while any repo uses it."""
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        row = _find(conn, org, bucket, "id")
        repos = _repos_using(conn, row.id)
        if repos:
            raise ConflictError(_in_use_message(org.name, row.nickname, repos, "delete"))
        if org.default_bucket_id == row.id:
            conn.execute(sa.update(t.orgs).where(t.orgs.c.id == org.id).values(default_bucket_id=None))
        conn.execute(sa.delete(t.buckets).where(t.buckets.c.id == row.id))
        _record(conn, principal, "bucket.delete", org, row.nickname, None)


def set_default_bucket(cat: Catalog, principal: Caller, org_name: str, bucket: str) -> Bucket:
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_ADMIN)
        row = _find(conn, org, bucket, "id")
        conn.execute(sa.update(t.orgs).where(t.orgs.c.id == org.id).values(default_bucket_id=row.id))
        _record(conn, principal, "bucket.set_default", org, row.nickname, None)
        return bucket_model(row, row.id)


def repos_for_bucket(cat: Catalog, principal: Caller, org_name: str, bucket: str) -> list[Repo]:
    with cat.read() as conn:
        org = org_row(conn, principal, org_name, Action.REPO_READ)
        row = _find(conn, org, bucket, "id")
        bucket_resp = bucket_model(row, org.default_bucket_id)
        repos = conn.execute(sa.select(t.repos).where(t.repos.c.bucket_id == row.id).order_by(t.repos.c.name))
        return [repo_model(r, org.name, bucket_resp) for r in repos]


def bucket_credentials(cat: Catalog, principal: Caller, org_name: str, bucket: str) -> TempCredentials | None:
    """Read credentials for a whole bucket (virtual chunks); members only."""
    with cat.tx() as conn:
        org = org_row(conn, principal, org_name, Action.BUCKET_USE)
        row = _find(conn, org, bucket, "id")
        # members may write to the org's storage anyway: without a read-only pair they get the keys
        creds, read_only = reading_credentials(bucket_spec(cat.box, row), policy=cat.policy)
        if creds is not None:
            record_vend(
                conn,
                principal,
                org,
                f"{org.name}/buckets/{row.nickname}",
                row,
                read_only=read_only,
                window_seconds=cat.audit_vend_window_seconds,
            )
    return creds


def _as_seen_by(principal: Caller, org: sa.Row, row: sa.Row) -> Bucket:
    """Admins read a bucket config in full (secrets aside); others see where it is and how it is
    accessed, not the credential settings or the probe's findings."""
    full = bucket_model(row, org.default_bucket_id)
    if decide(principal, Action.BUCKET_ADMIN, org.id):
        return full
    return full.model_copy(update={"auth_config": {"method": row.auth_method}, "capabilities": None})


def _record(
    conn: sa.Connection,
    principal: Caller,
    action: str,
    org: sa.Row,
    nickname: str,
    spec: BucketSpec | None,
    **detail: Any,
) -> None:
    if spec is not None:
        detail |= {
            "platform": spec.platform,
            "bucket": spec.name,
            "prefix": spec.prefix,
            "auth_method": spec.auth_method,
        }
    record(conn, principal, action, org=org, resource=f"{org.name}/buckets/{nickname}", detail=detail)
