"""One run per Slack delivery (bot.slack.delivery) without the ack waiting for the database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable

from bot.store.db import Store
from bot.store.runs import RunRepo
from tests.slack_fixtures import SlackApp, command_body, signed_headers

MakeApp = Callable[..., Awaitable[SlackApp]]


async def test_ack_does_not_wait_for_a_busy_database(make_slack_app: MakeApp) -> None:
    app = await make_slack_app()
    path = app.bot.store.url.split(":///", 1)[1]
    # Another writer holds SQLite's write lock (as ten runs storing at once do).
    locker = sqlite3.connect(path, timeout=0, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        # Before: the delivery's insert came first and waited for the lock (15 s busy
        # timeout) before the ack; now the ack comes back while the lock is still held.
        status, text = await asyncio.wait_for(app.send(command_body("local")), 10)
        assert status == 200 and "Working on it" in json.loads(text)["text"]
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    await app.bot.drain()
    assert await RunRepo(app.bot.store).count() == 1


async def test_a_redelivery_to_another_replica_is_acked_but_runs_once(
    store: Store, make_slack_app: MakeApp
) -> None:
    one, two = await make_slack_app(store=store), await make_slack_app(store=store)
    body = command_body("local")
    first = await one.send(body)
    again = await two.send(body, headers=signed_headers(body) | {"X-Slack-Retry-Num": "1"})
    assert first[0] == again[0] == 200
    await one.bot.drain()
    await two.bot.drain()
    assert await RunRepo(store).count() == 1


async def test_every_host_of_a_label_runs_from_one_delivery(make_slack_app: MakeApp) -> None:
    from bot.store.hosts import HostRepo
    from commands.hosts import LOCAL_SPEC, HostSpec

    app = await make_slack_app()
    repo = HostRepo(app.bot.store)
    for name in ("web-1", "web-2", "web-3"):
        spec = HostSpec(name=name, address="127.0.0.1", labels={"group": "web"})
        await repo.add(spec)
    seen: list[str] = []

    async def runner(store: Store, settings: object, words: list[str], who: object) -> object:
        seen.append(words[0])
        from bot.service import record
        from commands import triage

        report = await triage.run(LOCAL_SPEC.target(), triage.TriageOptions(probes=("uptime",)))
        return await record(store, report, settings, who)  # type: ignore[arg-type]

    app.bot.ctx.commands = {**app.bot.ctx.commands, "triage": runner}  # type: ignore[dict-item]
    status, _ = await app.send(command_body("group=web"))
    assert status == 200
    await app.bot.drain()
    assert sorted(seen) == ["web-1", "web-2", "web-3"]
