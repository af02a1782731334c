"""Several bot replicas on one database flush one outbox: each message is posted once.

Two Posters with their own Store objects (nothing shared in process) against SQLite and the
real PostgreSQL, posting to the fake Slack over real HTTP. An entry is taken with a lease
(owner, until) in the database; a replica that died holding one loses it when it expires.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.slack.posting import Poster, make_client
from bot.store.db import Store
from bot.store.models import utcnow
from bot.store.slack import SlackRepo
from bot.store.slack_rows import OutboxRow
from tests.slack_fixtures import FakeSlack
from tests.slack_fixtures import test_settings as slack_settings


def message(text: str) -> dict[str, object]:
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


@pytest.fixture
async def replicas(db_url: str, fake_slack: FakeSlack) -> AsyncIterator[list[Poster]]:
    stores = [Store(db_url) for _ in range(2)]
    await stores[0].upgrade()
    settings = slack_settings(fake_slack, db_url, slack_retries=0)
    posters = [Poster(make_client(settings), store, settings) for store in stores]
    yield posters
    for store in stores:
        await store.close()


def posted(fake: FakeSlack) -> list[str]:
    return [str(b["text"]) for b in fake.ok("chat.postMessage")]


async def test_two_replicas_flushing_at_once_post_each_message_once(
    replicas: list[Poster], fake_slack: FakeSlack
) -> None:
    repo = replicas[0].repo
    expected = []
    for i in range(12):
        texts = [f"entry {i} message {j}" for j in range(3)]
        expected += texts
        await repo.enqueue("C1", [message(t) for t in texts])
    fake_slack.delay_s = 0.01  # slow enough that both replicas see the same pending entries
    await asyncio.gather(*(p.flush() for p in replicas), *(p.flush() for p in replicas))
    assert sorted(posted(fake_slack)) == sorted(expected)  # all of them, none twice
    assert await repo.pending() == []


async def test_an_entry_held_by_a_live_replica_is_left_alone_until_its_lease_ends(
    replicas: list[Poster], fake_slack: FakeSlack
) -> None:
    repo = replicas[0].repo
    entry = await repo.enqueue("C1", [message("held")])
    # Another replica holds it, say mid-post; its lease runs another minute.
    assert await repo.claim(entry.id, "replica-elsewhere", timedelta(minutes=1)) is not None
    assert await replicas[1].flush() == 1
    assert posted(fake_slack) == []
    # That replica died: once its lease has ended, a live one takes the entry over.
    async with repo.store.session() as session:
        await session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == entry.id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    assert await replicas[1].flush() == 0
    assert posted(fake_slack) == ["held"]


async def test_claim_reads_progress_made_by_another_replica(replicas: list[Poster]) -> None:
    repo: SlackRepo = replicas[0].repo
    entry = await repo.enqueue("C1", [message("a"), message("b")])
    first = await repo.claim(entry.id, "one", timedelta(minutes=1))
    assert first is not None and first.next_index == 0
    await repo.progress(entry.id, 1, "1700000000.000001", done=False)
    await repo.release(entry.id, "one")
    second = await replicas[1].repo.claim(entry.id, "two", timedelta(minutes=1))
    assert second is not None
    assert (second.next_index, second.summary_ts) == (1, "1700000000.000001")
    assert await repo.claim(entry.id, "one", timedelta(minutes=1)) is None
