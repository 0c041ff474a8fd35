"""The catalog's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Timestamp = sa.DateTime(timezone=True)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

orgs = sa.Table(
    "orgs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("default_bucket_id", sa.String(36)),
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("trash_retention_days", sa.Integer),  # None: the server's default (migration 0008)
)

api_clients = sa.Table(
    "api_clients",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.String(36), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("is_site_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("expiration", Timestamp),
    sa.Column("last_used", Timestamp),
    sa.Column("revoked", Timestamp),
    sa.Column("created_by", sa.String(36)),
    sa.Index("ix_api_clients_org_name", "org_id", "name"),
)

buckets = sa.Table(
    "buckets",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.String(36), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("nickname", sa.String(64), nullable=False),
    sa.Column("platform", sa.String(32), nullable=False),
    sa.Column("name", sa.String(1024), nullable=False),
    sa.Column("prefix", sa.String(256), nullable=False, default=""),
    sa.Column("extra_config", sa.JSON, nullable=False),
    sa.Column("auth_method", sa.String(32), nullable=False),
    sa.Column("auth_public", sa.JSON),
    sa.Column("auth_secret", sa.Text),
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("updated", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(320)),
    sa.Column("capabilities", sa.JSON),  # what the last probe found (floe.storage.probe.ProbeResult)
    sa.UniqueConstraint("org_id", "nickname", name="uq_buckets_org_nickname"),
)

repos = sa.Table(
    "repos",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("org_id", sa.String(36), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("bucket_id", sa.String(36), sa.ForeignKey("buckets.id"), nullable=False),
    sa.Column("prefix", sa.String(1024), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("metadata", sa.JSON),
    sa.Column("status_mode", sa.String(16), nullable=False),
    sa.Column("status_message", sa.Text),
    sa.Column("status_initiated_by", sa.JSON),
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("updated", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(36)),
    # ready | creating (the server is creating it) | registered (its creator is creating it): see
    # floe.server.catalog.creation
    sa.Column("state", sa.String(16), nullable=False, server_default="ready", index=True),
    sa.UniqueConstraint("org_id", "name", name="uq_repos_org_name"),
    sa.UniqueConstraint("bucket_id", "prefix", name="uq_repos_bucket_prefix"),
)

# One row per (key, scalar) of a repo's metadata, for filter_metadata (see catalog.repos.list_repos).
repo_metadata = sa.Table(
    "repo_metadata",
    metadata,
    sa.Column("repo_id", sa.String(24), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(256), nullable=False),
    sa.Column("value", sa.String(1024), nullable=False),
    # the repo's org (a repo never changes org), so that a filter reads only the org's matching
    # rows, however many repos the catalog holds (migration 0011)
    sa.Column("org_id", sa.String(36), nullable=False),
    sa.Index("ix_repo_metadata_org_key_value", "org_id", "key", "value", "repo_id"),
    sa.Index("ix_repo_metadata_repo", "repo_id"),
)

ref_leases = sa.Table(
    "ref_leases",
    metadata,
    sa.Column("repo_id", sa.String(24), sa.ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("ref", sa.String(300), primary_key=True),
    sa.Column("lease_id", sa.String(32), nullable=False),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("principal_id", sa.String(36), nullable=False),
    sa.Column("principal_name", sa.String(64), nullable=False),
    sa.Column("acquired", Timestamp, nullable=False),
    sa.Column("renewed", Timestamp, nullable=False),
    sa.Column("expires", Timestamp, nullable=False),
)

virtual_containers = sa.Table(
    "virtual_containers",
    metadata,
    sa.Column("repo_id", sa.String(24), sa.ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("url_prefix", sa.String(1024), primary_key=True),
    sa.Column("bucket_id", sa.String(36), sa.ForeignKey("buckets.id"), nullable=False),
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(36)),
)

virtual_access_policies = sa.Table(  # migration 0010
    "virtual_access_policies",
    metadata,
    sa.Column("bucket_id", sa.String(36), sa.ForeignKey("buckets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("subprefix", sa.String(1024), primary_key=True),
    sa.Column("public", sa.Boolean, primary_key=True),
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(36)),
)

# --- people and access (migration 0005) ---------------------------------------------------

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),  # lower-cased
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(256)),  # argon2id; NULL: no password sign-in
    sa.Column("oidc_issuer", sa.String(512)),
    sa.Column("oidc_subject", sa.String(256)),
    sa.Column("is_site_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("disabled", Timestamp),
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("last_sign_in", Timestamp),
    sa.UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_users_oidc"),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("org_id", sa.String(36), sa.ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("added", Timestamp, nullable=False),
    sa.Column("added_by", sa.String(36)),
    sa.Index("ix_memberships_user", "user_id"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(8), nullable=False),  # cli (bearer token) | web (browser cookie)
    sa.Column("client", sa.String(200)),
    sa.Column("address", sa.String(64)),
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("expires", Timestamp, nullable=False),
    sa.Column("last_used", Timestamp),
    sa.Column("revoked", Timestamp),
    sa.Index("ix_sessions_user", "user_id"),
)

device_codes = sa.Table(
    "device_codes",
    metadata,
    sa.Column("device_code_hash", sa.String(64), primary_key=True),
    sa.Column("user_code", sa.String(16), nullable=False, unique=True),
    sa.Column("client", sa.String(200)),
    sa.Column("address", sa.String(64)),
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("expires", Timestamp, nullable=False),
    sa.Column("interval", sa.Integer, nullable=False),
    sa.Column("last_poll", Timestamp),
    sa.Column("status", sa.String(16), nullable=False),  # pending | approved | denied | used
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE")),
)

repo_grants = sa.Table(
    "repo_grants",
    metadata,
    sa.Column("repo_id", sa.String(24), sa.ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("principal_id", sa.String(36), primary_key=True),
    sa.Column("principal_kind", sa.String(16), nullable=False),  # user | api_client
    sa.Column("level", sa.String(8), nullable=False),  # read | write | admin
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Index("ix_repo_grants_principal", "principal_id"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("org_id", sa.String(36)),  # no foreign key: the trail outlives what it records
    sa.Column("org_name", sa.String(64)),
    sa.Column("actor_id", sa.String(36)),
    sa.Column("actor_kind", sa.String(16)),
    sa.Column("actor_name", sa.String(320)),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("resource", sa.String(1200)),
    sa.Column("address", sa.String(64)),
    sa.Column("detail", sa.JSON),
    sa.Index("ix_audit_events_org_id", "org_id", "id"),
    sa.Index("ix_audit_events_actor", "actor_id", "id"),
    sa.Index("ix_audit_events_resource", "resource", "id"),
    sa.Index("ix_audit_events_at", "at"),
)

sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),  # account:<ip> <email> | address:<ip>
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", Timestamp, nullable=False),
)

# --- tenant boundaries (migration 0006) ---------------------------------------------------

shared_locations = sa.Table(
    "shared_locations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.String(36), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("platform", sa.String(32), nullable=False),
    sa.Column("name", sa.String(1024), nullable=False),
    sa.Column("prefix", sa.String(256), nullable=False),
    sa.Column("extra_config", sa.JSON, nullable=False),
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Index("ix_shared_locations_org_id", "org_id"),
)

# --- data services (migration 0007) ----------------------------------------------------------

services = sa.Table(
    "services",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.String(36), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(16), nullable=False),  # the deployment name, in URLs
    sa.Column("protocol", sa.String(8), nullable=False),
    sa.Column("is_public", sa.Boolean, nullable=False),
    sa.Column("config", sa.JSON, nullable=False),  # the ServiceConfig as enabled
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.UniqueConstraint("org_id", "name", name="uq_services_org_id_name"),
)

# --- sharing and recovery (migration 0008) -------------------------------------------------

# A deleted repo, or the old location of a moved one: its objects stay until purged.
trashed_repos = sa.Table(
    "trashed_repos",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),  # the trash entry
    sa.Column("org_id", sa.String(36), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("repo_id", sa.String(24), nullable=False),  # the repo it was (a restore keeps the id)
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("bucket_id", sa.String(36), sa.ForeignKey("buckets.id"), nullable=False),
    sa.Column("prefix", sa.String(1024), nullable=False),
    sa.Column("reason", sa.String(16), nullable=False),  # deleted | moved
    sa.Column("description", sa.Text),
    sa.Column("metadata", sa.JSON),
    sa.Column("grants", sa.JSON, nullable=False),  # the repo's grants, given back on restore
    sa.Column("containers", sa.JSON, nullable=False),  # its virtual chunk containers, likewise
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("trashed", Timestamp, nullable=False),
    sa.Column("trashed_by", sa.String(36)),
    sa.Column("trashed_by_name", sa.String(320)),
    sa.Column("purge_after", Timestamp, nullable=False),
    sa.UniqueConstraint("bucket_id", "prefix", name="uq_trashed_repos_bucket_prefix"),
    sa.Index("ix_trashed_repos_org_id", "org_id"),
    sa.Index("ix_trashed_repos_purge_after", "purge_after"),
)

# Read-only, expiring, revocable links to one repo.
share_links = sa.Table(
    "share_links",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.String(36), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("repo_id", sa.String(24), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("ref", sa.String(300)),
    sa.Column("note", sa.String(200)),
    sa.Column("created", Timestamp, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("created_by_name", sa.String(320)),
    sa.Column("expires", Timestamp, nullable=False),
    sa.Column("revoked", Timestamp),
    sa.Column("revoked_by", sa.String(36)),
    sa.Column("uses", sa.Integer, nullable=False, default=0),
    sa.Column("last_used", Timestamp),
    sa.Index("ix_share_links_repo_id", "repo_id"),
)
