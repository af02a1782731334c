"""slack_outbox lease: which replica is posting an entry, until when

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("slack_outbox", sa.Column("lease_owner", sa.String(64), nullable=True))
    op.add_column(
        "slack_outbox", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("slack_outbox") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
