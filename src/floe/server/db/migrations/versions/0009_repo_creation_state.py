"""two-phase repo creation: a repo's state (ready, or still being created)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repos") as batch:
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="ready"))
        batch.create_index("ix_repos_state", ["state"])


def downgrade() -> None:
    with op.batch_alter_table("repos") as batch:
        batch.drop_index("ix_repos_state")
        batch.drop_column("state")
