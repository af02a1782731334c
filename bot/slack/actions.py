"""The listeners that are not slash commands running a report: `/hosts`, `/history`,
`/triagebot help` and the App Home tab (the buttons are in bot.slack.buttons).

Each takes the bot's Context (bot.slack.context) and is registered by bot.slack.app.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.commands import REGISTRY
from bot.render import blocks
from bot.render.home import home_view
from bot.runs import history_text
from bot.slack import hosts_text
from bot.slack.context import Ack, Context, say
from bot.store.digests import DigestRepo
from bot.store.hosts import HostRepo
from bot.store.models import utcnow
from bot.store.runs import RunRepo
from ssh_probes.errors import InputError


async def on_hosts(ctx: Context, ack: Ack, command: dict[str, Any]) -> None:
    """`/hosts list|show|add|remove`: reads for the allowed, changes for admins only."""
    text = str(command.get("text") or "").strip()
    user, channel = str(command["user_id"]), str(command["channel_id"])
    detail = f"/hosts {text}".strip()
    action = REGISTRY["hosts"].action(text.split())
    decision = await ctx.auth.check(action, user, channel)
    if not decision.allowed:
        await say(ack, f":no_entry: {decision.reason}")
        ctx.refuse(user, channel, action, detail, decision.reason)
        return
    try:
        request = hosts_text.parse(text)
        kh = ctx.settings.ssh_known_hosts_file
        answer = await hosts_text.run(ctx.store, request, str(kh) if kh else None)
        outcome, why = "ok", ""
    except InputError as exc:
        answer, outcome, why = f":warning: {exc}", "usage_error", str(exc)
    await say(ack, answer)
    ctx.audit(user=user, channel=channel, action=action, detail=detail, outcome=outcome, reason=why)


async def on_help(ctx: Context, ack: Ack, command: dict[str, Any]) -> None:
    """`/triagebot help`: the commands this deployment has."""
    text = str(command.get("text") or "").strip().lower()
    user, channel = str(command["user_id"]), str(command["channel_id"])
    detail = f"/triagebot {text}".strip()[:200]
    decision = await ctx.auth.check("help", user, channel)
    if not decision.allowed:
        await say(ack, f":no_entry: {decision.reason}")
        ctx.refuse(user, channel, "help", detail, decision.reason)
        return
    words = text.split()
    if len(words) == 2 and words[0] == "help":
        from commands.help import explain

        try:
            answer = explain(words[1])
        except InputError as exc:
            answer = str(exc)
        await say(ack, answer)
        ctx.audit(user=user, channel=channel, action="help", detail=detail, outcome="ok")
        return
    lines = ["*triagebot* commands:"]
    lines += [c.usage for c in REGISTRY.values() if c.runner is None or c.name in ctx.commands]
    lines.append("`/triagebot help CODE`  what a finding code means and what to do")
    lines.append("`/triagebot help`  this text")
    prefix = "" if text in ("", "help") else f"unknown `/triagebot {text}`; "
    await say(ack, prefix + "\n".join(lines))
    ctx.audit(user=user, channel=channel, action="help", detail=detail, outcome="ok")


async def on_history(ctx: Context, ack: Ack, command: dict[str, Any]) -> None:
    """`/history [TARGET]`: past runs of this channel (every channel's for admins)."""
    text = str(command.get("text") or "").strip()
    user, channel = str(command["user_id"]), str(command["channel_id"])
    detail = f"/history {text}".strip()
    decision = await ctx.auth.check("history", user, channel)
    if not decision.allowed:
        await say(ack, f":no_entry: {decision.reason}")
        ctx.refuse(user, channel, "history", detail, decision.reason)
        return
    scope = None if ctx.auth.is_admin(user) else channel
    try:
        answer, outcome = await history_text.answer(ctx.store, text.split(), scope), "ok"
    except InputError as exc:
        answer, outcome = f":warning: {exc}", "usage_error"
    await say(ack, answer)
    ctx.audit(user=user, channel=channel, action="history", detail=detail, outcome=outcome)


async def on_home(ctx: Context, event: dict[str, Any]) -> None:
    """Publish the Home tab with what the policy lets this user see.

    Commands: those the user may run somewhere. Hosts and schedules: for users allowed
    `/hosts` and `/digest`. Runs: an admin sees all; anyone else the runs they asked
    for themselves (posted where they were at the time): who was in a channel when a
    run was posted cannot be known cheaply afterwards.
    """
    if event.get("tab", "home") != "home":
        return
    user = str(event["user"])
    may = {n: await ctx.auth.may_run(n, user) for n in (*REGISTRY, "help")}
    admin = ctx.auth.is_admin(user)
    since = utcnow() - timedelta(days=30)
    runs = await RunRepo(ctx.store).history(None, since, 200, requested_by=None if admin else user)
    from commands.hosts import LOCAL_SPEC

    hosts = [LOCAL_SPEC, *await HostRepo(ctx.store).list()] if may["hosts"] else None
    schedules = await DigestRepo(ctx.store).schedules() if may["digest"] else None
    names = [n for n in REGISTRY if may[n]] + (["triagebot help"] if may["help"] else [])
    view = blocks.redacted(home_view(hosts, runs, names, schedules))
    await ctx.client.views_publish(user_id=user, view=view)
