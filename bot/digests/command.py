"""`/digest ...` and `/dig watch|unwatch DOMAIN`: runners returning a Report (text lines)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.service import Who
from bot.settings import Settings
from bot.store.db import Store
from bot.store.digests import DigestRepo, Schedule
from bot.store.models import utcnow
from commands import digest as parser
from commands import validate, watch
from commands.report import Report
from ssh_probes.errors import InputError
from ssh_probes.model import LOCAL_HOST, ProbeResult

if TYPE_CHECKING:
    from bot.slack.posting import Poster


def next_run(schedule: Schedule, after: datetime) -> datetime:
    """The next slot after `after`, in the schedule's own time zone."""
    from croniter import croniter

    local = after.astimezone(ZoneInfo(schedule.tz))
    nxt: datetime = croniter(schedule.cron, local).get_next(datetime)
    return nxt


def describe(s: Schedule) -> str:
    """`3: #ops, 0 9 * * 1-5 Europe/Paris, hosts=web-*, domains=a.example (by U1)`."""
    channel = s.channel if s.channel.startswith("#") else f"<#{s.channel}>"
    domains = f", domains={','.join(s.domains)}" if s.domains else ""
    state = "" if s.enabled else " [disabled]"
    who = f" (by {s.created_by})" if s.created_by else ""
    return f"{s.id}: {channel}, `{s.cron}` {s.tz}, hosts={s.hosts}{domains}{who}{state}"


def _report(target: str, lines: list[str], started: datetime, t0: float, **facts: Any) -> Report:
    result = ProbeResult("digest", LOCAL_HOST, True, facts={"lines": lines, **facts}, area="digest")
    ms = int((time.monotonic() - t0) * 1000)
    return Report("digest", target, "ok", started, ms, results=(result,))


def _poster(store: Store, settings: Settings) -> Poster | None:
    if settings.slack_bot_token is None:
        return None
    from bot.slack.posting import Poster, make_client

    return Poster(make_client(settings), store, settings)


async def digest_command(
    store: Store, settings: Settings, words: str | Sequence[str], who: Who
) -> Report:
    """`/digest add|list|remove|run`: change or show schedules, or post one now."""
    words = validate.words_of(words)
    request = parser.parse(words)
    repo = DigestRepo(store)
    started, t0 = utcnow(), time.monotonic()
    if request.verb == "list":
        schedules = await repo.schedules()
        lines = [describe(s) for s in schedules] or [
            "no digest schedules; add one with /digest add"
        ]
        watched = await repo.watched()
        lines.append("watched domains: " + (", ".join(watched) if watched else "none"))
        return _report("list", lines, started, t0)
    if request.verb == "add":
        channel = request.channel or who.channel
        if channel is None:
            raise InputError("give a channel: `digest add #ops '0 9 * * *'` (or a channel id)")
        s = await repo.add(
            channel, request.cron, request.tz, request.hosts, request.domains, who.requested_by
        )
        lines = [f"added digest {describe(s)}", f"next: {next_run(s, utcnow()):%Y-%m-%d %H:%M %Z}"]
        return _report(f"schedule {s.id}", lines, started, t0, schedule_id=s.id)
    assert request.schedule_id is not None
    if request.verb == "remove":
        await repo.remove(request.schedule_id)
        lines = [f"removed digest {request.schedule_id}"]
        return _report(f"schedule {request.schedule_id}", lines, started, t0)
    from bot.digests.refresh import refresh_for
    from bot.digests.scheduler import Scheduler

    poster = _poster(store, settings)
    scheduler = Scheduler(store, settings, poster, refresh=refresh_for(settings))
    digest, posted = await scheduler.run_now(request.schedule_id)
    lines = digest.lines()
    where = describe(digest.schedule).split(", ", 1)[0].split(": ", 1)[1]
    if poster is None:
        lines.append("(not posted: no SLACK_BOT_TOKEN; this is the text it would post)")
    else:
        lines.append(f"posted to {where}" if posted else f"NOT posted to {where}: see the logs")
    facts = {
        "schedule_id": request.schedule_id,
        "posted": posted,
        "new": digest.new,
        "resolved": digest.resolved,
        "dns": digest.dns,
        "forecasts": [f.__dict__ for f in digest.forecasts],
    }
    return _report(f"run {request.schedule_id}", lines, started, t0, **facts)


async def watch_command(
    store: Store, settings: Settings, words: str | Sequence[str], who: Who
) -> Report:
    """`dig watch DOMAIN` / `dig unwatch DOMAIN`: the domains every digest follows."""
    words = validate.words_of(words)
    request = watch.parse(words)
    repo = DigestRepo(store)
    started, t0 = utcnow(), time.monotonic()
    if request.verb == "watch":
        added = await repo.watch(request.domain, who.requested_by)
        line = f"watching {request.domain}" if added else f"{request.domain} was already watched"
    else:
        gone = await repo.unwatch(request.domain)
        line = (
            f"no longer watching {request.domain}" if gone else f"{request.domain} was not watched"
        )
    report = _report(request.domain, [line, "digests show its DNS changes"], started, t0)
    return Report("dig", request.domain, "ok", started, report.duration_ms, results=report.results)


async def digest(
    store: Store, settings: Settings, words: str | Sequence[str], who: Who | None = None
) -> Report:
    """`digest add|list|remove|run`: the scheduled digests (the registry's `digest` runner)."""
    return await digest_command(store, settings, words, who or Who())
