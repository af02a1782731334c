"""The digest loop: cron slots in each schedule's time zone, claimed exactly once.

Every replica runs this loop against the same database. For each enabled schedule a tick
takes the latest slot due (croniter in the schedule's zone), and claims (schedule, slot) by
inserting a row under a unique constraint: exactly one replica's insert succeeds. Only the
latest due slot is considered, so after downtime one catch-up digest goes out, not one per
missed slot. The winner builds the digest, puts it in the Slack outbox (which resumes a
half-posted message instead of posting it again) and marks the claim posted. A failed post
stays `queued` and is retried by later ticks (a compare-and-set takes it, so one replica at
a time) until settings.digest_retries more attempts have failed; then it is `failed`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.digests.build import Digest, build
from bot.digests.render import messages
from bot.render.blocks import Message
from bot.settings import Settings
from bot.slack.posting import Poster
from bot.store import retention
from bot.store.db import Store
from bot.store.digests import DigestRepo, Post, Schedule
from bot.store.models import utcnow
from ssh_probes.errors import InputError, TriagebotError

log = logging.getLogger("triagebot.scheduler")
PRUNE_EVERY = timedelta(hours=1)
Refresh = Callable[[Store, Settings, Schedule], Awaitable[None]]


def due_slot(schedule: Schedule, now: datetime) -> datetime | None:
    """The latest cron slot at or before `now` (UTC), or None if it predates the schedule."""
    from croniter import croniter

    local = now.astimezone(ZoneInfo(schedule.tz))
    # croniter's get_prev is strictly before its start: start a second later so a tick at
    # exactly 09:00:00 sees the 09:00 slot.
    prev = croniter(schedule.cron, local + timedelta(seconds=1)).get_prev(datetime)
    slot = prev.astimezone(UTC).replace(microsecond=0)
    return None if slot < schedule.created_at.replace(microsecond=0) else slot


def instance_name() -> str:
    """Which replica claimed a slot (for people reading digest_posts)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


class Scheduler:
    """Claims, posts and retries digests; prunes old runs."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        poster: Poster | None,
        *,
        name: str | None = None,
        refresh: Refresh | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.settings = settings
        self.poster = poster
        self.name = name or instance_name()
        self.refresh = refresh
        self.clock = clock
        self.repo = DigestRepo(store)
        self.max_attempts = 1 + settings.digest_retries
        self._pruned_at: datetime | None = None

    async def tick(self, now: datetime | None = None) -> int:
        """Claim and post every due slot, retry queued posts, prune; returns posts made."""
        now = now or self.clock()
        posted = 0
        tried: set[int] = set()  # a post that failed in this tick waits for the next one
        # Without Slack nothing can be posted: leave every slot to a replica that can.
        schedules = await self.repo.schedules(enabled_only=True) if self.poster else []
        for schedule in schedules:
            try:
                slot = due_slot(schedule, now)
            except (ValueError, KeyError) as exc:  # a schedule edited by hand in the DB
                log.warning("digest %s: cannot compute its slot: %s", schedule.id, exc)
                continue
            if slot is None:
                continue
            last = await self.repo.last_slot(schedule.id)
            if last is not None and last >= slot:
                continue
            post = await self.repo.claim(schedule.id, slot, self.name)
            if post is None:
                continue  # another replica has this slot
            tried.add(post.id)
            posted += await self.deliver(schedule, post, now)
        for waiting in await self.repo.queued() if self.poster else []:
            if waiting.id in tried:
                continue
            post = await self.repo.retake(waiting.id, self.name, self.max_attempts)
            if post is None:
                continue  # another replica took it, or it has no attempt left
            try:
                schedule = await self.repo.get(post.schedule_id)
            except InputError:
                continue  # removed meanwhile: its claims went with it
            posted += await self.deliver(schedule, post, now)
        await self.maybe_prune(now)
        return posted

    async def deliver(
        self, schedule: Schedule, post: Post, now: datetime, digest: Digest | None = None
    ) -> int:
        """Post a claimed slot (building it on the first attempt); 1 when it went out."""
        if self.poster is None:
            raise TriagebotError("no Slack poster: digests can only be posted with Slack tokens")
        try:
            if post.outbox_id is None:
                digest = digest or await self.compose(schedule, post.slot, now)
                entry = await self.poster.repo.enqueue(schedule.channel, await render(digest))
                await self.repo.set_outbox(post.id, entry.id, digest.snapshot)
                post = replace(post, outbox_id=entry.id)
            else:
                pending, summary_ts, _err = await self.repo.outbox(post.outbox_id)
                if pending is None:  # the outbox loop delivered it meanwhile
                    await self.repo.posted(post.id, summary_ts)
                    return 1
                entry = pending
            ts = await self.poster.attempt(entry)
        except TriagebotError as exc:
            log.warning("digest %s slot %s: %s", schedule.id, post.slot, exc)
            await self._failed(post, str(exc))
            return 0
        if ts is not None:
            await self.repo.posted(post.id, ts)
            log.info("digest %s slot %s posted (%s)", schedule.id, post.slot, ts)
            return 1
        _pending, _ts, error = await self.repo.outbox(entry.id)
        await self._failed(post, error or "not posted")
        return 0

    async def _failed(self, post: Post, error: str) -> None:
        final = post.attempts >= self.max_attempts
        await self.repo.not_posted(post.id, error, final)
        if final and post.outbox_id is not None:
            await self.repo.abandon(post.outbox_id)
        log.warning(
            "digest post %s: attempt %s of %s failed%s: %s",
            post.id,
            post.attempts,
            self.max_attempts,
            " for good" if final else "",
            error,
        )

    async def compose(self, schedule: Schedule, slot: datetime, now: datetime) -> Digest:
        """Refresh the watched targets (when configured), then build the digest."""
        if self.refresh is not None:
            await self.refresh(self.store, self.settings, schedule)
        return await build(self.store, schedule, slot, now)

    async def run_now(self, schedule_id: int) -> tuple[Digest, bool]:
        """`/digest run ID`: build now and, with a poster, claim this second and post it."""
        schedule = await self.repo.get(schedule_id)
        now = self.clock().replace(microsecond=0)
        digest = await self.compose(schedule, now, now)
        if self.poster is None:
            return digest, False
        post = await self.repo.claim(schedule.id, now, self.name)
        if post is None:
            return digest, False  # the same second was just claimed: that post covers it
        return digest, bool(await self.deliver(schedule, post, now, digest))

    async def maybe_prune(self, now: datetime) -> int:
        """Delete runs older than the retention, at most once per PRUNE_EVERY."""
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return 0
        self._pruned_at = now
        cutoff = now - timedelta(days=self.settings.retention_days)
        removed = await retention.prune(self.store, cutoff, self.settings.retention_batch)
        if removed:
            log.info("retention: removed %s runs older than %s", removed, cutoff)
        return removed

    async def run(self) -> None:
        """Tick every settings.scheduler_tick_s until cancelled."""
        while True:
            try:
                await self.tick()
            except TriagebotError as exc:
                log.warning("scheduler: %s", exc)
            except Exception:
                log.exception("scheduler tick failed")
            await asyncio.sleep(self.settings.scheduler_tick_s)


async def render(digest: Digest) -> list[Message]:
    """The digest's messages, with its chart drawn in a thread (matplotlib is CPU-bound)."""
    png = None
    if digest.series:
        from bot.digests.chart import disk_chart

        title = f"Digest {digest.schedule.id}: disk use"
        png = await asyncio.to_thread(disk_chart, digest.series, title)
    return messages(digest, png)
