"""SQLAlchemy 2 models. The schema itself is owned by the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them without a zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the store uses."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base for every table."""


class HostRow(Base):
    """A registered host: where to reach it and what to expect of it."""

    __tablename__ = "hosts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    address: Mapped[str] = mapped_column(String(255), nullable=False)
    port: Mapped[int] = mapped_column(Integer, nullable=False, default=22)
    user: Mapped[str] = mapped_column(String(64), nullable=False, default="root")
    key_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    host_keys: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    expect_ports: Mapped[list[int]] = mapped_column(JSONType, nullable=False, default=list)
    logs: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    labels: Mapped[dict[str, str]] = mapped_column(JSONType, nullable=False, default=dict)
    watched: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RunRow(Base):
    """One command run: who asked, about what, how it ended."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_command_target_started", "command", "target", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    command: Mapped[str] = mapped_column(String(32), nullable=False)
    target: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="cli")
    requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")

    results: Mapped[list[ProbeResultRow]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )
    findings: Mapped[list[FindingRow]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )
    disk_points: Mapped[list[DiskPointRow]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )


class ProbeResultRow(Base):
    """What one probe saw on one host during a run (raw output capped and redacted)."""

    __tablename__ = "probe_results"
    __table_args__ = (Index("ix_probe_results_host_probe", "host", "probe", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    probe: Mapped[str] = mapped_column(String(64), nullable=False)
    area: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    host: Mapped[str] = mapped_column(String(64), nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    raw: Mapped[str] = mapped_column(Text, nullable=False, default="")
    truncated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    run: Mapped[RunRow] = relationship(back_populates="results")


class FindingRow(Base):
    """One finding of a run."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    code: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    suggestion: Mapped[str] = mapped_column(Text, nullable=False, default="")
    host: Mapped[str] = mapped_column(String(64), nullable=False, default="")

    run: Mapped[RunRow] = relationship(back_populates="findings")


class DiskPointRow(Base):
    """Space and inode use per mount of one host in one run: the digest's forecast input."""

    __tablename__ = "disk_points"
    __table_args__ = (Index("ix_disk_points_host_at", "host", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    host: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)  # the run's start
    use_pct: Mapped[dict[str, float]] = mapped_column(JSONType, nullable=False)  # mount -> %
    inode_pct: Mapped[dict[str, float]] = mapped_column(JSONType, nullable=False, default=dict)

    run: Mapped[RunRow] = relationship(back_populates="disk_points")
