"""The alert desk: handle kept notifications, one Slack thread per alert group.

Per alert (by fingerprint): the first firing notification runs the routine for the host it
names and answers in the group's thread; repeats within the interval add a line instead; a
`resolved` updates the summary and runs the routine once more. Bounds: at most
`alerts_max_parallel` routines at once, one per target per interval (an alert storm about
one host gives one triage, the other alerts link to it), and `alerts_max_per_host_hour` per
target per hour. Every alert ends with an outcome: triaged, linked, repeat, limited,
unmapped, resolved.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.alerts import render
from bot.alerts.payload import Alert, Notification, PayloadError, parse
from bot.alerts.routing import Route, Target, mapping_hint, target_for
from bot.commands import run as run_command
from bot.render import blocks
from bot.service import Who
from bot.settings import Settings
from bot.store.alerts import AlertRepo, AlertState, hour_ago
from bot.store.db import Store
from bot.store.hosts import HostRepo
from bot.store.models import utcnow
from bot.store.slack import SlackRepo
from commands.report import Report
from ssh_probes.errors import StoreError, TriagebotError

log = logging.getLogger("triagebot.alerts")
SHOWN_LINES = 12  # of a notification's repeats and links, in its one thread reply


@dataclass(frozen=True)
class Turn:
    """One notification being answered: where, in which thread, when, over which hosts."""

    note: Notification
    channel: str
    ts: str | None
    now: datetime
    hosts: Sequence[Any]


Post = Callable[..., Awaitable[str | None]]


class AlertDesk:
    """Receives validated notifications and answers them in Slack, within the bounds."""

    def __init__(self, store: Store, settings: Settings, post: Post, route: Route) -> None:
        self.store, self.settings, self.post, self.route = store, settings, post, route
        self.repo = AlertRepo(store)
        self.audit = SlackRepo(store)
        self.gate = asyncio.Semaphore(settings.alerts_max_parallel)
        self.wake = asyncio.Event()
        self._groups: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._targets: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()
        self.interval = timedelta(seconds=settings.alerts_repeat_interval_s)

    # ---- intake

    async def accept(self, source: str, body: bytes) -> Notification:
        """Validate and keep a notification (PayloadError for a bad one); handled later."""
        note = parse(source, body)
        await self.repo.receive(source, json.loads(body))
        self.wake.set()
        return note

    async def run(self, idle_s: float = 5.0) -> None:
        """Handle kept notifications until cancelled: woken by `accept`, polling as a backstop."""
        while True:
            try:
                await self.drain_inbox()
            except StoreError as exc:
                log.warning("alerts: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), idle_s)
            self.wake.clear()

    async def drain_inbox(self) -> int:
        """Handle every kept notification (groups in parallel, each group in order)."""
        entries = await self.repo.pending(limit=1000)
        await asyncio.gather(*(self._one(i, s, b) for i, s, b in entries))
        return len(entries)

    async def _one(self, inbox_id: int, source: str, body: dict[str, Any]) -> None:
        try:
            note = parse(source, json.dumps(body).encode())
        except PayloadError as exc:  # stored before a stricter parser: drop it, say why
            await self.repo.handled(inbox_id, str(exc))
            return
        async with self._groups[f"{source}:{note.group_key}"]:
            try:
                await self.handle(note)
                await self.repo.handled(inbox_id)
            except (TriagebotError, OSError) as exc:
                log.error("alert notification %s: %s", inbox_id, exc)
                await self.repo.handled(inbox_id, str(exc))

    async def settle(self) -> None:
        """Wait for the routines started so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---- one notification

    async def handle(self, note: Notification) -> None:
        """Update the group's summary, then answer each alert of the notification."""
        channel = self.route.channel(note.receiver, note.alerts[0].labels)
        if channel is None:
            await self.audit.audit(
                user=note.receiver, channel=None, action="alert", source="alert",
                detail=f"{note.source} {note.group_key}"[:200], outcome="refused",
                reason="no channel: set TRIAGEBOT_ALERTS_CHANNEL or an alerts: route",
            )  # fmt: skip
            return
        group_id, channel, ts = await self.repo.group(
            note.source, note.group_key, note.receiver, channel
        )
        now = utcnow()
        states = await self.repo.seen(
            note.source, group_id, [(a.fingerprint, a.name, a.status) for a in note.alerts], now
        )
        resolved = [
            (a, (a.ends_at or now) if a.status == "resolved" else None) for a in note.alerts
        ]
        changed = ts is None or any(
            a.status != s.was for a, s in zip(note.alerts, states, strict=True)
        )
        if changed:
            message = render.summary(note, resolved)
            posted = await self.post(channel, [message], update_ts=ts)
            if ts is None and posted:
                ts = posted
                await self.repo.set_summary(group_id, ts)
        turn = Turn(note, channel, ts, now, await HostRepo(self.store).list())
        repeats: list[str] = []
        for alert, state in zip(note.alerts, states, strict=True):
            if alert.status == "resolved":
                await self._resolved(turn, alert, state)
            else:
                repeat = await self._firing(turn, alert, state)
                if repeat:
                    repeats.append(repeat)
        if repeats:  # one reply for the whole notification, however many alerts it holds
            shown = "\n".join(line[:200] for line in repeats[:SHOWN_LINES])
            more = len(repeats) - SHOWN_LINES
            await self._say(
                turn, shown + (f"\n+{more} more alerts, answered the same way" if more > 0 else "")
            )

    async def _say(self, turn: Turn, text: str) -> None:
        """One line in the group's thread."""
        await self.post(turn.channel, [render.line(text)], thread_ts=turn.ts)

    async def _firing(self, turn: Turn, alert: Alert, state: AlertState) -> str | None:
        """Start, link or refuse the routine for a firing alert; a repeat line, or None."""
        target = target_for(alert.labels, turn.hosts, self.settings.alerts_host_label)
        if target is None:
            if not state.hinted:
                hint = mapping_hint(alert.labels, self.settings.alerts_host_label)
                await self._say(turn, f"{alert.name}: {hint}")
            await self.repo.update(state.id, hinted=True, outcome="unmapped")
            return None
        if state.last_triage_at and turn.now - state.last_triage_at < self.interval:
            await self.repo.update(state.id, outcome=state.outcome or "repeat")
            return (
                f"{alert.name} on {target.host} still firing (notification "
                f"{state.notifications}); the routine ran at {state.last_triage_at:%H:%M:%S} UTC"
            )
        return await self._start(turn, alert, state, target, final=False)

    async def _resolved(self, turn: Turn, alert: Alert, state: AlertState) -> None:
        """Record the resolution once and run the routine once more to show what recovered."""
        if state.was == "resolved":
            return  # a repeated `resolved`: already answered
        await self.repo.update(state.id, resolved_at=alert.ends_at or turn.now, outcome="resolved")
        if state.new:
            return  # resolved before it was ever seen firing: nothing to compare with
        target = target_for(alert.labels, turn.hosts, self.settings.alerts_host_label)
        if target is not None and (
            why := await self._start(turn, alert, state, target, final=True)
        ):
            await self._say(turn, why)

    async def _start(
        self, turn: Turn, alert: Alert, state: AlertState, target: Target, *, final: bool
    ) -> str | None:
        """Reserve the target (one routine per target per interval, M per hour), then run;
        when it is not run, the line that says why (the caller gathers a notification's)."""
        async with self._targets[target.key]:
            if not final:
                recent = await self.repo.recent_triage(target.key, turn.now - self.interval)
                if recent is not None and recent.id != state.id:
                    await self.repo.update(state.id, target=target.key, outcome="linked")
                    return (
                        f"{alert.name}: {target.host} was examined at "
                        f"{recent.last_triage_at:%H:%M:%S} UTC for {recent.name} (run "
                        f"{recent.last_run_id or 'in progress'}); not run again within "
                        f"{int(self.interval.total_seconds() // 60)} min"
                    )
            used = await self.repo.triages_since(target.key, hour_ago(turn.now))
            if used >= self.settings.alerts_max_per_host_hour:
                await self.repo.update(state.id, target=target.key, outcome="limited")
                return (
                    f"{alert.name}: {used} alert-started runs on {target.host} in the last hour "
                    f"(TRIAGEBOT_ALERTS_MAX_PER_HOST_HOUR); not run again. Run `/triage "
                    f"{target.host}` by hand if needed."
                )
            outcome = "resolved" if final else "triaged"
            await self.repo.update(
                state.id, target=target.key, last_triage_at=turn.now, outcome=outcome
            )
        task = asyncio.create_task(self._run(turn, alert, state, target, final))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    async def _run(
        self, turn: Turn, alert: Alert, state: AlertState, target: Target, final: bool
    ) -> None:
        words = " ".join(target.words)
        audit_id = await self.audit.audit(
            user=turn.note.receiver, channel=turn.channel, action=f"alert:{target.command}",
            detail=f"{alert.name} -> {target.command} {words}"[:500], outcome="accepted",
            source="alert",
        )  # fmt: skip
        who = Who("alert", turn.note.receiver, turn.channel)
        try:
            async with self.gate:
                # Through the command registry, like Slack, the CLI and the console.
                report = await run_command(
                    target.command, self.store, self.settings, target.words, who
                )
        except TriagebotError as exc:
            refused = getattr(exc, "outcome", "") == "refused"  # a target rule (TargetRefused)
            await self.audit.finish_audit(
                audit_id, "refused" if refused else "error", reason=str(exc) if refused else ""
            )
            await self._say(turn, f"{alert.name}: {exc}")
            return
        await self.repo.update(state.id, last_run_id=report.run_id)
        await self.post(
            turn.channel,
            self._messages(report, alert, final),
            run_id=report.run_id,
            thread_ts=turn.ts,
        )
        await self.audit.finish_audit(audit_id, "posted", report.run_id)

    def _messages(self, report: Report, alert: Alert, final: bool) -> list[blocks.Message]:
        lead = (
            f"{alert.name} resolved: the routine once more, to show what went back to normal"
            if final
            else f"{alert.name}: the routine on {report.target}"
        )
        changed = blocks.changes_text(report)
        first = lead + (
            f". What changed {changed}" if changed else " (its first run: nothing to compare)"
        )
        messages = blocks.report_messages(report)
        head = messages[0]
        if "blocks" not in head:  # never a file today; keep the lead as its own line then
            return [render.line(first), *messages]
        # The lead opens the report's own summary: the thread stays at the report's replies.
        lead_block = render.line(first)["blocks"][0]
        merged = {
            **head,
            "text": f"{first}\n{head['text']}",
            "blocks": [lead_block, *head["blocks"]],
        }
        return [merged, *messages[1:]]
