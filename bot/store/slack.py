"""Slack-side state: audit events, the outbox of reports to post, seen deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.store.db import Store
from bot.store.models import ProbeResultRow, utcnow
from bot.store.slack_rows import AuditEventRow, DeliveryRow, OutboxRow
from ssh_probes.errors import StoreError
from ssh_probes.redact import redact


@dataclass(frozen=True)
class AuditEvent:
    """One audit row as read back."""

    id: int
    at: datetime
    user_id: str | None
    channel_id: str | None
    action: str
    detail: str
    outcome: str
    reason: str
    run_id: int | None


@dataclass(frozen=True)
class Pending:
    """One outbox entry to post (or to resume)."""

    id: int
    channel: str
    run_id: int | None
    thread_ts: str | None
    update_ts: str | None
    summary_ts: str | None
    messages: list[dict[str, Any]]
    next_index: int


class SlackRepo:
    """Audit, outbox and delivery operations on one Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def audit(
        self,
        *,
        user: str | None,
        channel: str | None,
        action: str,
        detail: str,
        outcome: str,
        reason: str = "",
        run_id: int | None = None,
        source: str = "slack",
        at: datetime | None = None,
    ) -> int:
        """Write one audit event (text redacted); returns its id. `at`: when it happened,
        for an event written later in the background (default: now)."""
        row = AuditEventRow(
            at=at or utcnow(),
            source=source,
            user_id=user,
            channel_id=channel,
            action=action[:64],
            detail=redact(detail)[:2000],
            outcome=outcome[:32],
            reason=redact(reason)[:2000],
            run_id=run_id,
        )
        async with self.store.session() as session:
            session.add(row)
            await session.flush()
            return row.id

    async def finish_audit(
        self, audit_id: int, outcome: str, run_id: int | None = None, reason: str = ""
    ) -> None:
        """Record how an accepted command ended (and why, when it was refused)."""
        values: dict[str, object] = {"outcome": outcome[:32], "run_id": run_id}
        if reason:
            values["reason"] = redact(reason)[:2000]
        async with self.store.session() as session:
            await session.execute(
                update(AuditEventRow).where(AuditEventRow.id == audit_id).values(**values)
            )

    async def audit_events(self, limit: int = 1000) -> list[AuditEvent]:
        """Audit events, oldest first (by when they happened: a refusal is written in the
        background after its ack, so a later command's row can get a lower id)."""
        async with self.store.session() as session:
            rows = await session.scalars(
                select(AuditEventRow).order_by(AuditEventRow.at, AuditEventRow.id).limit(limit)
            )
            return [
                AuditEvent(
                    r.id,
                    r.at,
                    r.user_id,
                    r.channel_id,
                    r.action,
                    r.detail,
                    r.outcome,
                    r.reason,
                    r.run_id,
                )
                for r in rows
            ]

    async def first_delivery(self, key: str, keep: timedelta = timedelta(days=1)) -> bool:
        """True the first time `key` is seen (across replicas: a unique insert), else False."""
        try:
            async with self.store.sessions() as session, session.begin():
                session.add(DeliveryRow(key=key[:128], seen_at=utcnow()))
        except IntegrityError:
            return False
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(self.store.explain(exc)) from exc
        if hash(key) % 100 == 0:  # prune now and then, not on every request
            async with self.store.session() as session:
                await session.execute(
                    delete(DeliveryRow).where(DeliveryRow.seen_at < utcnow() - keep)
                )
        return True

    async def enqueue(
        self,
        channel: str,
        messages: list[dict[str, Any]],
        *,
        run_id: int | None = None,
        thread_ts: str | None = None,
        update_ts: str | None = None,
        lease: tuple[str, timedelta] | None = None,
    ) -> Pending:
        """Keep rendered messages until they are posted; with `lease` (owner, how long) the
        new entry is already taken by that owner, as `claim` would take it."""
        now = utcnow()
        row = OutboxRow(
            created_at=now,
            channel=channel,
            run_id=run_id,
            thread_ts=thread_ts,
            update_ts=update_ts,
            messages=messages,
            next_index=0,
            attempts=0,
            last_error="",
            done=False,
            lease_owner=lease[0] if lease else None,
            lease_until=now + lease[1] if lease else None,
        )
        async with self.store.session() as session:
            session.add(row)
            await session.flush()
            return pending_from(row)

    async def claim(self, entry_id: int, owner: str, lease: timedelta) -> Pending | None:
        """Take the entry for `lease` unless another owner's lease still runs; the entry as
        stored now (another replica may have posted part of it), or None if not ours."""
        now = utcnow()
        async with self.store.session() as session:
            taken = await session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id == entry_id,
                    OutboxRow.done.is_(False),
                    or_(
                        OutboxRow.lease_until.is_(None),
                        OutboxRow.lease_until < now,
                        OutboxRow.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=now + lease)
                .execution_options(synchronize_session=False)
            )
            if getattr(taken, "rowcount", 0) != 1:
                return None
            row = await session.get(OutboxRow, entry_id)
            return pending_from(row) if row is not None else None

    async def release(self, entry_id: int, owner: str) -> None:
        """Give the entry back (posted, or failed and left for a later retry)."""
        async with self.store.session() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == entry_id, OutboxRow.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    async def progress(
        self,
        entry_id: int,
        next_index: int,
        summary_ts: str | None,
        done: bool,
        lease: timedelta | None = None,
    ) -> None:
        """Remember how far posting got (and extend the poster's lease by `lease`)."""
        values: dict[str, Any] = {"next_index": next_index, "summary_ts": summary_ts, "done": done}
        if lease is not None:
            values["lease_until"] = utcnow() + lease
        async with self.store.session() as session:
            await session.execute(update(OutboxRow).where(OutboxRow.id == entry_id).values(values))

    async def failed(self, entry_id: int, error: str) -> None:
        """Count a failed attempt and why."""
        async with self.store.session() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == entry_id)
                .values(attempts=OutboxRow.attempts + 1, last_error=redact(error)[:2000])
            )

    async def pending(self, limit: int = 50) -> list[Pending]:
        """Entries not yet fully posted, oldest first."""
        async with self.store.session() as session:
            rows = await session.scalars(
                select(OutboxRow)
                .where(OutboxRow.done.is_(False))
                .order_by(OutboxRow.id)
                .limit(limit)
            )
            return [pending_from(r) for r in rows]

    async def raw_outputs(self, run_id: int) -> list[tuple[str, str, str]]:
        """(probe, host, raw) of a stored run, as stored (capped and redacted)."""
        async with self.store.session() as session:
            rows = await session.execute(
                select(ProbeResultRow.probe, ProbeResultRow.host, ProbeResultRow.raw)
                .where(ProbeResultRow.run_id == run_id)
                .order_by(ProbeResultRow.id)
            )
            return [(p, h, r) for p, h, r in rows.all()]


def pending_from(row: OutboxRow) -> Pending:
    """The outbox row as the poster's work item."""
    return Pending(
        row.id,
        row.channel,
        row.run_id,
        row.thread_ts,
        row.update_ts,
        row.summary_ts,
        list(row.messages),
        row.next_index,
    )
