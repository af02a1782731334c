"""digest_schedules, digest_posts, watched_domains; indexes for history and digests

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "digest_schedules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("cron", sa.String(128), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("hosts", sa.String(64), nullable=False),
        sa.Column("domains", JSONType, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "digest_posts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "schedule_id",
            sa.Integer,
            sa.ForeignKey("digest_schedules.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outbox_id", sa.Integer, nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("snapshot", JSONType, nullable=True),
        # The claim: one row per (schedule, slot) across every replica.
        sa.UniqueConstraint("schedule_id", "slot", name="uq_digest_posts_schedule_slot"),
    )
    op.create_index("ix_digest_posts_status", "digest_posts", ["status", "id"])
    op.create_table(
        "watched_domains",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("added_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    # history TARGET: equality on target, newest first (the command-first index cannot serve it).
    op.create_index("ix_runs_target_started", "runs", ["target", "started_at"])
    # Retention: the oldest runs first, in batches.
    op.create_index("ix_runs_started_at", "runs", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_runs_started_at", "runs")
    op.drop_index("ix_runs_target_started", "runs")
    op.drop_table("watched_domains")
    op.drop_table("digest_posts")
    op.drop_table("digest_schedules")
