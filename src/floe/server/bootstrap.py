"""First start on a fresh catalog: the ``default`` org, a ``local`` bucket config, an admin token."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from floe.models import Role
from floe.server.catalog.audit import record
from floe.server.catalog.base import Catalog, now
from floe.server.catalog.buckets import check_storage, insert_bucket
from floe.server.catalog.locations import org_policy
from floe.server.catalog.orgs import ensure_org
from floe.server.catalog.signin import WINDOW
from floe.server.catalog.tokens import insert_api_client
from floe.server.db import tables as t
from floe.server.settings import Settings
from floe.storage import BucketSpec, normalize

DEFAULT_ORG = "default"
LOCAL_BUCKET = "local"
_MARK = "bootstrapped"


def bootstrap(cat: Catalog, settings: Settings) -> str | None:
    """Set up a fresh catalog once; return the new admin token, or None if already done."""
    with cat.tx() as conn:
        if conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == _MARK)).first():
            return None
        org = ensure_org(conn, DEFAULT_ORG)
        has_local = conn.execute(
            sa.select(t.buckets.c.id).where(
                t.buckets.c.org_id == org.id, t.buckets.c.nickname == LOCAL_BUCKET
            )
        ).first()
        if not has_local:
            # the org's own folder under the storage root: other orgs' folders sit beside it
            folder = settings.local_storage_dir / org.name
            spec = normalize(
                BucketSpec(platform="file", name=str(folder), auth={"method": "none"}),
                org_policy(cat, conn, org),
            )
            found = check_storage(spec, cat.policy)  # a local folder: quick, and recorded rather than refused
            insert_bucket(
                conn,
                cat,
                org,
                LOCAL_BUCKET,
                spec,
                created_by=None,
                capabilities=found.model_dump(mode="json") if found else None,
            )
        created = insert_api_client(conn, org, name="admin", role=Role.admin, is_site_admin=True)
        record(
            conn,
            None,
            "api_client.create",
            org=org,
            resource=f"{org.name}/api-clients/admin",
            detail={"id": str(created.id), "role": "admin", "site_admin": True, "by": "first start"},
        )
        conn.execute(sa.insert(t.meta).values(key=_MARK, value="1"))
        return created.token


def housekeeping(cat: Catalog, *, keep_days: int = 30) -> None:
    """Forget what can no longer be used: sessions over for ``keep_days`` and failed-sign-in
    counters whose window has closed (device codes prune themselves). The audit trail is kept in full."""
    horizon = now() - timedelta(days=keep_days)
    with cat.tx() as conn:
        conn.execute(
            sa.delete(t.sessions).where(
                sa.or_(t.sessions.c.expires < horizon, t.sessions.c.revoked < horizon)
            )
        )
        conn.execute(sa.delete(t.sign_in_failures).where(t.sign_in_failures.c.window_start < now() - WINDOW))


def admin_token(cat: Catalog, org_name: str, *, site_admin: bool = False) -> str:
    """A new org-admin (or site-admin) token for ``org_name`` (created if missing), straight from the
    database; recorded in the audit trail as done by the server operator."""
    with cat.tx() as conn:
        org = ensure_org(conn, org_name)
        existing = conn.execute(
            sa.select(sa.func.count()).select_from(t.api_clients).where(t.api_clients.c.org_id == org.id)
        ).scalar_one()
        created = insert_api_client(
            conn, org, name=f"admin-{existing + 1}", role=Role.admin, is_site_admin=site_admin
        )
        record(
            conn,
            None,
            "api_client.create",
            org=org,
            resource=f"{org.name}/api-clients/{created.name}",
            detail={
                "id": str(created.id),
                "role": "admin",
                "site_admin": site_admin,
                "by": "floe admin token",
            },
        )
        return created.token
