"""Slash commands that run a report: decide before the ack, then run, post and audit.

Each command is decided before the ack (syntax and policy, no probe runs yet), acked at once
with an ephemeral "working on it" or a refusal, then run in a background task that posts
the report through the outbox (bot.slack.posting).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from typing import Any

from bot.commands import REGISTRY
from bot.ops import logs, metrics, shutdown
from bot.render import blocks
from bot.render.addresses import hosts_behind
from bot.service import Who
from bot.slack import compare_button
from bot.slack.context import Ack, Context, say
from bot.store.hosts import HostRepo
from bot.store.models import utcnow
from commands.report import Report
from ssh_probes.errors import InputError, TriagebotError

log = logging.getLogger("triagebot.app")


async def on_command(ctx: Context, ack: Ack, command: dict[str, Any]) -> None:
    """`/triage`, `/dig`, ...: check, ack with what will run, run in the background."""
    name = str(command["command"]).lstrip("/")
    text = str(command.get("text") or "").strip()
    user, channel = str(command["user_id"]), str(command["channel_id"])
    words = text.split()
    detail = f"/{name} {text}".strip()
    spec = REGISTRY[name]
    action = spec.action(words)
    decision = await ctx.auth.check(action, user, channel)
    if decision.allowed:
        try:
            spec.check(words)
            bound = await spec.bound_channel(ctx.store, words) if spec.bound_channel else None
            targets = await spec.targets(ctx.store, words)
        except InputError as exc:
            await say(ack, f":warning: {exc}")
            ctx.audit(
                user=user, channel=channel, action=name, detail=detail,
                outcome="usage_error", reason=str(exc),
            )  # fmt: skip
            return
        if bound is not None and bound != channel and not ctx.auth.is_admin(user):
            where = bound if bound.startswith("#") else f"<#{bound}>"
            decision = decision.refused(
                f"`/{name} {text}` posts into {where}: run it there, or ask an admin."
            )
    if not decision.allowed:
        await say(ack, f":no_entry: {decision.reason}")
        ctx.refuse(user, channel, action, detail, decision.reason)
        return
    more = f" ({len(targets)} hosts)" if len(targets) > 1 else ""
    await say(ack, f":hourglass_flowing_sand: Working on it: {spec.what(words)}{more}.")
    if len(targets) == 1:
        ctx.spawn(accepted(ctx, name, targets[0], user, channel, detail))
        return
    gate = asyncio.Semaphore(ctx.settings.max_parallel_hosts)  # a label's hosts
    for each in targets:
        ctx.spawn(_gated(gate, accepted(ctx, name, each, user, channel, detail)))


async def _gated(gate: asyncio.Semaphore, work: Awaitable[None]) -> None:
    async with gate:
        await work


async def accepted(
    ctx: Context,
    name: str,
    words: Sequence[str],
    user: str,
    channel: str,
    detail: str,
    thread_ts: str | None = None,
    action: str | None = None,
    rerun: bool = True,
) -> None:
    """Audit an accepted command or button, then run it."""
    action = action or ("button:rerun" if thread_ts else name)
    audit_id = await ctx.repo.audit(
        user=user, channel=channel, action=action, detail=detail, outcome="accepted"
    )
    await execute(ctx, name, words, user, channel, audit_id, thread_ts, rerun=rerun)


async def execute(
    ctx: Context,
    name: str,
    words: Sequence[str],
    user: str,
    channel: str,
    audit_id: int,
    thread_ts: str | None = None,
    *,
    rerun: bool = True,
) -> None:
    """Run a command and post its report; logged (with its run id) and counted.

    Cancelled (a shutdown past its grace period), a run not yet stored is stored as
    `interrupted`; one already stored is left as it is.
    """
    with logs.run_scope(name, words):
        started, started_at, outcome = time.monotonic(), utcnow(), "error"
        runs: list[asyncio.Task[Report]] = []
        log.info("command started", extra={"user": user, "channel": channel})
        metrics.RUNS_IN_FLIGHT.inc()
        try:
            outcome = await _execute(
                ctx, name, words, user, channel, audit_id, thread_ts, runs, rerun
            )
        except asyncio.CancelledError:
            outcome = "interrupted"
            await shutdown.interrupted(ctx, name, words, user, channel, audit_id, runs, started_at)
            raise
        finally:
            metrics.RUNS_IN_FLIGHT.dec()
            metrics.command(name, outcome)
            done = runs[0] if runs and runs[0].done() and not runs[0].cancelled() else None
            saved = done.result().run_id if done and done.exception() is None else None
            log.info(
                "command finished: %s", outcome,
                extra={"status": outcome, "run": saved,
                       "duration_ms": int((time.monotonic() - started) * 1000)},
            )  # fmt: skip


async def _execute(
    ctx: Context,
    name: str,
    words: Sequence[str],
    user: str,
    channel: str,
    audit_id: int,
    thread_ts: str | None,
    runs: list[asyncio.Task[Report]],
    rerun: bool = True,
) -> str:
    """Run, post, finish the audit; returns the outcome (report status or error kind)."""
    runner = ctx.commands[name]
    task = asyncio.ensure_future(
        runner(ctx.store, ctx.settings, words, Who("slack", user, channel))
    )
    runs.append(task)
    placeholder: str | None = None
    if thread_ts is None:
        done, _ = await asyncio.wait({task}, timeout=ctx.settings.slack_progress_after_s)
        if not done:
            running = blocks.running(name, " ".join(words), "probes")
            placeholder = await ctx.poster.placeholder(channel, running)
    try:
        report = await task
    except InputError as exc:
        await ctx.poster.ephemeral(channel, user, f":warning: {exc}", thread_ts)
        refused = getattr(exc, "outcome", "") == "refused"  # a target rule (TargetRefused)
        outcome = "refused" if refused else "usage_error"
        await ctx.repo.finish_audit(audit_id, outcome, reason=str(exc) if refused else "")
        if placeholder:
            note = {"text": f"{name}: {exc}", "blocks": [blocks.section(blocks.escape(str(exc)))]}
            await ctx.poster.post(channel, [note], update_ts=placeholder)
        return outcome
    except TriagebotError as exc:
        log.error("audit %s: %s", audit_id, exc)
        await ctx.poster.ephemeral(channel, user, f":x: {exc} (audit {audit_id})", thread_ts)
        await ctx.repo.finish_audit(audit_id, "error")
        return "error"
    hosts = await _hosts_behind(ctx, report)
    messages = blocks.report_messages(
        report, rerun=thread_ts is not None and rerun, triage_hosts=hosts
    )
    if button := await compare_button.button_for(ctx.store, report):
        compare_button.add_to_summary(messages, button)
    ts = await ctx.poster.post(
        channel, messages, run_id=report.run_id, thread_ts=thread_ts, update_ts=placeholder
    )
    await ctx.repo.finish_audit(audit_id, "posted" if ts else "queued", report.run_id)
    return report.status


async def _hosts_behind(ctx: Context, report: Report) -> list[str]:
    """Registered hosts whose address a dig or http report saw (for Triage buttons)."""
    if report.command not in ("dig", "http"):
        return []
    registry = [(h.name, h.address) for h in await HostRepo(ctx.store).list()]
    return hosts_behind(report, registry)
