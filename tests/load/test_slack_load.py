"""The Slack app under load over real HTTP (signed requests, fake Web API on 127.0.0.1).

200 slash commands in 10 seconds, with some deliveries retried by "Slack": every one acked,
run once and answered once. Then Slack answering 500 for a while: the outbox posts every
report exactly once when it recovers.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.store.runs import RunRepo
from bot.store.slack import SlackRepo
from tests.slack_fixtures import (
    Scripted,
    SlackApp,
    command_body,
    fast_triage,
    signed_headers,
)

pytestmark = pytest.mark.slow

MakeApp = Callable[..., Awaitable[SlackApp]]
COMMANDS = 200
SPAN_S = 10.0


def run_of(summary: dict[str, Any]) -> int:
    """The run id a summary message carries on its Raw output button ("N")."""
    actions = next(b for b in summary["blocks"] if b["type"] == "actions")
    value = actions["elements"][1]["value"]
    assert value.isdigit()
    return int(value)


def summaries(app: SlackApp) -> list[dict[str, Any]]:
    """Every summary posted to a channel (not into a thread)."""
    return [body for _ts, body in app.fake.summaries()]


async def test_200_commands_in_10_seconds(make_slack_app: MakeApp) -> None:
    app = await make_slack_app()
    app.bot.commands["triage"] = fast_triage(("load",))
    bodies = [command_body("local", user=f"U{i}", channel=f"C{i % 7}") for i in range(COMMANDS)]
    # Slack re-delivers some (same trigger_id) a quarter of a second after the first.
    retried = sorted(random.Random(8).sample(range(COMMANDS), 20))

    async def send(i: int, body: str, retry: int = 0) -> tuple[int, str]:
        await asyncio.sleep(i * SPAN_S / COMMANDS)  # a steady 20 commands per second
        headers = signed_headers(body)
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await app.send(body, headers=headers)

    answers = await asyncio.gather(
        *(send(i, body) for i, body in enumerate(bodies)),
        *(send(i + 5, bodies[i], retry=1) for i in retried),
    )
    first, retries = answers[:COMMANDS], answers[COMMANDS:]
    assert all(s == 200 for s, _ in answers)

    def working(text: str) -> bool:
        return bool(text) and "Working on it" in json.loads(text)["text"]

    # Whichever delivery of a command arrives first runs it (on a busy machine the retry can
    # overtake the original); the other is acked with an empty body and not run again.
    retried_first = dict(zip(retried, retries, strict=True))
    for i, (_, text) in enumerate(first):
        if i in retried_first:
            assert working(text) != working(retried_first[i][1]), i
        else:
            assert working(text), i
    await app.bot.drain()
    assert await RunRepo(app.bot.store).count() == COMMANDS
    posted = summaries(app)
    run_ids = Counter(run_of(s) for s in posted)
    assert len(posted) == COMMANDS and set(run_ids.values()) == {1}  # each answered once
    events = await SlackRepo(app.bot.store).audit_events()
    assert sorted(e.user_id or "" for e in events) == sorted(f"U{i}" for i in range(COMMANDS))
    assert {e.outcome for e in events} == {"posted"}
    assert sorted(e.run_id or 0 for e in events) == sorted(run_ids)
    assert await SlackRepo(app.bot.store).pending() == []


async def test_slack_500_storm_then_recovery_posts_each_report_once(
    make_slack_app: MakeApp,
) -> None:
    app = await make_slack_app(slack_retries=1)
    app.bot.commands["triage"] = fast_triage(("load", "disk"))
    reports = 20
    # Whatever the interleaving: each report's summary is tried twice (one client retry) and
    # no call succeeds while general 500s are queued, so 40 of them fail all 20 summaries.
    # Then the next two thread replies fail twice each: those reports stop between their
    # summary and a reply. Everything waits in the outbox.
    app.fake.answer(
        "chat.postMessage",
        *[Scripted(status=500)] * (2 * reports),
        *[Scripted(status=500, replies_only=True)] * 4,
    )
    await asyncio.gather(*(app.send(command_body("local", user=f"U{i}")) for i in range(reports)))
    await app.bot.drain()
    repo = SlackRepo(app.bot.store)
    assert len(await repo.pending()) == reports, "the storm left reports unqueued"
    for _ in range(10):  # bounded: each flush retries every pending entry once
        if await app.bot.poster.flush() == 0:
            break
    assert await repo.pending() == []
    assert await app.bot.poster.flush() == 0  # nothing more to post
    failed_replies = [
        c for c in app.fake.all("chat.postMessage") if c.status == 500 and "thread_ts" in c.body
    ]
    assert len(failed_replies) == 4  # two reports did stop after their summary
    posted = summaries(app)
    assert Counter(run_of(s) for s in posted) == Counter(range(1, reports + 1))
    # Every thread got its replies once, no repeats after the resumes.
    by_ts = {ts: run_of(body) for ts, body in app.fake.summaries()}
    replies = Counter(
        (c.body["thread_ts"], c.body["text"])
        for c in app.fake.all("chat.postMessage")
        if c.status == 200 and "thread_ts" in c.body
    )
    assert set(replies.values()) == {1}
    assert {ts for ts, _ in replies} == set(by_ts)
    threads = Counter(ts for ts, _ in replies)
    assert set(threads.values()) <= {1, 2, 3}  # at most three replies per run
    assert {ts for ts, text in replies if text == "triage local: facts"} == set(by_ts)
    events = await repo.audit_events()
    assert len(events) == reports and {e.outcome for e in events} <= {"posted", "queued"}
