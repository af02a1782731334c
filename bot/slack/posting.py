"""Posting to Slack: summary then thread replies, paced per channel, retried, never lost.

Every report goes through the outbox table first. Progress (the summary's ts, how many
messages went out) is saved after each message, so a report interrupted by 5xx answers or a
lost connection resumes where it stopped when Slack answers again, without posting twice.
429 answers are retried by slack_sdk honouring Retry-After; 5xx and connection errors are
retried with exponential backoff before the entry is left for the outbox loop.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import socket
import time
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.render.blocks import Message, redacted
from bot.settings import Settings
from bot.store.db import Store
from bot.store.slack import Pending, SlackRepo
from ssh_probes.errors import StoreError
from ssh_probes.redact import redact

log = logging.getLogger("triagebot.slack")

# What "Slack did not take it this time" looks like once slack_sdk's retries are spent.
# How long a replica may hold an outbox entry without progress before another may take it
# over (each posted message extends it). Posting one message never takes this long.
OUTBOX_LEASE = timedelta(seconds=60)
POST_ERRORS = (SlackApiError, SlackClientError, aiohttp.ClientError, asyncio.TimeoutError, OSError)


class CountingClient(AsyncWebClient):
    """An AsyncWebClient counting failed calls by method (once slack_sdk's retries are spent)."""

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        """Every Web API method goes through here."""
        try:
            return await super().api_call(api_method, **kwargs)
        except POST_ERRORS:
            from bot.ops import metrics  # the server's; imported here to keep it off other paths

            metrics.slack_error(api_method)
            raise


def make_client(settings: Settings) -> AsyncWebClient:
    """An AsyncWebClient on settings.slack_api_url with the retry policy of the settings."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=settings.slack_retry_backoff_s)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return CountingClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=settings.slack_rate_limit_retries),
            AsyncServerErrorRetryHandler(
                max_retry_count=settings.slack_retries, interval_calculator=backoff
            ),
            AsyncConnectionErrorRetryHandler(
                max_retry_count=settings.slack_retries, interval_calculator=backoff
            ),
        ],
    )


class Pacer:
    """At most one message per `interval_s` per channel (Slack's chat.postMessage limit)."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._next: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        """Reserve the channel's next slot and sleep until it comes."""
        now = time.monotonic()
        at = max(now, self._next.get(channel, 0.0))
        # Reserved before sleeping: concurrent posters queue up one interval apart.
        self._next[channel] = at + self.interval_s
        if at > now:
            await asyncio.sleep(at - now)


def describe(exc: BaseException) -> str:
    """One redacted line for a failed Slack call."""
    if isinstance(exc, SlackApiError):
        return f"slack error {exc.response.status_code}: {exc.response.get('error', '?')}"
    return redact(f"{type(exc).__name__}: {exc}")[:500]


class Poster:
    """Posts rendered messages through the outbox."""

    def __init__(self, client: AsyncWebClient, store: Store, settings: Settings) -> None:
        self.client = client
        self.repo = SlackRepo(store)
        self.pacer = Pacer(settings.slack_channel_interval_s)
        self._busy: set[int] = set()  # entries being posted by this process right now
        # This replica's name on the outbox entries it is posting (their lease).
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def post(
        self,
        channel: str,
        messages: list[Message],
        *,
        run_id: int | None = None,
        thread_ts: str | None = None,
        update_ts: str | None = None,
    ) -> str | None:
        """Keep the messages in the outbox, then try to post them; the summary ts or None.

        Without `thread_ts` the first message goes to the channel (or replaces `update_ts`)
        and the rest into its thread; with it, every message is a reply in that thread.
        """
        # Inserted already taken by this replica: no other may post it, no claim needed.
        # Redacted before it is kept or posted, like everything the bot sends.
        entry = await self.repo.enqueue(
            channel, [redacted(m) for m in messages], run_id=run_id, thread_ts=thread_ts,
            update_ts=update_ts, lease=(self.owner, OUTBOX_LEASE),
        )  # fmt: skip
        self._busy.add(entry.id)
        try:
            return await self._post_taken(entry)
        finally:
            self._busy.discard(entry.id)

    async def attempt(self, entry: Pending) -> str | None:
        """Post what is left of `entry`; on failure it stays in the outbox for later.

        The entry is taken with a lease in the database first, so of several replicas
        flushing one outbox only one posts it; None when another holds it.
        """
        if entry.id in self._busy:
            return None
        self._busy.add(entry.id)
        try:
            fresh = await self.repo.claim(entry.id, self.owner, OUTBOX_LEASE)
            return None if fresh is None else await self._post_taken(fresh)
        finally:
            self._busy.discard(entry.id)

    async def _post_taken(self, entry: Pending) -> str | None:
        """Deliver an entry this replica holds the lease of, then give the lease back."""
        try:
            return await self._deliver(entry)
        except POST_ERRORS as exc:
            why = describe(exc)
            log.warning("outbox %s: not posted yet (%s); kept for retry", entry.id, why)
            await self.repo.failed(entry.id, why)
            return None
        finally:
            try:
                await self.repo.release(entry.id, self.owner)
            except StoreError as exc:  # the lease runs out by itself
                log.warning("outbox %s: lease not released: %s", entry.id, exc)

    async def _deliver(self, entry: Pending) -> str | None:
        summary_ts = entry.summary_ts
        total = len(entry.messages)
        for index in range(entry.next_index, total):
            message = entry.messages[index]
            root = entry.thread_ts or summary_ts
            await self.pacer.wait(entry.channel)
            if "file" in message:
                await self._upload(entry.channel, root, message["file"])
            elif root is None and entry.update_ts:
                await self.client.chat_update(
                    channel=entry.channel,
                    ts=entry.update_ts,
                    text=message["text"],
                    blocks=message["blocks"],
                )
                summary_ts = entry.update_ts
            elif root is None:
                resp = await self.client.chat_postMessage(
                    channel=entry.channel, text=message["text"], blocks=message["blocks"]
                )
                summary_ts = str(resp["ts"])
            else:
                await self.client.chat_postMessage(
                    channel=entry.channel,
                    thread_ts=root,
                    text=message["text"],
                    blocks=message["blocks"],
                )
            await self.repo.progress(
                entry.id, index + 1, summary_ts, done=index + 1 == total, lease=OUTBOX_LEASE
            )
        if total == 0:
            await self.repo.progress(entry.id, 0, summary_ts, done=True)
        return entry.thread_ts or summary_ts

    async def _upload(self, channel: str, thread_ts: str | None, file: dict[str, Any]) -> None:
        kwargs: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        if file.get("initial_comment"):  # a reply too long for a message: the file is it
            kwargs["initial_comment"] = redact(file["initial_comment"])
        await self.client.files_upload_v2(
            channel=channel,
            filename=file["filename"],
            title=file.get("title") or file["filename"],
            # Binary files (a digest's PNG) travel through the JSON outbox as base64.
            content=(
                base64.b64decode(file["content_b64"]) if "content_b64" in file else file["content"]
            ),
            **kwargs,
        )

    async def flush(self) -> int:
        """Retry every pending entry once; returns how many are still pending."""
        left = 0
        for entry in await self.repo.pending():
            if entry.id in self._busy:
                continue
            await self.attempt(entry)
        for entry in await self.repo.pending():
            left += entry.id not in self._busy
        return left

    async def run_outbox(self, interval_s: float) -> None:
        """Flush the outbox every `interval_s` until cancelled (the bot's lifetime)."""
        while True:
            try:
                await self.flush()
            except StoreError as exc:
                log.warning("outbox: %s", exc)
            await asyncio.sleep(interval_s)

    async def ephemeral(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> None:
        """An ephemeral message to one user; failures are logged (it is not kept)."""
        kwargs: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        try:
            await self.client.chat_postEphemeral(
                channel=channel, user=user, text=redact(text), **kwargs
            )
        except POST_ERRORS as exc:
            log.warning("ephemeral to %s in %s failed: %s", user, channel, describe(exc))

    async def placeholder(self, channel: str, message: Message) -> str | None:
        """The first, partial post of a slow run (its ts, for chat.update), or None."""
        try:
            await self.pacer.wait(channel)
            resp = await self.client.chat_postMessage(
                channel=channel, text=message["text"], blocks=message["blocks"]
            )
            return str(resp["ts"])
        except POST_ERRORS as exc:
            log.warning("progress post in %s failed: %s", channel, describe(exc))
            return None
