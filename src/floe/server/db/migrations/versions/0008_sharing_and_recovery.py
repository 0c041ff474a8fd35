"""sharing and recovery: a trash for deleted repos, share links, an org's trash retention

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orgs") as batch:
        batch.add_column(sa.Column("trash_retention_days", sa.Integer(), nullable=True))
    op.create_table(
        "trashed_repos",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("repo_id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("bucket_id", sa.String(length=36), nullable=False),
        sa.Column("prefix", sa.String(length=1024), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("grants", sa.JSON(), nullable=False),
        sa.Column("containers", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("trashed", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trashed_by", sa.String(length=36), nullable=True),
        sa.Column("trashed_by_name", sa.String(length=320), nullable=True),
        sa.Column("purge_after", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_trashed_repos_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["bucket_id"], ["buckets.id"], name=op.f("fk_trashed_repos_bucket_id_buckets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trashed_repos")),
        sa.UniqueConstraint("bucket_id", "prefix", name="uq_trashed_repos_bucket_prefix"),
    )
    op.create_index("ix_trashed_repos_org_id", "trashed_repos", ["org_id"])
    op.create_index("ix_trashed_repos_purge_after", "trashed_repos", ["purge_after"])
    op.create_table(
        "share_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("repo_id", sa.String(length=24), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_by_name", sa.String(length=320), nullable=True),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=36), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("last_used", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_share_links_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["repo_id"], ["repos.id"], name=op.f("fk_share_links_repo_id_repos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_links_token_hash")),
    )
    op.create_index("ix_share_links_repo_id", "share_links", ["repo_id"])


def downgrade() -> None:
    op.drop_index("ix_share_links_repo_id", table_name="share_links")
    op.drop_table("share_links")
    op.drop_index("ix_trashed_repos_purge_after", table_name="trashed_repos")
    op.drop_index("ix_trashed_repos_org_id", table_name="trashed_repos")
    op.drop_table("trashed_repos")
    with op.batch_alter_table("orgs") as batch:
        batch.drop_column("trash_retention_days")
