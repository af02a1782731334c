"""audit_events, slack_outbox, slack_deliveries

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("channel_id", sa.String(64), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("run_id", sa.Integer, nullable=True),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_user", "audit_events", ["user_id", "at"])
    op.create_table(
        "slack_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("thread_ts", sa.String(32), nullable=True),
        sa.Column("update_ts", sa.String(32), nullable=True),
        sa.Column("summary_ts", sa.String(32), nullable=True),
        sa.Column("messages", JSONType, nullable=False),
        sa.Column("next_index", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
    )
    op.create_index("ix_slack_outbox_done", "slack_outbox", ["done", "id"])
    op.create_table(
        "slack_deliveries",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_slack_deliveries_seen_at", "slack_deliveries", ["seen_at"])


def downgrade() -> None:
    op.drop_table("slack_deliveries")
    op.drop_table("slack_outbox")
    op.drop_table("audit_events")
