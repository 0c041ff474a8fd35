"""virtual chunk containers: which bucket config serves a repo's virtual references

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "virtual_containers",
        sa.Column("repo_id", sa.String(length=24), nullable=False),
        sa.Column("url_prefix", sa.String(length=1024), nullable=False),
        sa.Column("bucket_id", sa.String(length=36), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["bucket_id"], ["buckets.id"], name=op.f("fk_virtual_containers_bucket_id_buckets")
        ),
        sa.ForeignKeyConstraint(
            ["repo_id"], ["repos.id"], name=op.f("fk_virtual_containers_repo_id_repos"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("repo_id", "url_prefix", name=op.f("pk_virtual_containers")),
    )


def downgrade() -> None:
    op.drop_table("virtual_containers")
