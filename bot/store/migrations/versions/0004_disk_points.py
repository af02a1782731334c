"""disk_points: space and inode use per mount per host and run, filled in from stored results

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from bot.store.disk_points import inodes_by_mount, use_by_mount

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
BATCH = 5000

results = sa.table(
    "probe_results",
    sa.column("id", sa.Integer),
    sa.column("run_id", sa.Integer),
    sa.column("probe", sa.String),
    sa.column("host", sa.String),
    sa.column("ok", sa.Boolean),
    sa.column("facts", JSONType),
)
runs = sa.table("runs", sa.column("id", sa.Integer), sa.column("started_at", sa.DateTime(True)))
COLUMNS = (results.c.id, results.c.run_id, results.c.host, runs.c.started_at, results.c.facts)


def upgrade() -> None:
    points = op.create_table(
        "disk_points",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("host", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("use_pct", JSONType, nullable=False),
        sa.Column("inode_pct", JSONType, nullable=False),
    )
    op.create_index("ix_disk_points_run_id", "disk_points", ["run_id"])
    # Digests: one host's points in a window, newest first.
    op.create_index("ix_disk_points_host_at", "disk_points", ["host", "at"])
    # Existing history keeps its forecasts: every stored ok disk result, in id order batches.
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(*COLUMNS)
            .join(runs, runs.c.id == results.c.run_id)
            .where(results.c.probe == "disk", results.c.ok.is_(True), results.c.id > last)
            .order_by(results.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        batch = [
            {
                "run_id": run_id,
                "host": host,
                "at": at,
                "use_pct": use,
                "inode_pct": inodes_by_mount(facts),
            }
            for _, run_id, host, at, facts in rows
            if isinstance(facts, dict) and (use := use_by_mount(facts))
        ]
        if batch:
            conn.execute(sa.insert(points), batch)


def downgrade() -> None:
    op.drop_index("ix_disk_points_host_at", "disk_points")
    op.drop_index("ix_disk_points_run_id", "disk_points")
    op.drop_table("disk_points")
