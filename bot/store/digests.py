"""Digest schedules, the per-slot claims of their posts, and watched domains.

A post is claimed by inserting (schedule_id, slot) under a unique constraint: with several
replicas on one database exactly one insert wins, the others get an IntegrityError and leave
the slot alone. The claim row then records how posting went (claimed, queued, posted, failed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    delete,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.store.db import Store
from bot.store.digest_rows import DigestPostRow, ScheduleRow, WatchedDomainRow
from bot.store.models import utcnow
from bot.store.slack import Pending, pending_from
from bot.store.slack_rows import OutboxRow
from ssh_probes.errors import InputError, StoreError


@dataclass(frozen=True)
class Schedule:
    """A schedule as read back."""

    id: int
    channel: str
    cron: str
    tz: str
    hosts: str
    domains: tuple[str, ...]
    created_by: str | None
    enabled: bool
    created_at: datetime


@dataclass(frozen=True)
class Post:
    """A claim row as read back."""

    id: int
    schedule_id: int
    slot: datetime
    status: str
    attempts: int
    outbox_id: int | None
    message_ts: str | None


def _schedule(r: ScheduleRow) -> Schedule:
    return Schedule(
        r.id,
        r.channel,
        r.cron,
        r.tz,
        r.hosts,
        tuple(r.domains),
        r.created_by,
        r.enabled,
        r.created_at,
    )


def _post(r: DigestPostRow) -> Post:
    return Post(r.id, r.schedule_id, r.slot, r.status, r.attempts, r.outbox_id, r.message_ts)


class DigestRepo:
    """Schedules, claims and watched domains on one Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---- schedules

    async def add(
        self,
        channel: str,
        cron: str,
        tz: str,
        hosts: str,
        domains: tuple[str, ...],
        created_by: str | None,
        now: datetime | None = None,
    ) -> Schedule:
        """Create an enabled schedule."""
        row = ScheduleRow(
            channel=channel,
            cron=cron,
            tz=tz,
            hosts=hosts,
            domains=list(domains),
            created_by=created_by,
            enabled=True,
            created_at=now or utcnow(),
        )
        async with self.store.session() as session:
            session.add(row)
            await session.flush()
            return _schedule(row)

    async def schedules(self, enabled_only: bool = False) -> list[Schedule]:
        """Every schedule, by id."""
        query = select(ScheduleRow).order_by(ScheduleRow.id)
        if enabled_only:
            query = query.where(ScheduleRow.enabled.is_(True))
        async with self.store.session() as session:
            return [_schedule(r) for r in await session.scalars(query)]

    async def get(self, schedule_id: int) -> Schedule:
        """One schedule; an unknown id is an InputError."""
        async with self.store.session() as session:
            row = await session.get(ScheduleRow, schedule_id)
            if row is None:
                raise InputError(f"no digest schedule {schedule_id}; see `/digest list`")
            return _schedule(row)

    async def remove(self, schedule_id: int) -> None:
        """Delete a schedule (its claims go with it); an unknown id is an InputError."""
        async with self.store.session() as session:
            done = await session.execute(delete(ScheduleRow).where(ScheduleRow.id == schedule_id))
        if not getattr(done, "rowcount", 0):
            raise InputError(f"no digest schedule {schedule_id}; see `/digest list`")

    # ---- claims

    async def last_slot(self, schedule_id: int) -> datetime | None:
        """The latest slot claimed for the schedule (whatever became of it)."""
        async with self.store.session() as session:
            return await session.scalar(
                select(func.max(DigestPostRow.slot)).where(DigestPostRow.schedule_id == schedule_id)
            )

    async def claim(self, schedule_id: int, slot: datetime, by: str) -> Post | None:
        """Insert the claim row; None when another replica (or an earlier tick) has it."""
        row = DigestPostRow(
            schedule_id=schedule_id,
            slot=slot,
            status="claimed",
            attempts=1,
            claimed_by=by,
            claimed_at=utcnow(),
            error="",
        )
        try:
            async with self.store.sessions() as session, session.begin():
                session.add(row)
                await session.flush()
                return _post(row)
        except IntegrityError:
            return None
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(self.store.explain(exc)) from exc

    async def set_outbox(self, post_id: int, outbox_id: int, snapshot: dict[str, Any]) -> None:
        """Remember which outbox entry carries this post and what it shows."""
        await self._update(post_id, outbox_id=outbox_id, snapshot=snapshot)

    async def posted(self, post_id: int, ts: str | None) -> None:
        """The post went out; its snapshot becomes the next digest's baseline."""
        await self._update(post_id, status="posted", message_ts=ts, posted_at=utcnow(), error="")

    async def outbox(self, outbox_id: int) -> tuple[Pending | None, str | None, str]:
        """(the entry if still to post, its summary ts, its last error) of an outbox entry."""
        async with self.store.session() as session:
            row = await session.get(OutboxRow, outbox_id)
            if row is None:
                return None, None, "outbox entry gone"
            pending = None
            if not row.done:
                pending = pending_from(row)
            return pending, row.summary_ts, row.last_error

    async def abandon(self, outbox_id: int) -> None:
        """Stop the outbox loop from trying an entry whose digest has given up."""
        async with self.store.session() as session:
            await session.execute(
                update(OutboxRow).where(OutboxRow.id == outbox_id).values(done=True)
            )

    async def not_posted(self, post_id: int, error: str, final: bool) -> None:
        """A failed attempt: `queued` for another try, or `failed` for good."""
        await self._update(post_id, status="failed" if final else "queued", error=error[:2000])

    async def retake(self, post_id: int, by: str, max_attempts: int) -> Post | None:
        """Take a queued post for one more attempt (compare-and-set: one replica wins)."""
        async with self.store.session() as session:
            done = await session.execute(
                update(DigestPostRow)
                .where(
                    DigestPostRow.id == post_id,
                    DigestPostRow.status == "queued",
                    DigestPostRow.attempts < max_attempts,
                )
                .values(
                    status="claimed",
                    attempts=DigestPostRow.attempts + 1,
                    claimed_by=by,
                    claimed_at=utcnow(),
                )
            )
            if getattr(done, "rowcount", 0) != 1:
                return None
            row = await session.get(DigestPostRow, post_id, populate_existing=True)
            return _post(row) if row is not None else None

    async def queued(self) -> list[Post]:
        """Posts waiting for another attempt, oldest first."""
        async with self.store.session() as session:
            rows = await session.scalars(
                select(DigestPostRow)
                .where(DigestPostRow.status == "queued")
                .order_by(DigestPostRow.id)
                .limit(100)
            )
            return [_post(r) for r in rows]

    async def posts(self, schedule_id: int | None = None) -> list[Post]:
        """Claim rows (of one schedule, or all), by slot."""
        query = select(DigestPostRow).order_by(DigestPostRow.slot, DigestPostRow.id)
        if schedule_id is not None:
            query = query.where(DigestPostRow.schedule_id == schedule_id)
        async with self.store.session() as session:
            return [_post(r) for r in await session.scalars(query)]

    async def baseline(self, schedule_id: int, before_slot: datetime) -> dict[str, Any] | None:
        """What the last posted digest before `before_slot` showed, or None."""
        async with self.store.session() as session:
            return await session.scalar(
                select(DigestPostRow.snapshot)
                .where(
                    DigestPostRow.schedule_id == schedule_id,
                    DigestPostRow.status == "posted",
                    DigestPostRow.slot < before_slot,
                )
                .order_by(DigestPostRow.slot.desc())
                .limit(1)
            )

    # ---- watched domains

    async def watch(self, name: str, by: str | None) -> bool:
        """Watch a domain; False when it already was."""
        try:
            async with self.store.sessions() as session, session.begin():
                session.add(WatchedDomainRow(name=name, added_by=by, created_at=utcnow()))
        except IntegrityError:
            return False
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(self.store.explain(exc)) from exc
        return True

    async def unwatch(self, name: str) -> bool:
        """Stop watching a domain; False when it was not watched."""
        async with self.store.session() as session:
            done = await session.execute(
                delete(WatchedDomainRow).where(WatchedDomainRow.name == name)
            )
        return bool(getattr(done, "rowcount", 0))

    async def watched(self) -> list[str]:
        """Watched domains, sorted."""
        async with self.store.session() as session:
            rows = await session.scalars(select(WatchedDomainRow.name).order_by("name"))
            return list(rows)

    async def _update(self, post_id: int, **values: Any) -> None:
        async with self.store.session() as session:
            await session.execute(
                update(DigestPostRow).where(DigestPostRow.id == post_id).values(**values)
            )
