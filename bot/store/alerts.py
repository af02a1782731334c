"""Alert state: the inbox of received notifications, alert groups (one Slack thread each)
and alerts by fingerprint (when each was last triaged, how it ended).

A notification is kept in the inbox before the webhook is answered and marked done only
when handled, so a restart in between handles it again instead of losing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.db import Store
from bot.store.models import Base, JSONType, RunRow, UTCDateTime, utcnow
from ssh_probes.errors import StoreError


class AlertInboxRow(Base):
    """One webhook delivery as received (validated JSON), until handled."""

    __tablename__ = "alert_inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    done: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")


class AlertGroupRow(Base):
    """An alert group (Alertmanager's groupKey): one summary message and its thread."""

    __tablename__ = "alert_groups"
    __table_args__ = (UniqueConstraint("source", "group_key", name="uq_alert_groups_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    group_key: Mapped[str] = mapped_column(String(512), nullable=False)
    receiver: Mapped[str] = mapped_column(String(64), nullable=False)
    channel: Mapped[str] = mapped_column(String(64), nullable=False)
    summary_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class AlertRow(Base):
    """One alert by fingerprint: its state and when the routine last ran for it."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("source", "fingerprint", name="uq_alerts_fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(128), nullable=False)
    group_id: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(256), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    target: Mapped[str | None] = mapped_column(String(256), nullable=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    notifications: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_triage_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    hinted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False, default="")


@dataclass
class AlertState:
    """An alert's stored state, as the worker reads and updates it."""

    id: int
    fingerprint: str
    group_id: int
    name: str
    status: str
    target: str | None
    first_seen: datetime
    notifications: int
    last_triage_at: datetime | None
    last_run_id: int | None
    resolved_at: datetime | None
    hinted: bool
    outcome: str
    was: str  # the status before the notification being handled; "" at first sight

    @property
    def new(self) -> bool:
        """True for an alert seen for the first time."""
        return not self.was


def _state(row: AlertRow, was: str | None = None) -> AlertState:
    return AlertState(
        row.id, row.fingerprint, row.group_id, row.name, row.status, row.target,
        row.first_seen, row.notifications, row.last_triage_at, row.last_run_id,
        row.resolved_at, row.hinted, row.outcome, row.status if was is None else was,
    )  # fmt: skip


class AlertRepo:
    """Inbox, groups and alerts on one Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def receive(self, source: str, body: dict[str, Any]) -> int:
        """Keep a validated notification; returns its inbox id."""
        async with self.store.session() as session:
            row = AlertInboxRow(received_at=utcnow(), source=source, body=body)
            session.add(row)
            await session.flush()
            return row.id

    async def pending(self, limit: int = 100) -> list[tuple[int, str, dict[str, Any]]]:
        """Notifications not handled yet, oldest first."""
        async with self.store.session() as session:
            rows = await session.scalars(
                select(AlertInboxRow)
                .where(AlertInboxRow.done.is_(False))
                .order_by(AlertInboxRow.id)
                .limit(limit)
            )
            return [(r.id, r.source, r.body) for r in rows]

    async def handled(self, inbox_id: int, error: str = "") -> None:
        """Mark a notification handled (with the error that ended it, if any)."""
        async with self.store.session() as session:
            await session.execute(
                update(AlertInboxRow)
                .where(AlertInboxRow.id == inbox_id)
                .values(done=True, last_error=error[:2000], attempts=AlertInboxRow.attempts + 1)
            )

    async def group(
        self, source: str, group_key: str, receiver: str, channel: str
    ) -> tuple[int, str, str | None]:
        """The group's (id, channel, summary ts), made on first sight."""
        for _ in range(2):  # a concurrent insert of the same group loses once, then reads
            async with self.store.session() as session:
                row = await session.scalar(
                    select(AlertGroupRow).where(
                        AlertGroupRow.source == source, AlertGroupRow.group_key == group_key
                    )
                )
                if row is not None:
                    return row.id, row.channel, row.summary_ts
            try:
                async with self.store.session() as session:
                    new = AlertGroupRow(
                        source=source, group_key=group_key, receiver=receiver, channel=channel,
                        created_at=utcnow(),
                    )  # fmt: skip
                    session.add(new)
                    await session.flush()
                    return new.id, new.channel, None
            except StoreError as exc:  # a unique violation: another worker made it first
                if not isinstance(exc.__cause__, IntegrityError):
                    raise
        raise RuntimeError(f"alert group {group_key[:40]} could not be stored")

    async def set_summary(self, group_id: int, ts: str) -> None:
        """Remember the group's summary message (its thread)."""
        async with self.store.session() as session:
            await session.execute(
                update(AlertGroupRow).where(AlertGroupRow.id == group_id).values(summary_ts=ts)
            )

    async def seen(
        self, source: str, group_id: int, alerts: list[tuple[str, str, str]], at: datetime
    ) -> list[AlertState]:
        """Count one more notification of each (fingerprint, name, status), in one transaction;
        each state's `was` is the status before this notification ("" at first sight)."""
        states: list[AlertState] = []
        async with self.store.session() as session:
            rows = {
                r.fingerprint: r
                for r in await session.scalars(
                    select(AlertRow).where(
                        AlertRow.source == source,
                        AlertRow.fingerprint.in_([fp for fp, _, _ in alerts]),
                    )
                )
            }
            for fingerprint, name, status in alerts:
                row = rows.get(fingerprint)
                new = row is None
                if row is None:
                    row = AlertRow(
                        source=source, fingerprint=fingerprint, group_id=group_id,
                        name=name[:256], status=status, first_seen=at, last_seen=at,
                        notifications=0, hinted=False, outcome="",
                    )  # fmt: skip
                    session.add(row)
                    rows[fingerprint] = row
                elif row.status == "resolved" and status == "firing":
                    row.first_seen, row.resolved_at = at, None  # it fires again
                was = "" if new else row.status
                row.notifications = (row.notifications or 0) + 1
                row.last_seen, row.status = at, status
                await session.flush()
                states.append(_state(row, was=was))
        return states

    async def update(self, alert_id: int, **values: Any) -> None:
        """Change stored fields of an alert (target, last_triage_at, outcome, ...)."""
        async with self.store.session() as session:
            await session.execute(update(AlertRow).where(AlertRow.id == alert_id).values(**values))

    async def outcomes(self) -> dict[str, int]:
        """How many alerts ended each way (for tests, metrics and the bench)."""
        async with self.store.session() as session:
            rows = await session.execute(
                select(AlertRow.outcome, func.count()).group_by(AlertRow.outcome)
            )
            return {str(o): int(n) for o, n in rows}

    async def recent_triage(self, target: str, since: datetime) -> AlertState | None:
        """The alert whose routine on `target` ran last since `since`, if any."""
        async with self.store.session() as session:
            row = await session.scalar(
                select(AlertRow)
                .where(AlertRow.target == target, AlertRow.last_triage_at >= since)
                .order_by(AlertRow.last_triage_at.desc())
                .limit(1)
            )
            return _state(row) if row is not None else None

    async def triages_since(self, target: str, since: datetime) -> int:
        """Alert-started runs on `target` since `since` (the per-host hourly bound)."""
        async with self.store.session() as session:
            n = await session.scalar(
                select(func.count())
                .select_from(RunRow)
                .where(
                    RunRow.source == "alert", RunRow.target == target, RunRow.started_at >= since
                )
            )
            return int(n or 0)


def hour_ago(now: datetime) -> datetime:
    """The start of the per-host hourly window."""
    return now - timedelta(hours=1)
