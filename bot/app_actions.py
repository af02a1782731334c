"""The listeners that are not slash commands running a report: `/hosts`, `/history`,
`/triagebot help` and the App Home tab (the buttons are in bot.buttons).

A mixin of bot.app.Bot: it uses the Bot's state and helpers, declared here for the type
checker only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot import history_text, hosts_text
from bot.commands import REGISTRY
from bot.render import blocks
from bot.render.addresses import hosts_behind
from bot.render.home import home_view
from bot.store.digests import DigestRepo
from bot.store.hosts import HostRepo
from bot.store.models import utcnow
from bot.store.runs import RunRepo
from commands.report import Report
from ssh_probes.errors import InputError
from ssh_probes.redact import redact

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.auth import Authorizer
    from bot.service import Runner
    from bot.settings import Settings
    from bot.slack import Poster
    from bot.store.db import Store
    from bot.store.slack import SlackRepo

Ack = Callable[..., Awaitable[None]]


async def say(ack: Ack, text: str) -> None:
    """Answer a slash command, only to its sender, redacted like everything the bot sends."""
    await ack(text=redact(text), response_type="ephemeral")


class Actions:
    """`/hosts`, `/history`, help and App Home (mixed into bot.app.Bot)."""

    if TYPE_CHECKING:  # provided by Bot
        settings: Settings
        store: Store
        client: AsyncWebClient
        commands: Mapping[str, Runner]
        poster: Poster
        repo: SlackRepo
        auth: Authorizer

        def spawn(self, work: Awaitable[None]) -> None: ...
        def _audit(self, **fields: Any) -> None: ...
        def _refuse(self, user: str, channel: str, action: str, detail: str, why: str) -> None: ...
        async def accepted(
            self,
            name: str,
            words: Sequence[str],
            user: str,
            channel: str,
            detail: str,
            thread_ts: str | None = None,
            action: str | None = None,
            rerun: bool = True,
        ) -> None: ...

    async def on_hosts(self, ack: Ack, command: dict[str, Any]) -> None:
        """`/hosts list|show|add|remove`: reads for the allowed, changes for admins only."""
        text = str(command.get("text") or "").strip()
        user, channel = str(command["user_id"]), str(command["channel_id"])
        detail = f"/hosts {text}".strip()
        action = REGISTRY["hosts"].action(text.split())
        decision = await self.auth.check(action, user, channel)
        if not decision.allowed:
            await say(ack, f":no_entry: {decision.reason}")
            self._refuse(user, channel, action, detail, decision.reason)
            return
        try:
            request = hosts_text.parse(text)
            kh = self.settings.ssh_known_hosts_file
            answer = await hosts_text.run(self.store, request, str(kh) if kh else None)
            outcome, why = "ok", ""
        except InputError as exc:
            answer, outcome, why = f":warning: {exc}", "usage_error", str(exc)
        await say(ack, answer)
        self._audit(
            user=user, channel=channel, action=action, detail=detail, outcome=outcome, reason=why
        )

    async def on_help(self, ack: Ack, command: dict[str, Any]) -> None:
        """`/triagebot help`: the commands this deployment has."""
        text = str(command.get("text") or "").strip().lower()
        user, channel = str(command["user_id"]), str(command["channel_id"])
        detail = f"/triagebot {text}".strip()[:200]
        decision = await self.auth.check("help", user, channel)
        if not decision.allowed:
            await say(ack, f":no_entry: {decision.reason}")
            self._refuse(user, channel, "help", detail, decision.reason)
            return
        words = text.split()
        if len(words) == 2 and words[0] == "help":
            from commands.help import explain

            try:
                answer = explain(words[1])
            except InputError as exc:
                answer = str(exc)
            await say(ack, answer)
            self._audit(user=user, channel=channel, action="help", detail=detail, outcome="ok")
            return
        lines = ["*triagebot* commands:"]
        lines += [c.usage for c in REGISTRY.values() if c.runner is None or c.name in self.commands]
        lines.append("`/triagebot help CODE`  what a finding code means and what to do")
        lines.append("`/triagebot help`  this text")
        prefix = "" if text in ("", "help") else f"unknown `/triagebot {text}`; "
        await say(ack, prefix + "\n".join(lines))
        self._audit(user=user, channel=channel, action="help", detail=detail, outcome="ok")

    async def on_history(self, ack: Ack, command: dict[str, Any]) -> None:
        """`/history [TARGET]`: past runs of this channel (every channel's for admins)."""
        text = str(command.get("text") or "").strip()
        user, channel = str(command["user_id"]), str(command["channel_id"])
        detail = f"/history {text}".strip()
        decision = await self.auth.check("history", user, channel)
        if not decision.allowed:
            await say(ack, f":no_entry: {decision.reason}")
            self._refuse(user, channel, "history", detail, decision.reason)
            return
        scope = None if self.auth.is_admin(user) else channel
        try:
            answer, outcome = await history_text.answer(self.store, text.split(), scope), "ok"
        except InputError as exc:
            answer, outcome = f":warning: {exc}", "usage_error"
        await say(ack, answer)
        self._audit(user=user, channel=channel, action="history", detail=detail, outcome=outcome)

    async def _hosts_behind(self, report: Report) -> list[str]:
        """Registered hosts whose address a dig or http report saw (for Triage buttons)."""
        if report.command not in ("dig", "http"):
            return []
        registry = [(h.name, h.address) for h in await HostRepo(self.store).list()]
        return hosts_behind(report, registry)

    # ---- App Home

    async def on_home(self, event: dict[str, Any]) -> None:
        """Publish the Home tab with what the policy lets this user see.

        Commands: those the user may run somewhere. Hosts and schedules: for users allowed
        `/hosts` and `/digest`. Runs: an admin sees all; anyone else the runs they asked
        for themselves (posted where they were at the time): who was in a channel when a
        run was posted cannot be known cheaply afterwards.
        """
        if event.get("tab", "home") != "home":
            return
        user = str(event["user"])
        may = {n: await self.auth.may_run(n, user) for n in (*REGISTRY, "help")}
        admin = self.auth.is_admin(user)
        since = utcnow() - timedelta(days=30)
        runs = await RunRepo(self.store).history(
            None, since, 200, requested_by=None if admin else user
        )
        from commands.hosts import LOCAL_SPEC

        hosts = [LOCAL_SPEC, *await HostRepo(self.store).list()] if may["hosts"] else None
        schedules = await DigestRepo(self.store).schedules() if may["digest"] else None
        names = [n for n in REGISTRY if may[n]] + (["triagebot help"] if may["help"] else [])
        view = blocks.redacted(home_view(hosts, runs, names, schedules))
        await self.client.views_publish(user_id=user, view=view)
