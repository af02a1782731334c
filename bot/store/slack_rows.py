"""The Slack-side tables: audit events, the outbox of reports to post, seen deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, JSONType, UTCDateTime, utcnow


class AuditEventRow(Base):
    """Who asked for what, where, and how it ended (commands, buttons, refusals)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="slack")
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class OutboxRow(Base):
    """A rendered report waiting to be posted; progress is kept so nothing posts twice."""

    __tablename__ = "slack_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    channel: Mapped[str] = mapped_column(String(64), nullable=False)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    update_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    summary_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False)
    next_index: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    done: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Which replica is posting it, until when (several bots on one database: one poster each).
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DeliveryRow(Base):
    """A Slack delivery already handled (its trigger or event id), so a retry is ignored."""

    __tablename__ = "slack_deliveries"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
