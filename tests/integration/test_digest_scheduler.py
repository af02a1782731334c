"""The digest scheduler against SQLite and the real PostgreSQL, posting to the fake Slack.

A fake clock is advanced slot by slot; exactly-once comes from the digest_posts claim (two
Store objects, two Posters: nothing shared in process).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.digests.build import build
from bot.digests.scheduler import Scheduler, due_slot
from bot.settings import Settings
from bot.slack.posting import Poster, make_client
from bot.store.db import Store
from bot.store.digests import DigestRepo
from bot.store.models import DiskPointRow, FindingRow, HostRow, ProbeResultRow, RunRow
from bot.store.retention import prune
from bot.store.runs import RunRepo
from bot.store.slack_rows import OutboxRow
from commands.report import Report
from ssh_probes.model import Finding, ProbeResult
from tests.slack_fixtures import FakeSlack, Scripted
from tests.slack_fixtures import test_settings as slack_settings

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, on a minute boundary


def settings_for(fake: FakeSlack, store: Store, **overrides: Any) -> Settings:
    """No Slack-side retries (the scheduler's are under test), no refresh (no probes run)."""
    values: dict[str, Any] = {"slack_retries": 0, "digest_refresh": False, "digest_retries": 2}
    values.update(overrides)
    return slack_settings(fake, store.url, **values)


def scheduler(fake: FakeSlack, store: Store, name: str, **overrides: Any) -> Scheduler:
    settings = settings_for(fake, store, **overrides)
    return Scheduler(store, settings, Poster(make_client(settings), store, settings), name=name)


async def add_host(store: Store, name: str, watched: bool = True) -> None:
    async with store.session() as session:
        session.add(
            HostRow(name=name, address="192.0.2.10", port=22, user="root", host_keys=[],
                    expect_ports=[], logs=[], labels={}, watched=watched)
        )  # fmt: skip


def disk_facts(var_pct: float) -> dict[str, Any]:
    size = 1_000_000
    used = int(size * var_pct / 100)
    return {"filesystems": [
        {"filesystem": "/dev/vdb", "type": "ext4", "mount": "/var", "size_kb": size,
         "used_kb": used, "avail_kb": size - used, "use_pct": round(var_pct)},
        {"filesystem": "/dev/vda", "type": "ext4", "mount": "/", "size_kb": size,
         "used_kb": 400_000, "avail_kb": 600_000, "use_pct": 40},
    ]}  # fmt: skip


async def save_triage(
    store: Store, host: str, at: datetime, var_pct: float, findings: tuple[Finding, ...] = ()
) -> int:
    result = ProbeResult("disk", host, True, disk_facts(var_pct), area="disk")
    status = "ok" if not findings else "partial"
    report = Report("triage", host, status, at, 10, findings=findings, results=(result,))
    return await RunRepo(store).save(report)


async def save_dig(store: Store, at: datetime, *addresses: str) -> None:
    facts = {"kind": "query", "rcode": "NOERROR", "authoritative": False,
             "answers": [{"name": "example.com", "type": "A", "ttl": 60, "value": a}
                         for a in addresses]}  # fmt: skip
    result = ProbeResult("dig:A@127.0.0.1:53", "local", True, facts, area="dns")
    await RunRepo(store).save(Report("dig", "example.com", "ok", at, 5, results=(result,)))


async def test_two_schedulers_post_each_of_50_slots_once(
    store: Store, fake_slack: FakeSlack
) -> None:
    other = Store(store.url)
    try:
        repo = DigestRepo(store)
        s = await repo.add("C0DIGEST", "* * * * *", "UTC", "*", (), "U1", now=T0)
        a, b = scheduler(fake_slack, store, "a"), scheduler(fake_slack, other, "b")
        for minute in range(1, 51):
            now = T0 + timedelta(minutes=minute, seconds=5)
            await asyncio.gather(a.tick(now), b.tick(now))
        posts = await repo.posts(s.id)
        assert [p.slot for p in posts] == [T0 + timedelta(minutes=m) for m in range(1, 51)]
        assert {p.status for p in posts} == {"posted"}
        summaries = fake_slack.summaries()
        assert len(summaries) == 50
        assert len({ts for ts, _ in summaries}) == 50
        assert all(body["channel"] == "C0DIGEST" for _, body in summaries)
    finally:
        await other.close()


async def test_restart_after_missed_slots_posts_one_catch_up(
    store: Store, fake_slack: FakeSlack
) -> None:
    repo = DigestRepo(store)
    s = await repo.add("C0DIGEST", "*/5 * * * *", "Europe/Paris", "*", (), "U1", now=T0)
    first = scheduler(fake_slack, store, "before-downtime")
    assert await first.tick(T0 + timedelta(minutes=5)) == 1
    # Down for an hour and a half (17 slots missed); a new process comes up.
    restarted = scheduler(fake_slack, store, "after-restart")
    later = T0 + timedelta(minutes=97)
    assert await restarted.tick(later) == 1
    assert await restarted.tick(later + timedelta(seconds=30)) == 0
    posts = await repo.posts(s.id)
    assert [p.slot for p in posts] == [T0 + timedelta(minutes=5), T0 + timedelta(minutes=95)]
    assert len(fake_slack.summaries()) == 2


async def test_failed_post_is_retried_and_posted_once(store: Store, fake_slack: FakeSlack) -> None:
    repo = DigestRepo(store)
    s = await repo.add("C0DIGEST", "0 * * * *", "UTC", "*", (), "U1", now=T0)
    sched = scheduler(fake_slack, store, "a")
    fake_slack.answer("chat.postMessage", Scripted(status=500))
    slot_time = T0 + timedelta(hours=1)
    assert await sched.tick(slot_time) == 0
    [post] = await repo.posts(s.id)
    assert (post.status, post.attempts) == ("queued", 1)
    assert await sched.tick(slot_time + timedelta(seconds=30)) == 1
    assert await sched.tick(slot_time + timedelta(seconds=60)) == 0
    [post] = await repo.posts(s.id)
    assert (post.status, post.attempts) == ("posted", 2)
    assert len(fake_slack.summaries()) == 1
    assert len(fake_slack.all("chat.postMessage")) == 3  # the failure, the summary, the hosts


async def test_retries_are_bounded(store: Store, fake_slack: FakeSlack) -> None:
    repo = DigestRepo(store)
    s = await repo.add("C0DIGEST", "0 * * * *", "UTC", "*", (), "U1", now=T0)
    sched = scheduler(fake_slack, store, "a", digest_retries=2)
    fake_slack.answer("chat.postMessage", *[Scripted(status=500)] * 10)
    for i in range(6):
        await sched.tick(T0 + timedelta(hours=1, seconds=30 * i))
    [post] = await repo.posts(s.id)
    assert (post.status, post.attempts) == ("failed", 3)
    assert len(fake_slack.all("chat.postMessage")) == 3
    assert post.outbox_id is not None
    async with store.session() as session:  # the outbox loop will not try it either
        assert (await session.get(OutboxRow, post.outbox_id)).done  # type: ignore[union-attr]


async def test_digest_content_forecast_chart_and_resumed_upload(
    store: Store, fake_slack: FakeSlack
) -> None:
    await add_host(store, "web-1")
    await add_host(store, "web-2")
    await add_host(store, "db-1", watched=False)  # opted out: never in a digest
    for i in range(11):  # /var: 80% -> 90% over 5 days; / flat at 40%
        await save_triage(store, "web-1", T0 - timedelta(hours=12 * (10 - i)), 80 + i)
    await save_triage(store, "db-1", T0, 99)
    repo = DigestRepo(store)
    await repo.watch("example.com", "U1")
    await save_dig(store, T0 - timedelta(hours=1), "192.0.2.1")
    s = await repo.add("C0DIGEST", "0 * * * *", "UTC", "web-*", (), "U1", now=T0)

    # The chart upload fails once: the retry resumes at the upload, nothing is posted twice.
    fake_slack.answer("files.getUploadURLExternal", Scripted(status=500))
    sched = scheduler(fake_slack, store, "a")
    slot_time = T0 + timedelta(hours=1)
    assert await sched.tick(slot_time) == 0
    assert await sched.tick(slot_time + timedelta(seconds=30)) == 1
    assert len(fake_slack.summaries()) == 1
    assert len(fake_slack.all("chat.postMessage")) == 2
    [png] = fake_slack.uploads.values()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000

    _ts, summary = fake_slack.summaries()[0]
    text = str(summary["blocks"])
    assert "web-1 /var 90%, full in about 5 days (+2.00%/day; fit over 5.0 days, 11 points" in text
    assert "1 other filesystem flat" in text
    assert "First digest" in text
    hosts = str(fake_slack.ok("chat.postMessage")[1]["blocks"])
    assert "web-1: ok, no findings" in hosts and "web-2: no triage stored yet" in hosts
    assert "db-1" not in text + hosts

    # Next digest: a new finding on web-1 and a changed A record.
    full = Finding("disk.full", "warning", "/var 91% full", host="web-1")
    await save_triage(store, "web-1", slot_time + timedelta(minutes=10), 91, (full,))
    await save_dig(store, slot_time + timedelta(minutes=10), "192.0.2.2")
    later = slot_time + timedelta(hours=1)
    digest = await build(store, s, later, later)
    lines = "\n".join(digest.lines())
    assert "New since the last digest: web-1 disk.full" in lines
    assert "Resolved since the last digest: none" in lines
    assert "DNS changes: example.com A@127.0.0.1:53: +A 192.0.2.2, -A 192.0.2.1" in lines
    assert "web-1: partial, warning disk.full" in lines


async def test_retention_prunes_old_runs_in_batches_and_keeps_new_ones(store: Store) -> None:
    now = datetime.now(UTC)
    gone = Finding("disk.full", "critical", "old", host="web-1")
    for i in range(25):
        await save_triage(store, "web-1", now - timedelta(days=40, minutes=i), 99, (gone,))
    keep = [await save_triage(store, "web-1", now - timedelta(days=d), 50) for d in (29, 1, 0)]
    removed = await prune(store, now - timedelta(days=30), batch=10)
    assert removed == 25
    async with store.session() as session:
        runs = sorted(await session.scalars(select(RunRow.id)))
        results = await session.scalar(select(func.count(ProbeResultRow.id)))
        findings = await session.scalar(select(func.count(FindingRow.id)))
        points = sorted(await session.scalars(select(DiskPointRow.run_id)))
    assert runs == sorted(keep)
    assert (results, findings) == (3, 0)
    assert points == sorted(keep)
    assert await prune(store, now - timedelta(days=30), batch=10) == 0


async def test_slots_follow_the_schedule_time_zone() -> None:
    from bot.store.digests import Schedule

    s = Schedule(1, "C1", "0 9 * * *", "Europe/Paris", "*", (), None, True, T0 - timedelta(days=9))
    # 09:00 in Paris is 08:00 UTC in March (CET); a tick at 08:00:00 UTC sees that slot.
    assert due_slot(s, datetime(2026, 3, 2, 8, 0, tzinfo=UTC)) == datetime(
        2026, 3, 2, 8, 0, tzinfo=UTC
    )
    assert due_slot(s, datetime(2026, 3, 2, 7, 59, tzinfo=UTC)) == datetime(
        2026, 3, 1, 8, 0, tzinfo=UTC
    )
    made = T0 + timedelta(minutes=1)
    fresh = Schedule(1, "C1", "0 9 * * *", "Europe/Paris", "*", (), None, True, made)
    assert due_slot(fresh, T0 + timedelta(hours=1)) is None  # no slot before its creation
