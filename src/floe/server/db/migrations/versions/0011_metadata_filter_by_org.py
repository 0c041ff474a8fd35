"""metadata filters by org: repo_metadata carries its repo's org, indexed with key and value

A filter (``filter_metadata``) then reads one range of one index -- the org's rows with that key
and value -- instead of probing every repo of the org, and its cost does not grow with the catalog.
The index on (key, value) alone served no query: filters always name an org.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repo_metadata") as batch:
        batch.add_column(sa.Column("org_id", sa.String(36), nullable=True))
    # rows of a repo that no longer exists (none, with foreign keys on) would have no org
    op.execute(
        "DELETE FROM repo_metadata WHERE NOT EXISTS (SELECT 1 FROM repos WHERE repos.id = repo_metadata.repo_id)"
    )
    if op.get_bind().dialect.name == "postgresql":  # a join (SQLite has UPDATE ... FROM only from 3.33)
        op.execute(
            "UPDATE repo_metadata SET org_id = repos.org_id FROM repos WHERE repos.id = repo_metadata.repo_id"
        )
    else:
        op.execute(
            "UPDATE repo_metadata SET org_id = "
            "(SELECT repos.org_id FROM repos WHERE repos.id = repo_metadata.repo_id)"
        )
    with op.batch_alter_table("repo_metadata") as batch:
        batch.alter_column("org_id", existing_type=sa.String(36), nullable=False)
        batch.drop_index("ix_repo_metadata_key_value")
        batch.create_index("ix_repo_metadata_org_key_value", ["org_id", "key", "value", "repo_id"])


def downgrade() -> None:
    with op.batch_alter_table("repo_metadata") as batch:
        batch.drop_index("ix_repo_metadata_org_key_value")
        batch.create_index("ix_repo_metadata_key_value", ["key", "value"])
        batch.drop_column("org_id")
