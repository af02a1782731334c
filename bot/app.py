"""The Bolt AsyncApp: slash commands, buttons, App Home. Ack first, work later.

Each command is decided before the ack (syntax and policy, no probe runs yet), acked at once
with an ephemeral "working on it" or a refusal, then run in a background task that posts
the report through the outbox (bot.slack). Every command, button and refusal is audited.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot import buttons, compare_button, logs, metrics, shutdown
from bot.app_actions import Ack, Actions, say
from bot.auth import Authorizer, load_policy
from bot.commands import REGISTRY, runners
from bot.render import blocks
from bot.service import Runner, Who
from bot.settings import Settings
from bot.slack import Poster, make_client
from bot.slack_body import delivery_key
from bot.store.db import Store
from bot.store.models import utcnow
from bot.store.slack import SlackRepo
from commands.report import Report
from ssh_probes.errors import InputError, TriagebotError

log = logging.getLogger("triagebot.app")


class Bot(Actions):
    """The app and what its listeners share: settings, store, client, poster, policy."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        client: AsyncWebClient | None = None,
        commands: Mapping[str, Runner] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.client = client or make_client(settings)
        # Every report command of the registry; tests and benches swap in faster runners.
        self.commands = {**runners(), **(commands or {})}
        self.poster = Poster(self.client, store, settings)
        self.repo = SlackRepo(store)
        policy = load_policy(settings.policy_file, settings.admin_ids())
        self.auth = Authorizer(policy, self.client, settings.slack_usergroup_cache_s)
        self.tasks: set[asyncio.Task[None]] = set()
        secret = settings.slack_signing_secret
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secret.get_secret_value() if secret else None,
            request_verification_enabled=secret is not None,
            process_before_response=False,
        )
        self._register()

    # ---- plumbing

    def spawn(self, work: Awaitable[None]) -> None:
        """Run `work` in the background; drain() waits for it."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("background work failed")

        task = asyncio.get_running_loop().create_task(guarded())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self) -> None:
        """Wait until every background task (including ones they start) has finished."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def _dedupe(self, body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> Any:
        # The middleware returns once the listener acked: its duration is the ack latency.
        started = time.perf_counter()
        try:
            key = delivery_key(body)
            if key is not None and not await self.repo.first_delivery(key):
                log.info("delivery %s seen before: acked, not run again", key)
                return BoltResponse(status=200, body="")
            return await next()
        finally:
            metrics.ack_seconds(time.perf_counter() - started)

    def _register(self) -> None:
        app = self.app
        app.middleware(self._dedupe)
        for name in self.commands:
            app.command(f"/{name}")(self.on_command)
        app.command("/hosts")(self.on_hosts)
        app.command("/history")(self.on_history)
        app.command("/triagebot")(self.on_help)
        for action_id, work in (("rerun", buttons.rerun), ("raw_output", buttons.raw)):
            app.action(action_id)(self._button(work))
        app.action(re.compile(r"^triage_host:"))(self._button(buttons.triage_host))
        app.action(compare_button.ACTION)(self._button(compare_button.on_click))
        app.event("app_home_opened")(self.on_home)

        @app.error
        async def on_error(error: Exception) -> None:
            log.error("listener error: %s", error)

    def _button(
        self, work: Callable[[Bot, dict[str, Any]], Awaitable[None]]
    ) -> Callable[[Ack, dict[str, Any]], Awaitable[None]]:
        """A button listener: ack at once, then check and act in the background."""

        async def listener(ack: Ack, body: dict[str, Any]) -> None:
            await ack()
            self.spawn(work(self, body))

        return listener

    def _audit(self, **fields: Any) -> None:
        # Commands answered at once (refusals, usage errors, /hosts, help) end here.
        metrics.command(fields["action"], fields["outcome"])
        # After the ack: audited in the background so the ack goes out at once.
        self.spawn(self._write_audit(fields))

    async def _write_audit(self, fields: dict[str, Any]) -> None:
        await self.repo.audit(**fields)

    def _refuse(self, user: str, channel: str, action: str, detail: str, why: str) -> None:
        self._audit(
            user=user, channel=channel, action=action, detail=detail, outcome="refused", reason=why
        )

    # ---- slash commands

    async def on_command(self, ack: Ack, command: dict[str, Any]) -> None:
        """`/triage`, `/dig`, ...: check, ack with what will run, run in the background."""
        name = str(command["command"]).lstrip("/")
        text = str(command.get("text") or "").strip()
        user, channel = str(command["user_id"]), str(command["channel_id"])
        words = text.split()
        detail = f"/{name} {text}".strip()
        spec = REGISTRY[name]
        action = spec.action(words)
        decision = await self.auth.check(action, user, channel)
        if decision.allowed:
            try:
                spec.check(words)
                bound = await spec.bound_channel(self.store, words) if spec.bound_channel else None
                targets = await spec.targets(self.store, words)
            except InputError as exc:
                await say(ack, f":warning: {exc}")
                self._audit(
                    user=user, channel=channel, action=name, detail=detail,
                    outcome="usage_error", reason=str(exc),
                )  # fmt: skip
                return
            if bound is not None and bound != channel and not self.auth.is_admin(user):
                where = bound if bound.startswith("#") else f"<#{bound}>"
                decision = decision.refused(
                    f"`/{name} {text}` posts into {where}: run it there, or ask an admin."
                )
        if not decision.allowed:
            await say(ack, f":no_entry: {decision.reason}")
            self._refuse(user, channel, action, detail, decision.reason)
            return
        more = f" ({len(targets)} hosts)" if len(targets) > 1 else ""
        await say(ack, f":hourglass_flowing_sand: Working on it: {spec.what(words)}{more}.")
        if len(targets) == 1:
            self.spawn(self.accepted(name, targets[0], user, channel, detail))
            return
        gate = asyncio.Semaphore(self.settings.max_parallel_hosts)  # a label's hosts
        for each in targets:
            self.spawn(self._gated(gate, self.accepted(name, each, user, channel, detail)))

    @staticmethod
    async def _gated(gate: asyncio.Semaphore, work: Awaitable[None]) -> None:
        async with gate:
            await work

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
    ) -> None:
        """Audit an accepted command or button, then run it."""
        action = action or ("button:rerun" if thread_ts else name)
        audit_id = await self.repo.audit(
            user=user, channel=channel, action=action, detail=detail, outcome="accepted"
        )
        await self.execute(name, words, user, channel, audit_id, thread_ts, rerun=rerun)

    async def execute(
        self,
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
                outcome = await self._execute(
                    name, words, user, channel, audit_id, thread_ts, runs, rerun
                )
            except asyncio.CancelledError:
                outcome = "interrupted"
                await shutdown.interrupted(
                    self, name, words, user, channel, audit_id, runs, started_at
                )
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
        self,
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
        runner = self.commands[name]
        task = asyncio.ensure_future(
            runner(self.store, self.settings, words, Who("slack", user, channel))
        )
        runs.append(task)
        placeholder: str | None = None
        if thread_ts is None:
            done, _ = await asyncio.wait({task}, timeout=self.settings.slack_progress_after_s)
            if not done:
                running = blocks.running(name, " ".join(words), "probes")
                placeholder = await self.poster.placeholder(channel, running)
        try:
            report = await task
        except InputError as exc:
            await self.poster.ephemeral(channel, user, f":warning: {exc}", thread_ts)
            refused = getattr(exc, "outcome", "") == "refused"  # a target rule (TargetRefused)
            outcome = "refused" if refused else "usage_error"
            await self.repo.finish_audit(audit_id, outcome, reason=str(exc) if refused else "")
            if placeholder:
                note = {
                    "text": f"{name}: {exc}",
                    "blocks": [blocks.section(blocks.escape(str(exc)))],
                }
                await self.poster.post(channel, [note], update_ts=placeholder)
            return outcome
        except TriagebotError as exc:
            log.error("audit %s: %s", audit_id, exc)
            await self.poster.ephemeral(channel, user, f":x: {exc} (audit {audit_id})", thread_ts)
            await self.repo.finish_audit(audit_id, "error")
            return "error"
        hosts = await self._hosts_behind(report)
        messages = blocks.report_messages(
            report, rerun=thread_ts is not None and rerun, triage_hosts=hosts
        )
        if button := await compare_button.button_for(self.store, report):
            compare_button.add_to_summary(messages, button)
        ts = await self.poster.post(
            channel, messages, run_id=report.run_id, thread_ts=thread_ts, update_ts=placeholder
        )
        await self.repo.finish_audit(audit_id, "posted" if ts else "queued", report.run_id)
        return report.status
