"""hosts, runs, probe_results, findings

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("key_path", sa.Text, nullable=True),
        sa.Column("host_keys", JSONType, nullable=False),
        sa.Column("expect_ports", JSONType, nullable=False),
        sa.Column("logs", JSONType, nullable=False),
        sa.Column("labels", JSONType, nullable=False),
        sa.Column("watched", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("error", sa.Text, nullable=False),
    )
    op.create_index("ix_runs_command_target_started", "runs", ["command", "target", "started_at"])
    op.create_table(
        "probe_results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("probe", sa.String(64), nullable=False),
        sa.Column("area", sa.String(32), nullable=False),
        sa.Column("host", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("facts", JSONType, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("truncated", sa.Boolean, nullable=False),
    )
    op.create_index("ix_probe_results_run_id", "probe_results", ["run_id"])
    op.create_index("ix_probe_results_host_probe", "probe_results", ["host", "probe", "run_id"])
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("evidence", JSONType, nullable=False),
        sa.Column("suggestion", sa.Text, nullable=False),
        sa.Column("host", sa.String(64), nullable=False),
    )
    op.create_index("ix_findings_run_id", "findings", ["run_id"])
    op.create_index("ix_findings_code", "findings", ["code"])


def downgrade() -> None:
    op.drop_table("findings")
    op.drop_table("probe_results")
    op.drop_table("runs")
    op.drop_table("hosts")
