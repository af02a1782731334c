"""What every Slack listener receives: the store, settings, client, poster, policy and audit.

The listeners (bot.slack.running, bot.slack.actions, bot.slack.buttons) are plain functions
taking a Context; bot.slack.app builds one and registers them on the Bolt app.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.ops import metrics
from bot.slack import delivery
from bot.store.models import utcnow
from ssh_probes.redact import redact

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.auth import Authorizer
    from bot.service import Runner
    from bot.settings import Settings
    from bot.slack.posting import Poster
    from bot.store.db import Store
    from bot.store.slack import SlackRepo

log = logging.getLogger("triagebot.app")
Ack = Callable[..., Awaitable[None]]


async def say(ack: Ack, text: str) -> None:
    """Answer a slash command, only to its sender, redacted like everything the bot sends."""
    await ack(text=redact(text), response_type="ephemeral")
    delivery.acked()


@dataclass
class Context:
    """The served bot's shared state; `commands` maps each report command to its runner."""

    settings: Settings
    store: Store
    client: AsyncWebClient
    commands: Mapping[str, Runner]
    poster: Poster
    repo: SlackRepo  # the audit trail and delivery keys
    auth: Authorizer
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, work: Awaitable[None], *, once: bool = True) -> None:
        """Run `work` in the background; drain() waits for it. Work a Slack delivery starts
        runs only where that delivery is the first (bot.slack.delivery); `once=False` for
        what records the answer already given (the audit of a refusal), which is not run
        twice by the same process either."""
        current = delivery.CURRENT.get() if once else None  # the delivery spawning this

        async def guarded() -> None:
            try:
                if current is not None and not await current.first():
                    log.info("delivery %s run by another replica: not run here", current.key)
                    if asyncio.iscoroutine(work):
                        work.close()
                    return
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

    def audit(self, **fields: Any) -> None:
        """Count and audit a command answered at once (refusals, usage errors, /hosts, help)."""
        metrics.command(fields["action"], fields["outcome"])
        # After the ack: audited in the background so the ack goes out at once, with the
        # time it happened (a later command may be written first).
        fields.setdefault("at", utcnow())
        self.spawn(self._write_audit(fields), once=False)

    async def _write_audit(self, fields: dict[str, Any]) -> None:
        await self.repo.audit(**fields)

    def refuse(self, user: str, channel: str, action: str, detail: str, why: str) -> None:
        """Audit a refusal (the user was told already)."""
        self.audit(
            user=user, channel=channel, action=action, detail=detail, outcome="refused", reason=why
        )
