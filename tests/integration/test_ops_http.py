"""Operate: GET /metrics and GET /readyz of the served bot, and run context in its JSON logs."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.ops import logs
from bot.ops.health import HEALTH
from bot.ops.serve import web_app
from bot.service import Who
from bot.settings import Settings
from bot.slack.app import Bot
from bot.slack.posting import make_client
from bot.store.db import Store
from bot.store.runs import RunRepo
from commands.report import Report
from tests import slack_fixtures
from tests.slack_fixtures import (
    FakeSlack,
    Scripted,
    SlackApp,
    command_body,
    fast_triage,
    serve,
)

MakeApp = Callable[..., Awaitable[SlackApp]]
METRICS = (
    "triagebot_commands",
    "triagebot_ack_seconds",
    "triagebot_probe_duration_seconds",
    "triagebot_ssh_connections_open",
    "triagebot_findings",
    "triagebot_slack_api_errors",
    "triagebot_runs_in_flight",
)


async def get(app: SlackApp, path: str) -> tuple[int, str]:
    async with app.session.get(app.url + path) as resp:
        return resp.status, await resp.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    page: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return page.get((name, tuple(sorted(labels.items()))), 0.0)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_metrics_names_and_counters_after_a_triage(slack_app: SlackApp) -> None:
    status, text = await get(slack_app, "metrics")
    assert status == 200
    families = {f.name for f in text_string_to_metric_families(text)}
    assert set(METRICS) <= families, set(METRICS) - families
    before = samples(text)

    status, _ = await slack_app.send(command_body("local"))
    assert status == 200
    await slack_app.fake.wait_for("chat.postMessage", 2)  # the summary and the facts reply
    await slack_app.bot.drain()
    [run] = await RunRepo(slack_app.bot.store).history(None, before_epoch())
    after = samples((await get(slack_app, "metrics"))[1])

    assert value(after, "triagebot_commands_total", command="triage", outcome=run.status) == (
        value(before, "triagebot_commands_total", command="triage", outcome=run.status) + 1
    )
    assert (
        value(after, "triagebot_ack_seconds_count")
        >= value(before, "triagebot_ack_seconds_count") + 1
    )
    for probe in ("load", "disk"):  # the probes fast_triage runs
        name = "triagebot_probe_duration_seconds_count"
        assert value(after, name, probe=probe) == value(before, name, probe=probe) + 1
    assert value(after, "triagebot_runs_in_flight") == 0


async def test_slack_api_error_is_counted_by_method(slack_app: SlackApp) -> None:
    name = "triagebot_slack_api_errors_total"
    before = value(samples((await get(slack_app, "metrics"))[1]), name, method="chat.postMessage")
    # ok:false with 200 is not retried: the summary post fails once and stays in the outbox.
    slack_app.fake.answer("chat.postMessage", Scripted(error="channel_not_found"))
    await slack_app.send(command_body("local"))
    await slack_app.bot.drain()
    after = value(samples((await get(slack_app, "metrics"))[1]), name, method="chat.postMessage")
    assert after == before + 1


async def test_readyz_ok_when_the_database_answers(slack_app: SlackApp) -> None:
    status, body = await get(slack_app, "readyz")
    assert (status, json.loads(body)) == (200, {"ready": True})


async def test_readyz_503_when_the_database_is_a_closed_port(make_slack_app: MakeApp) -> None:
    store = Store(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/nothing")
    try:
        app = await make_slack_app(store=store)
        status, body = await get(app, "readyz")
        assert status == 503
        reason = json.loads(body)["reason"]
        assert reason.startswith("database ")
        # /healthz is liveness: the process answers, whatever the database does.
        assert (await get(app, "healthz"))[0] in (200, 503)
    finally:
        await store.close()


@pytest.fixture
async def served(fake_slack: FakeSlack, tmp_path: Any) -> AsyncIterator[tuple[Bot, str]]:
    """A bot served by web_app directly (the test then reaches its Health)."""
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/served.db")
    await store.upgrade()
    settings = slack_fixtures.test_settings(fake_slack, store.url, slack_signing_secret=None,
                             slack_app_token="xapp-1-fake")  # fmt: skip
    bot = Bot(settings, store, make_client(settings), commands={"triage": fast_triage()})
    app = web_app(bot, events=False)
    runner, base = await serve(app)
    bot.health = app[HEALTH]  # type: ignore[attr-defined]
    try:
        yield bot, base
    finally:
        await runner.cleanup()
        await store.close()


async def test_readyz_follows_the_socket_mode_connection(served: tuple[Bot, str]) -> None:
    bot, base = served
    health = bot.health  # type: ignore[attr-defined]
    handler = AsyncSocketModeHandler(bot.app, "xapp-1-fake", web_client=bot.client)
    health.slack_connected = handler.client.is_connected
    async with aiohttp.ClientSession() as session:

        async def readyz() -> tuple[int, dict[str, Any]]:
            async with session.get(base + "readyz") as resp:
                return resp.status, await resp.json()

        assert await readyz() == (
            503,
            {"ready": False, "reason": "slack: Socket Mode not connected"},
        )
        await handler.connect_async()  # type: ignore[no-untyped-call]
        try:
            assert await readyz() == (200, {"ready": True})
            health.draining = True
            assert await readyz() == (503, {"ready": False, "reason": "shutting down"})
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]


def before_epoch() -> Any:
    from datetime import UTC, datetime

    return datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Root log lines as JSON in a buffer, as `TRIAGEBOT_LOG_FORMAT=json` writes them."""
    buf = io.StringIO()
    handler = logs.make_handler("json", buf)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buf
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_json_logs_of_a_run_carry_its_run_id_and_hide_tokens(
    slack_app: SlackApp, json_lines: io.StringIO
) -> None:
    inner = fast_triage()
    token = "xoxb-123456789012-abcdefghijklmnop"

    async def noisy(store: Store, settings: Settings, words: Any, who: Who) -> Report:
        # Logged from inside the run's own task, as a probe or the store would.
        logging.getLogger("triagebot.test").warning("calling Slack with token %s", token)
        return await inner(store, settings, words, who)

    slack_app.bot.commands["triage"] = noisy
    await slack_app.send(command_body("local"))
    await slack_app.bot.drain()

    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    started = [x for x in lines if x["msg"] == "command started"]
    assert len(started) == 1
    run_id = started[0]["run_id"]
    assert started[0]["command"] == "triage" and started[0]["target"] == "local"
    mine = [x for x in lines if x["logger"] == "triagebot.test"]
    assert len(mine) == 1 and mine[0]["run_id"] == run_id
    assert token not in json_lines.getvalue()
    assert "[REDACTED]" in mine[0]["msg"]
    [finished] = [x for x in lines if x["msg"].startswith("command finished")]
    assert finished["run_id"] == run_id
    assert finished["status"] in ("ok", "partial", "failed")
    assert isinstance(finished["run"], int) and isinstance(finished["duration_ms"], int)
    # Outside the run nothing carries it.
    assert all("run_id" not in x for x in lines if x["logger"] == "aiohttp.access")
