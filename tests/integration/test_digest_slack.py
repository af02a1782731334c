"""`/digest` and `/dig watch` through the real Bolt app over HTTP, against the fake Slack."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.commands import dig as dig_name
from bot.digests.command import digest
from bot.ops.serve import web_app
from bot.slack.app import Bot
from bot.slack.posting import make_client
from bot.store.db import Store
from bot.store.digests import DigestRepo
from tests.slack_fixtures import FakeSlack, SlackApp, command_body, serve
from tests.slack_fixtures import test_settings as slack_settings


@pytest.fixture
async def digest_app(store: Store, fake_slack: FakeSlack) -> AsyncIterator[SlackApp]:
    """The bot with only /digest and /dig (no probe, no DNS query runs), admin UADMIN."""
    settings = slack_settings(fake_slack, store.url, admins="UADMIN", digest_refresh=False)
    bot = Bot(settings, store, make_client(settings), commands={"digest": digest, "dig": dig_name})
    runner, base = await serve(web_app(bot))
    session = aiohttp.ClientSession()
    try:
        yield SlackApp(bot, base, session, fake_slack)
    finally:
        await session.close()
        await runner.cleanup()


async def test_schedule_changes_are_admin_only(digest_app: SlackApp, store: Store) -> None:
    add = "add <#C0OPS|ops> 0 9 * * 1-5 hosts=web-* tz=Europe/Paris"
    _, text = await digest_app.send(command_body(add, command="/digest", user="U1"))
    assert "Only admins may change digest schedules" in json.loads(text)["text"]
    _, text = await digest_app.send(command_body(add, command="/digest", user="UADMIN"))
    assert "Working on it" in json.loads(text)["text"]
    await digest_app.bot.drain()
    [schedule] = await DigestRepo(store).schedules()
    assert (schedule.channel, schedule.cron, schedule.tz, schedule.created_by) == (
        "C0OPS", "0 9 * * 1-5", "Europe/Paris", "UADMIN",
    )  # fmt: skip
    _, text = await digest_app.send(command_body("remove 1", command="/digest", user="U1"))
    assert "Only admins" in json.loads(text)["text"]
    # Reading is open: the list is posted as a report in the channel.
    _, text = await digest_app.send(command_body("list", command="/digest", user="U1"))
    await digest_app.bot.drain()
    posted = json.dumps(digest_app.fake.ok("chat.postMessage"))
    assert "0 9 * * 1-5" in posted


async def test_bad_cron_is_refused_before_the_ack(digest_app: SlackApp, store: Store) -> None:
    body = command_body("add #ops 0 9 * *", command="/digest", user="UADMIN")
    _, text = await digest_app.send(body)
    assert "invalid cron '0 9 * *'" in json.loads(text)["text"]
    assert await DigestRepo(store).schedules() == []


async def test_dig_watch_and_unwatch(digest_app: SlackApp, store: Store) -> None:
    # Watching changes every digest: a write, for admins (issue 13; it was open to all).
    _, text = await digest_app.send(command_body("watch Example.COM", command="/dig"))
    assert "Only admins may change the watched domains" in json.loads(text)["text"]
    admin = {"command": "/dig", "user": "UADMIN"}
    _, text = await digest_app.send(command_body("watch Example.COM", **admin))
    assert "Working on it" in json.loads(text)["text"]
    await digest_app.bot.drain()
    assert await DigestRepo(store).watched() == ["example.com"]
    await digest_app.send(command_body("unwatch example.com", **admin))
    await digest_app.bot.drain()
    assert await DigestRepo(store).watched() == []
    _, text = await digest_app.send(command_body("watch", **admin))
    assert "usage: `/dig watch DOMAIN`" in json.loads(text)["text"]
