"""Socket Mode: the bot connects through a fake apps.connections.open to a local websocket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.store.runs import RunRepo
from tests.slack_fixtures import SlackApp

MakeApp = Callable[..., Awaitable[SlackApp]]


async def _wait(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


def envelope(envelope_id: str, retry: int | None = None) -> dict[str, object]:
    return {
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": True,
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else None,
        "payload": {
            "token": "legacy", "team_id": "T1", "channel_id": "C1", "user_id": "U1",
            "command": "/triage", "text": "local", "response_url": "",
            "trigger_id": "socket-trigger-1",
        },
    }  # fmt: skip


async def test_socket_mode_command_acks_posts_and_ignores_retries(
    make_slack_app: MakeApp,
) -> None:
    app = await make_slack_app(slack_signing_secret=None, slack_app_token="xapp-1-fake")
    fake = app.fake
    handler = AsyncSocketModeHandler(app.bot.app, "xapp-1-fake", web_client=app.bot.client)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        assert [c.method for c in fake.calls][:1] == ["apps.connections.open"]
        await _wait(lambda: bool(fake.sockets), "the websocket")
        sock = fake.sockets[0]
        await sock.send_json(envelope("env-1"))
        await _wait(lambda: len(fake.socket_acks) >= 1, "the ack")
        ack = fake.socket_acks[0]
        assert ack["envelope_id"] == "env-1"
        assert "Working on it" in ack["payload"]["text"]
        # Slack retries the same command in new envelopes: acked, never run again.
        await sock.send_json(envelope("env-2", retry=1))
        await sock.send_json(envelope("env-3", retry=2))
        await _wait(lambda: len(fake.socket_acks) >= 3, "the retries' acks")
        # The two retries are acked concurrently: their order is not part of the contract.
        assert fake.socket_acks[0]["envelope_id"] == "env-1"
        assert sorted(a["envelope_id"] for a in fake.socket_acks) == ["env-1", "env-2", "env-3"]
        await app.bot.drain()
        assert len(fake.summaries()) == 1
        assert await RunRepo(app.bot.store).count() == 1
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
