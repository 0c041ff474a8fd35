"""Commit leases: serialise ref moves on stores that lack conditional writes.

The lease lives in the catalog database, so every server process sees the same one. Taking
a lease is one atomic statement pair: expired leases on the ref are removed, then a row is
inserted under the (repo, ref) primary key; a second holder's insert fails on that key.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import sqlalchemy as sa

from floe.errors import ConflictError, NotFoundError, ValidationError
from floe.models import Lease, LeaseRequest
from floe.server.auth import Action, Caller
from floe.server.catalog.audit import record
from floe.server.catalog.base import Catalog, aware, now, org_and_repo
from floe.server.db import tables as t
from floe.server.metrics import LEASE_TAKEOVERS, LEASE_WAITS

_REF = re.compile(r"(branch|tag)\.[^/\s]{1,255}")


def _check_ref(ref: str) -> str:
    if not _REF.fullmatch(ref):
        raise ValidationError(f"invalid ref {ref!r}: use branch.NAME or tag.NAME, e.g. branch.main")
    return ref


def _model(row: sa.Row) -> Lease:
    return Lease(
        ref=row.ref,
        lease_id=row.lease_id,
        holder=row.holder,
        principal_id=row.principal_id,
        principal_name=row.principal_name,
        acquired=aware(row.acquired),
        expires=aware(row.expires),
        renewed=aware(row.renewed),
    )


def _held_message(row: sa.Row, ref: str) -> str:
    return (
        f"{ref} is leased by {row.holder} ({row.principal_name}) until {aware(row.expires).isoformat()}; "
        "retry shortly, or ask a repo admin to break a stale lease"
    )


def acquire(
    cat: Catalog, principal: Caller, org_name: str, repo_name: str, ref: str, body: LeaseRequest
) -> Lease:
    """Take the lease on ``ref``, or 409 naming the holder; an expired lease is taken over."""
    _check_ref(ref)
    with cat.tx() as conn:
        _org, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_WRITE)
        stamp = now()
        key = (t.ref_leases.c.repo_id == repo.id) & (t.ref_leases.c.ref == ref)
        if conn.execute(sa.delete(t.ref_leases).where(key, t.ref_leases.c.expires < stamp)).rowcount:
            LEASE_TAKEOVERS.inc()
        values = {
            "repo_id": repo.id,
            "ref": ref,
            "lease_id": secrets.token_hex(16),
            "holder": body.holder,
            "principal_id": principal.id,
            "principal_name": principal.name,
            "acquired": stamp,
            "renewed": stamp,
            "expires": stamp + timedelta(seconds=body.ttl_seconds),
        }
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(t.ref_leases).values(**values))
        except sa.exc.IntegrityError:
            held = conn.execute(sa.select(t.ref_leases).where(key)).first()
            LEASE_WAITS.inc()
            raise ConflictError(
                _held_message(held, ref) if held else f"{ref} is leased; retry shortly"
            ) from None
        return _model(conn.execute(sa.select(t.ref_leases).where(key)).one())


def renew(
    cat: Catalog,
    principal: Caller,
    org_name: str,
    repo_name: str,
    ref: str,
    lease_id: str,
    body: LeaseRequest,
) -> Lease:
    """Extend a lease its holder still has; 409 if it expired and someone else took it."""
    with cat.tx() as conn:
        _org, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_WRITE)
        stamp = now()
        key = (t.ref_leases.c.repo_id == repo.id) & (t.ref_leases.c.ref == _check_ref(ref))
        updated = conn.execute(
            sa.update(t.ref_leases)
            .where(key, t.ref_leases.c.lease_id == lease_id)
            .values(renewed=stamp, expires=stamp + timedelta(seconds=body.ttl_seconds))
        )
        if updated.rowcount == 0:
            raise ConflictError(
                f"the lease on {ref} was lost (expired and taken over, or broken); redo the operation"
            )
        return _model(conn.execute(sa.select(t.ref_leases).where(key)).one())


def release(cat: Catalog, principal: Caller, org_name: str, repo_name: str, ref: str, lease_id: str) -> None:
    """Give a lease back (no error if it is already gone)."""
    with cat.tx() as conn:
        _org, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_WRITE)
        conn.execute(
            sa.delete(t.ref_leases).where(
                t.ref_leases.c.repo_id == repo.id,
                t.ref_leases.c.ref == _check_ref(ref),
                t.ref_leases.c.lease_id == lease_id,
            )
        )


def list_leases(cat: Catalog, principal: Caller, org_name: str, repo_name: str) -> list[Lease]:
    """Current leases of a repo, expired ones included (they show who died holding one)."""
    with cat.read() as conn:
        _org, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_READ)
        rows = conn.execute(
            sa.select(t.ref_leases).where(t.ref_leases.c.repo_id == repo.id).order_by(t.ref_leases.c.ref)
        )
        return [_model(r) for r in rows]


def break_lease(cat: Catalog, principal: Caller, org_name: str, repo_name: str, ref: str) -> Lease:
    """Remove whatever lease is on ``ref`` (repo admins), returning the lease that was broken."""
    with cat.tx() as conn:
        org, repo = org_and_repo(conn, principal, org_name, repo_name, Action.REPO_ADMIN)
        key = (t.ref_leases.c.repo_id == repo.id) & (t.ref_leases.c.ref == _check_ref(ref))
        row = conn.execute(sa.select(t.ref_leases).where(key)).first()
        if row is None:
            raise NotFoundError(f"no lease on {ref} of {org_name}/{repo_name}")
        conn.execute(sa.delete(t.ref_leases).where(key))
        record(
            conn,
            principal,
            "lease.break",
            org=org,
            resource=f"{org.name}/{repo.name}",
            detail={"ref": ref, "holder": row.holder, "holder_principal": row.principal_name},
        )
        return _model(row)
