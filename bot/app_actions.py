"""The listeners that are not slash commands running a report: `/hosts`, `/triagebot help`,
the Re-run, Triage HOST and Raw output buttons, and the App Home tab.

A mixin of bot.app.Bot: it uses the Bot's state and helpers, declared here for the type
checker only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot import hosts_text
from bot.render import blocks
from bot.render.addresses import hosts_behind
from bot.render.home import home_view
from bot.store.digests import DigestRepo
from bot.store.hosts import HostRepo
from bot.store.models import utcnow
from bot.store.runs import RunRepo
from commands.report import Report
from ssh_probes.errors import InputError

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.auth import Authorizer
    from bot.service import Runner
    from bot.settings import Settings
    from bot.slack import Poster
    from bot.store.db import Store
    from bot.store.slack import SlackRepo

Ack = Callable[..., Awaitable[None]]


class Actions:
    """`/hosts`, help, buttons and App Home (mixed into bot.app.Bot)."""

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
        try:
            request = hosts_text.parse(text)
        except InputError as exc:
            await ack(text=f":warning: {exc}", response_type="ephemeral")
            self._audit(
                user=user, channel=channel, action="hosts", detail=detail,
                outcome="usage_error", reason=str(exc),
            )  # fmt: skip
            return
        decision = await self.auth.check(request.action, user, channel)
        if not decision.allowed:
            await ack(text=f":no_entry: {decision.reason}", response_type="ephemeral")
            self._refuse(user, channel, request.action, detail, decision.reason)
            return
        try:
            kh = self.settings.ssh_known_hosts_file
            answer = await hosts_text.run(self.store, request, str(kh) if kh else None)
            outcome = "ok"
        except InputError as exc:
            answer, outcome = f":warning: {exc}", "usage_error"
        await ack(text=answer, response_type="ephemeral")
        self._audit(
            user=user, channel=channel, action=request.action, detail=detail, outcome=outcome
        )

    async def on_help(self, ack: Ack, command: dict[str, Any]) -> None:
        """`/triagebot help`: the commands this deployment has."""
        text = str(command.get("text") or "").strip().lower()
        words = text.split()
        if len(words) == 2 and words[0] == "help":
            from commands.help import explain

            try:
                answer = explain(words[1])
            except InputError as exc:
                answer = str(exc)
            await ack(text=answer, response_type="ephemeral")
            self._audit(
                user=str(command["user_id"]), channel=str(command["channel_id"]), action="help",
                detail=f"/triagebot {text}"[:200], outcome="ok",
            )  # fmt: skip
            return
        lines = ["*triagebot* commands:"]
        if "triage" in self.commands:
            lines.append("`/triage HOST [port N]`  the incident routine on a host or `local`")
        lines += [f"`/{n} ...`" for n in self.commands if n != "triage"]
        lines.append("`/hosts list|show NAME|add NAME --address ...|remove NAME`  the registry")
        lines.append("`/triagebot help CODE`  what a finding code means and what to do")
        lines.append("`/triagebot help`  this text")
        prefix = "" if text in ("", "help") else f"unknown `/triagebot {text}`; "
        await ack(text=prefix + "\n".join(lines), response_type="ephemeral")
        self._audit(
            user=str(command["user_id"]), channel=str(command["channel_id"]), action="help",
            detail=f"/triagebot {text}".strip(), outcome="ok",
        )  # fmt: skip

    # ---- buttons

    async def on_rerun(self, ack: Ack, body: dict[str, Any]) -> None:
        """Re-run: the same command again, answered in the same thread with what changed."""
        await ack()
        self.spawn(self.rerun(body))

    async def rerun(
        self, body: dict[str, Any], *, action: str = "button:rerun", rerun: bool = True
    ) -> None:
        """The work behind the Re-run (and Triage HOST) buttons: answered in the thread."""
        user, channel = str(body["user"]["id"]), str(body["channel"]["id"])
        value = str(body["actions"][0].get("value") or "")
        name, _, rest = value.partition(" ")
        message = body.get("message") or {}
        root = str(message.get("thread_ts") or message.get("ts") or "") or None
        if name not in self.commands:
            await self.poster.ephemeral(channel, user, f"`/{name}` is not available here.", root)
            self._refuse(user, channel, action, value, "unknown command")
            return
        decision = await self.auth.check(name, user, channel)
        if not decision.allowed:
            await self.poster.ephemeral(channel, user, f":no_entry: {decision.reason}", root)
            self._refuse(user, channel, action, value, decision.reason)
            return
        await self.accepted(
            name, rest.split(), user, channel, value, thread_ts=root, action=action, rerun=rerun
        )

    async def on_triage_host(self, ack: Ack, body: dict[str, Any]) -> None:
        """Triage HOST on a dig/http result: the host behind an address, in the same thread."""
        await ack()
        self.spawn(self.rerun(body, action="button:triage_host", rerun=False))

    async def _hosts_behind(self, report: Report) -> list[str]:
        """Registered hosts whose address a dig or http report saw (for Triage buttons)."""
        if report.command not in ("dig", "http"):
            return []
        registry = [(h.name, h.address) for h in await HostRepo(self.store).list()]
        return hosts_behind(report, registry)

    async def on_raw(self, ack: Ack, body: dict[str, Any]) -> None:
        """Raw output: ephemeral when short, else a file in the thread."""
        await ack()
        self.spawn(self.raw(body))

    async def raw(self, body: dict[str, Any]) -> None:
        """The work behind the Raw output button."""
        user, channel = str(body["user"]["id"]), str(body["channel"]["id"])
        value = str(body["actions"][0].get("value") or "")
        name, _, run = value.partition(":")
        message = body.get("message") or {}
        root = str(message.get("thread_ts") or message.get("ts") or "") or None
        decision = await self.auth.check(name, user, channel)
        if not decision.allowed or not run.isdigit():
            why = decision.reason or "not a run id"
            await self.poster.ephemeral(channel, user, f":no_entry: {why}", root)
            self._refuse(user, channel, "button:raw_output", value, why)
            return
        text = blocks.raw_text(await self.repo.raw_outputs(int(run)))
        if len(text) <= blocks.MAX_SECTION_CHARS - 8:
            await self.poster.ephemeral(channel, user, f"```{text}```", root)
        else:
            file = {"filename": f"run-{run}-raw.txt", "title": f"run {run} raw", "content": text}
            await self.poster.post(channel, [{"file": file}], run_id=int(run), thread_ts=root)
        await self.repo.audit(
            user=user, channel=channel, action="button:raw_output", detail=value,
            outcome="ok", run_id=int(run),
        )  # fmt: skip

    # ---- App Home

    async def on_home(self, event: dict[str, Any]) -> None:
        """Publish the Home tab: hosts with their last status, recent runs."""
        if event.get("tab", "home") != "home":
            return
        hosts = await HostRepo(self.store).list()
        from commands.hosts import LOCAL_SPEC

        runs = await RunRepo(self.store).history(None, utcnow() - timedelta(days=30), 200)
        names = [*self.commands, "hosts", "triagebot help"]
        schedules = await DigestRepo(self.store).schedules()
        view = home_view([LOCAL_SPEC, *hosts], runs, names, schedules)
        await self.client.views_publish(user_id=str(event["user"]), view=view)
