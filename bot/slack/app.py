"""The Bolt AsyncApp: slash commands, buttons, App Home. Ack first, work later.

Bot builds the listeners' Context (bot.slack.context) and registers the listeners, plain
functions of that context: report commands (bot.slack.running), `/hosts`, `/history`, help
and App Home (bot.slack.actions), buttons (bot.slack.buttons). Every command, button and
refusal is audited.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.auth import Authorizer, load_policy
from bot.commands import runners
from bot.service import Runner
from bot.settings import Settings
from bot.slack import actions, buttons, compare_button, delivery, running
from bot.slack.body import delivery_key
from bot.slack.context import Ack, Context
from bot.slack.posting import Poster, make_client
from bot.store.db import Store
from bot.store.slack import SlackRepo

log = logging.getLogger("triagebot.app")
Listener = Callable[..., Awaitable[None]]


class Bot:
    """The Bolt app and the Context its listeners share (settings, store, poster, policy)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        client: AsyncWebClient | None = None,
        commands: Mapping[str, Runner] | None = None,
    ) -> None:
        client = client or make_client(settings)
        policy = load_policy(settings.policy_file, settings.admin_ids())
        self.ctx = Context(
            settings=settings,
            store=store,
            client=client,
            # Every report command of the registry; tests and benches swap in faster runners.
            commands={**runners(), **(commands or {})},
            poster=Poster(client, store, settings),
            repo=SlackRepo(store),
            auth=Authorizer(policy, client, settings.slack_usergroup_cache_s),
        )
        # The parts the server, tests and benches reach for, named as before.
        self.settings, self.store, self.client = settings, store, client
        self.commands, self.poster, self.repo = self.ctx.commands, self.ctx.poster, self.ctx.repo
        self._seen = delivery.Seen()
        self.auth, self.tasks = self.ctx.auth, self.ctx.tasks
        secret = settings.slack_signing_secret
        self.app = AsyncApp(
            client=client,
            signing_secret=secret.get_secret_value() if secret else None,
            request_verification_enabled=secret is not None,
            process_before_response=False,
        )
        self.on_command = self._bind(running.on_command)
        self._register()

    def spawn(self, work: Awaitable[None]) -> None:
        """Run `work` in the background; drain() waits for it."""
        self.ctx.spawn(work)

    async def drain(self) -> None:
        """Wait until every background task (including ones they start) has finished."""
        await self.ctx.drain()

    async def accepted(self, name: str, words: Sequence[str], *args: Any, **kw: Any) -> None:
        """Audit an accepted command, then run it (bot.slack.running.accepted)."""
        await running.accepted(self.ctx, name, words, *args, **kw)

    def _bind(
        self, listener: Callable[[Context, Ack, dict[str, Any]], Awaitable[None]]
    ) -> Listener:
        """A slash-command listener of this bot's context (Bolt passes arguments by name)."""
        ctx = self.ctx

        async def on_slash(ack: Ack, command: dict[str, Any]) -> None:
            await listener(ctx, ack, command)

        return on_slash

    async def _dedupe(self, body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> Any:
        # No database before the ack (bot.slack.delivery): the work the listener spawns waits
        # for the delivery's unique insert instead. Bolt runs the listener after the global
        # middleware returns, in the same task: the delivery is set here for this request
        # (None when it has no key), not reset, so the listener's spawns see it; the ack
        # latency is observed where the listener acks (delivery.acked).
        delivery.RECEIVED.set(time.perf_counter())
        key = delivery_key(body)
        if key is not None and not self._seen.add(key):
            delivery.CURRENT.set(None)
            log.info("delivery %s seen before: acked, not run again", key)
            delivery.acked()
            return BoltResponse(status=200, body="")
        delivery.CURRENT.set(delivery.Delivery(key, self.repo) if key is not None else None)
        return await next()

    def _register(self) -> None:
        app = self.app
        app.middleware(self._dedupe)
        for name in self.commands:
            app.command(f"/{name}")(self.on_command)
        app.command("/hosts")(self._bind(actions.on_hosts))
        app.command("/history")(self._bind(actions.on_history))
        app.command("/triagebot")(self._bind(actions.on_help))
        for action_id, work in (("rerun", buttons.rerun), ("raw_output", buttons.raw)):
            app.action(action_id)(self._button(work))
        app.action(re.compile(r"^triage_host:"))(self._button(buttons.triage_host))
        app.action(compare_button.ACTION)(self._button(buttons.compare))
        ctx = self.ctx

        @app.event("app_home_opened")
        async def on_home(event: dict[str, Any]) -> None:
            await actions.on_home(ctx, event)

        @app.error
        async def on_error(error: Exception) -> None:
            log.error("listener error: %s", error)

    def _button(
        self, work: Callable[[Context, dict[str, Any]], Awaitable[None]]
    ) -> Callable[[Ack, dict[str, Any]], Awaitable[None]]:
        """A button listener: ack at once, then check and act in the background."""

        async def listener(ack: Ack, body: dict[str, Any]) -> None:
            await ack()
            delivery.acked()
            self.ctx.spawn(work(self.ctx, body))

        return listener
