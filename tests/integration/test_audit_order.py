"""Audit events read back in the order they happened, not the order they were written.

A refusal is audited in the background after its ack (bot.slack.context.audit): on a loaded
machine a later command's row was written first (seen in CI on this slow machine: U3's
`posted` before U2's `refused`).
"""

from __future__ import annotations

from datetime import timedelta

from bot.store.db import Store
from bot.store.models import utcnow
from bot.store.slack import SlackRepo


async def test_an_event_written_late_reads_back_in_its_place(store: Store) -> None:
    repo = SlackRepo(store)
    refused_at = utcnow()
    later = refused_at + timedelta(milliseconds=5)
    await repo.audit(user="U3", channel="C1", action="triage", detail="local", outcome="posted",
                     at=later)  # fmt: skip
    await repo.audit(user="U2", channel="C1", action="triage", detail="local",
                     outcome="refused", reason="not allowed", at=refused_at)  # fmt: skip
    events = await repo.audit_events()
    assert [(e.user_id, e.outcome) for e in events] == [("U2", "refused"), ("U3", "posted")]
    assert events[0].id > events[1].id  # written second, read first


async def test_without_a_time_the_event_is_now(store: Store) -> None:
    repo = SlackRepo(store)
    before = utcnow()
    await repo.audit(user="U1", channel="C1", action="hosts", detail="", outcome="posted")
    (event,) = await repo.audit_events()
    assert before <= event.at.replace(tzinfo=before.tzinfo) <= utcnow()
