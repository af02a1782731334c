"""A report's thread through the real Poster and outbox against the fake Slack Web API.

At most three replies per run, every one in the summary's thread, each within Slack's
limits; a reply too long for a message arrives as one file (with its comment), not as more
messages.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.render import blocks
from commands.report import Changes, Report
from ssh_probes.model import Finding, ProbeResult
from tests.fixtures.reports import CASES
from tests.slack_fixtures import SlackApp

REPLIES = {"healthy": 2, "warning": 3, "critical": 2}


def thread_posts(app: SlackApp, root: str) -> list[dict[str, Any]]:
    """Every message and file posted into the thread `root`, in order."""
    return [
        c.body
        for c in app.fake.calls
        if c.status == 200
        and c.method in ("chat.postMessage", "files.completeUploadExternal")
        and c.body.get("thread_ts") == root
    ]


@pytest.mark.parametrize("case", CASES)
async def test_golden_reports_post_a_summary_and_at_most_three_replies(
    slack_app: SlackApp, case: str
) -> None:
    messages = blocks.report_messages(CASES[case]())
    root = await slack_app.bot.poster.post("C9", messages)
    [(summary_ts, summary)] = slack_app.fake.summaries()
    assert root == summary_ts and summary["channel"] == "C9"
    assert summary["blocks"] == messages[0]["blocks"]  # what Slack got is what was rendered
    replies = thread_posts(slack_app, summary_ts)
    assert len(replies) == REPLIES[case] <= 3
    assert [r["text"] for r in replies] == [m["text"] for m in messages[1:]]
    assert slack_app.fake.ok("files.completeUploadExternal") == []


def huge() -> Report:
    """Sixty findings, four hundred lines of facts, and a previous run to compare with."""
    findings = tuple(
        Finding("disk.full", "warning", f"/data{i} 96% full", suggestion=f"du -xh /data{i}")
        for i in range(60)
    )
    facts = {f"line{i:03}": "x" * 60 for i in range(400)}
    since = datetime(2026, 1, 1, tzinfo=UTC)
    return Report(
        "triage", "web-1", "ok", since, 5, findings=findings,
        results=(ProbeResult("custom", "web-1", True, facts, area="custom"),), run_id=9,
        changes=Changes(since, 8, new=("disk.full",)),
    )  # fmt: skip


async def test_replies_too_long_arrive_as_files_not_as_more_messages(slack_app: SlackApp) -> None:
    await slack_app.bot.poster.post("C9", blocks.report_messages(huge()))
    [(summary_ts, summary)] = slack_app.fake.summaries()
    assert "+57 more warnings in the thread" in json.dumps(summary["blocks"])
    posts = thread_posts(slack_app, summary_ts)
    assert len(posts) == 3
    files = slack_app.fake.ok("files.completeUploadExternal")
    assert [json.loads(f["files"])[0]["title"] for f in files] == [
        "triage web-1: findings",
        "triage web-1: facts",
    ]
    assert all(f["thread_ts"] == summary_ts and f["initial_comment"] for f in files)
    assert "the whole text is in `triage-web-1-facts.txt`" in files[1]["initial_comment"]
    findings, facts = slack_app.fake.uploads.values()
    assert findings.count(b"/triagebot help disk.full") == 60
    assert facts.count(b"x" * 60) == 400  # whole, not cut
    [changes] = [p for p in posts if "blocks" in p]
    assert changes["text"] == "triage web-1: what changed"


async def test_a_rerun_in_a_thread_posts_three_messages_at_most(slack_app: SlackApp) -> None:
    report = replace(huge(), findings=huge().findings[:2], results=CASES["warning"]().results)
    root = "1699999999.000001"
    await slack_app.bot.poster.post(
        "C9", blocks.report_messages(report, rerun=True), thread_ts=root
    )
    posts = thread_posts(slack_app, root)
    assert len(posts) == 3 and slack_app.fake.summaries() == []
    assert posts[0]["blocks"][0]["text"]["text"] == ":warning: Re-run: triage web-1"
    assert "new: `disk.full`" in json.dumps(posts[0]["blocks"])  # what changed, in the summary
