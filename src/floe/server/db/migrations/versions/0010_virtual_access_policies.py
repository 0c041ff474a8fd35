"""virtual chunk access policies: which bucket prefixes an org's repos may reference

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "virtual_access_policies",
        sa.Column("bucket_id", sa.String(length=36), nullable=False),
        sa.Column("subprefix", sa.String(length=1024), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["bucket_id"],
            ["buckets.id"],
            name=op.f("fk_virtual_access_policies_bucket_id_buckets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bucket_id", "subprefix", "public", name=op.f("pk_virtual_access_policies")),
    )


def downgrade() -> None:
    op.drop_table("virtual_access_policies")
