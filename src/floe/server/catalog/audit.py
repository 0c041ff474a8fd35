"""The audit trail: who changed what, when and from where, and every credential vended (repeats
within a window counted on one event; vend events pruned after their retention).

Events are written in the same transaction as the change they record, so a change that
rolls back leaves no event and an event never describes a change that did not happen.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic_core import to_jsonable_python

from floe.errors import PermissionDeniedError, ValidationError
from floe.models import AuditEvent, AuditPage
from floe.server.auth import Action, Caller, decide
from floe.server.catalog.base import Catalog, aware, now, org_row, serialize
from floe.server.db import tables as t
from floe.server.metrics import CREDENTIALS_VENDED

MAX_PAGE = 500
_SECRET_WORDS = ("secret", "password", "token", "key", "credential", "sas", "signature")


def _clean(detail: dict[str, Any] | None) -> dict[str, Any]:
    """Drop anything secret-looking from an event's detail: the trail must never hold secrets."""
    if not detail:
        return {}
    kept = {
        k: v
        for k, v in detail.items()
        if not any(word in k.lower() for word in _SECRET_WORDS) or k in ("key_kind", "auth_method")
    }
    return to_jsonable_python(kept)


def record(
    conn: sa.Connection,
    principal: Caller | None,
    action: str,
    *,
    org: sa.Row | None = None,
    resource: str | None = None,
    detail: dict[str, Any] | None = None,
    address: str | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event (inside the caller's transaction)."""
    conn.execute(
        sa.insert(t.audit_events).values(
            at=at or now(),
            org_id=org.id if org is not None else None,
            org_name=org.name if org is not None else None,
            actor_id=principal.id if principal else None,
            actor_kind=principal.kind if principal else None,
            actor_name=principal.label if principal else None,
            action=action,
            resource=resource,
            address=(principal.address if principal else None) or address,
            detail=_clean(detail),
        )
    )


def _encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"a{event_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("a") or not raw[1:].isdigit() or len(raw) > 20:
            raise ValueError
        event_id = int(raw[1:])
        if event_id > 2**63 - 1:  # larger than any id the database holds
            raise ValueError
        return event_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError(
            f"invalid cursor {cursor!r}: pass the next_cursor of a previous page unchanged"
        ) from None


def _utc(value: datetime | None) -> datetime | None:
    """Times without a zone are taken as UTC, the zone every event is stored in."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _model(row: sa.Row) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        at=aware(row.at),
        org=row.org_name,
        actor_id=row.actor_id,
        actor_kind=row.actor_kind,
        actor=row.actor_name,
        action=row.action,
        resource=row.resource,
        address=row.address,
        detail=row.detail or {},
    )


def list_events(
    cat: Catalog,
    principal: Caller,
    *,
    org_name: str | None,
    actor: str | None = None,
    resource: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> AuditPage:
    """A page of events, newest first. Org admins see their org's; site admins see everything.

    ``actor`` matches an actor id, email or API client name; ``resource`` matches exactly or
    as a prefix ending in ``/`` (``org/`` lists everything under an org); ``action`` matches
    exactly or by its family (``repo`` matches ``repo.create``).
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    since, until = _utc(since), _utc(until)
    if since and until and since > until:
        raise ValidationError("since is after until: the window is empty; swap them")
    if cat.before_audit_read is not None:
        cat.before_audit_read()
    query = sa.select(t.audit_events).order_by(t.audit_events.c.id.desc()).limit(limit + 1)
    with cat.read() as conn:
        if org_name is not None:
            org = org_row(conn, principal, org_name, Action.AUDIT_READ)
            query = query.where(t.audit_events.c.org_id == org.id)
        elif not decide(principal, Action.SITE_ADMIN, None):
            raise PermissionDeniedError(
                "only site admins read the whole trail; org admins name their org (`floe audit list --org ORG`)"
            )
        if actor:
            col = t.audit_events.c
            query = query.where(
                sa.or_(col.actor_id == actor, col.actor_name == actor.lower(), col.actor_name == actor)
            )
        if resource:
            col = t.audit_events.c.resource
            query = query.where(
                col.startswith(resource, autoescape=True) if resource.endswith("/") else col == resource
            )
        if action:
            col = t.audit_events.c.action
            query = query.where(sa.or_(col == action, col.startswith(f"{action}.", autoescape=True)))
        if since:
            query = query.where(t.audit_events.c.at >= since)
        if until:
            query = query.where(t.audit_events.c.at < until)
        if cursor:
            query = query.where(t.audit_events.c.id < _decode_cursor(cursor))
        rows = conn.execute(query).all()
    items = [_model(r) for r in rows[:limit]]
    next_cursor = _encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return AuditPage(items=items, next_cursor=next_cursor)


VEND_ACTIONS = ("credentials.vend", "credentials.vend_virtual")
# how many recent events of one principal a vend looks through for a row to add itself to
_MERGE_LOOKBACK = 8


def record_vend(
    conn: sa.Connection,
    principal: Caller,
    org: Any,
    resource: str,
    bucket: Any,
    *,
    read_only: bool,
    window_seconds: float = 0.0,
    what: str = "credentials.vend",
    times: int = 1,
    metered: bool = True,
) -> None:
    """Record that credentials for ``bucket`` left the server (never the credentials themselves),
    ``times`` times.

    Vends of the same kind to the same principal, from the same address, for the same resource
    and ``read_only``, within ``window_seconds`` of the first, are one event (see :func:`record_repeated`).
    ``metered``: also count them in the ``floe_credentials_vended`` metric (not when they were counted
    as they happened, see :func:`meter_open`).
    """
    if metered:
        CREDENTIALS_VENDED.labels(bucket.platform, bucket.auth_method, str(read_only).lower()).inc(times)
    detail = {
        "bucket": bucket.nickname,
        "platform": bucket.platform,
        "auth_method": bucket.auth_method,
        "read_only": read_only,
    }
    record_repeated(
        conn,
        principal,
        what,
        org=org,
        resource=resource,
        detail=detail,
        window_seconds=window_seconds,
        times=times,
    )


@dataclass(frozen=True)
class VendNote:
    """What one ``open`` handed out, enough to record it again: the repo's credentials (when its
    bucket config vends any) and the virtual chunk containers it was given credentials for."""

    org_id: str
    org_name: str
    resource: str
    read_only: bool
    bucket_nickname: str | None = None  # None: no repo credentials were vended
    platform: str = ""
    auth_method: str = ""
    containers: tuple[str, ...] = ()


def meter_open(note: VendNote) -> None:
    """Count an ``open``'s repo-credential vend in the ``floe_credentials_vended`` metric."""
    if note.bucket_nickname is not None:
        CREDENTIALS_VENDED.labels(note.platform, note.auth_method, str(note.read_only).lower()).inc()


def record_open(
    conn: sa.Connection,
    principal: Caller,
    note: VendNote,
    *,
    window_seconds: float,
    times: int = 1,
    metered: bool = True,
) -> None:
    """Record the vends of an ``open`` (``times`` of them): see :func:`record_vend`."""
    org = _Org(id=note.org_id, name=note.org_name)
    if note.bucket_nickname is not None:
        bucket = _Bucket(nickname=note.bucket_nickname, platform=note.platform, auth_method=note.auth_method)
        record_vend(
            conn,
            principal,
            org,
            note.resource,
            bucket,
            read_only=note.read_only,
            window_seconds=window_seconds,
            times=times,
            metered=metered,
        )
    if note.containers:
        record_repeated(
            conn,
            principal,
            "credentials.vend_virtual",
            org=org,
            resource=note.resource,
            detail={"containers": sorted(note.containers), "read_only": True},
            window_seconds=window_seconds,
            times=times,
        )


def record_open_repeats(cat: Catalog, principal: Caller, note: VendNote, times: int) -> None:
    """Record ``times`` more vends of an open already recorded once (answers from the open cache,
    counted in the metric as they were served), in a transaction of their own."""
    with cat.tx() as conn:
        record_open(
            conn, principal, note, window_seconds=cat.audit_vend_window_seconds, times=times, metered=False
        )


@dataclass(frozen=True)
class _Org:
    id: str
    name: str


@dataclass(frozen=True)
class _Bucket:
    nickname: str
    platform: str
    auth_method: str


def record_repeated(
    conn: sa.Connection,
    principal: Caller,
    action: str,
    *,
    org: Any,
    resource: str,
    detail: dict[str, Any],
    window_seconds: float,
    times: int = 1,
) -> None:
    """Record an event that repeats (credential vends), ``times`` times: the same one again within
    ``window_seconds`` of the first adds to its ``count`` and moves its ``last_at`` instead of adding a row.

    The event's ``at`` and ``detail.first_at`` are the first time, ``detail.last_at`` the latest. The
    check and the update run under a lock of the (principal, action, resource), so concurrent vends
    count exactly; a window of 0 records every vend as its own row.
    """
    stamp = now()
    fields = _clean(detail)
    if window_seconds > 0:
        col = t.audit_events.c
        serialize(conn, f"audit:{principal.id}:{action}:{resource}")
        since = stamp - timedelta(seconds=window_seconds)
        # The id of the window's first event (one step down the index on at) bounds the scan of the
        # principal's events, which would otherwise go back through its whole history. Ids and times
        # rise together but for transactions that overlap: at worst a vend then starts a new event.
        first_id = sa.select(col.id).where(col.at >= since).order_by(col.at).limit(1).scalar_subquery()
        recent = conn.execute(
            sa.select(col.id, col.detail)
            .where(
                col.id >= first_id,
                col.actor_id == principal.id,
                col.action == action,
                col.resource == resource,
                col.address == principal.address,
                col.at >= since,
            )
            .order_by(col.id.desc())
            .limit(_MERGE_LOOKBACK)
        ).all()
        for row in recent:
            seen = dict(row.detail or {})
            if {k: seen.get(k) for k in fields} == fields:
                seen.update(count=int(seen.get("count", 1)) + times, last_at=stamp.isoformat())
                conn.execute(sa.update(t.audit_events).where(col.id == row.id).values(detail=seen))
                return
    first = {**fields, "count": times, "first_at": stamp.isoformat(), "last_at": stamp.isoformat()}
    record(conn, principal, action, org=org, resource=resource, detail=first, at=stamp)


def prune_vends(cat: Catalog, retention_days: float, *, batch: int = 5000) -> int:
    """Delete credential-vend events older than ``retention_days`` (0: keep them all); other events
    stay. Deletes in batches, each its own short transaction. Returns how many were deleted."""
    if retention_days <= 0:
        return 0
    col = t.audit_events.c
    cutoff = now() - timedelta(days=retention_days)
    deleted = 0
    while True:
        with cat.tx() as conn:
            ids = sa.select(col.id).where(col.action.in_(VEND_ACTIONS), col.at < cutoff).limit(batch)
            gone = conn.execute(sa.delete(t.audit_events).where(col.id.in_(ids.scalar_subquery()))).rowcount
        deleted += gone
        if gone < batch:
            return deleted
