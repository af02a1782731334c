"""The digest tables: schedules, the per-slot claims of their posts, watched domains."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, JSONType, UTCDateTime, utcnow


class ScheduleRow(Base):
    """A digest schedule: where, when (cron in a time zone), about which hosts and domains."""

    __tablename__ = "digest_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), nullable=False)
    cron: Mapped[str] = mapped_column(String(128), nullable=False)
    tz: Mapped[str] = mapped_column(String(64), nullable=False)
    hosts: Mapped[str] = mapped_column(String(64), nullable=False)
    domains: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class DigestPostRow(Base):
    """The claim of one (schedule, slot) and how its post went."""

    __tablename__ = "digest_posts"
    __table_args__ = (
        UniqueConstraint("schedule_id", "slot", name="uq_digest_posts_schedule_slot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("digest_schedules.id", ondelete="CASCADE"), nullable=False
    )
    slot: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # claimed|queued|posted|failed
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    claimed_by: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    outbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class WatchedDomainRow(Base):
    """A domain whose DNS answers the digests follow."""

    __tablename__ = "watched_domains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    added_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
