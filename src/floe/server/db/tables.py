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
    sa.UniqueConstraint("org_id", "name", name="uq_repos_org_name"),
    sa.UniqueConstraint("bucket_id", "prefix", name="uq_repos_bucket_prefix"),
)

repo_metadata = sa.Table(
    "repo_metadata",
    metadata,
    sa.Column("repo_id", sa.String(24), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(256), nullable=False),
    sa.Column("value", sa.String(1024), nullable=False),
    sa.Index("ix_repo_metadata_key_value", "key", "value"),
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
