"""One run per Slack delivery, without making the ack wait for the database.

Slack redelivers what it thinks was not acked in time (HTTP retries with X-Slack-Retry-Num,
Socket Mode envelopes), and with replicas a redelivery may reach another process. The
delivery key (bot.slack.body.delivery_key) is recorded with a unique insert
(SlackRepo.first_delivery) so that exactly one process runs it. That insert used to come
before the ack: with ~10 runs in flight writing to SQLite's single writer, acks waited for
the write lock (p99 4.6 s at 20 commands/s on a slow 2-core machine, over Slack's 3 s).

Now the ack never touches the database: a key this process has already seen is acked empty
and not run (in memory, the retries of a slow ack); a new key is acked at once and the
background work its listener starts runs only once the unique insert says this delivery is
the first, so a redelivery to another replica is acked but not run twice. Every piece of
work one delivery starts (the hosts of a label) shares that one insert.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from bot.ops import metrics
from ssh_probes.errors import StoreError

if TYPE_CHECKING:
    from bot.store.slack import SlackRepo

log = logging.getLogger("triagebot.app")
SEEN_IN_MEMORY = 10_000  # keys this process remembers (Slack retries within minutes)


class Delivery:
    """One delivery's key and the answer of its unique insert (asked once, shared)."""

    def __init__(self, key: str, repo: SlackRepo) -> None:
        self.key, self.repo = key, repo
        self._first: asyncio.Future[bool] | None = None

    async def first(self) -> bool:
        """True when this process is the one to run it (the insert is made on first ask)."""
        if self._first is None:
            self._first = asyncio.ensure_future(self._insert())
        return await asyncio.shield(self._first)

    async def _insert(self) -> bool:
        try:
            return await self.repo.first_delivery(self.key)
        except StoreError as exc:
            # Better a possible duplicate than a lost command: the run itself will meet the
            # same store and report what fails there.
            log.warning("delivery %s not recorded (%s): running it", self.key, exc)
            return True


CURRENT: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar(
    "triagebot_delivery", default=None
)
# When this request reached the bot (perf_counter), until its first ack is observed.
RECEIVED: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "triagebot_received", default=None
)


def acked() -> None:
    """The request was just acked: observe the ack latency once (triagebot_ack_seconds).

    Bolt runs the listener after the global middleware has returned, so the time to the
    ack is taken here, where the listener acks, not around the middleware."""
    received = RECEIVED.get()
    if received is not None:
        RECEIVED.set(None)
        metrics.ack_seconds(time.perf_counter() - received)


class Seen:
    """The delivery keys this process has acked (bounded, oldest forgotten first)."""

    def __init__(self, size: int = SEEN_IN_MEMORY) -> None:
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """True when `key` is new to this process (and remember it)."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return True
