"""Block Kit rendering: content, buttons, and Slack's limits on huge reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.render import blocks
from commands.report import Changes, Report
from ssh_probes.model import Finding, ProbeResult


def report(findings: int = 0, lines: int = 3, width: int = 40, **kw: object) -> Report:
    return Report(
        command="triage",
        target="web-1",
        status="partial",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        duration_ms=1234,
        findings=tuple(
            Finding(f"disk.full{i}", "warning", f"/data{i} 96% <full> " + "w" * width,
                    suggestion=f"du -xh /data{i} | sort -h | tail", host="web-1")
            for i in range(findings)
        ),
        results=(
            ProbeResult("custom", "web-1", True, {f"k{i}": "v" * width for i in range(lines)},
                        area="custom", duration_ms=3),
            ProbeResult("load", "web-1", False, error="timed out", area="cpu"),
        ),
        run_id=7,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def within_limits(message: blocks.Message) -> None:
    assert len(message["blocks"]) <= blocks.MAX_BLOCKS
    assert sum(blocks._chars(b) for b in message["blocks"]) <= blocks.MAX_MESSAGE_CHARS
    for b in message["blocks"]:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= blocks.MAX_SECTION_CHARS


def test_summary_has_status_target_duration_findings_fixes_and_buttons() -> None:
    msg = blocks.summary(report(findings=2))
    text = json.dumps(msg)
    assert msg["text"] == "triage web-1: partial, 2 warning"
    assert msg["blocks"][0]["text"]["text"] == ":warning: triage web-1"
    assert "*partial* in 1234 ms" in text and "run 7" in text
    assert "du -xh /data0 | sort -h | tail" in text
    assert "&lt;full&gt;" in text and "<full>" not in text  # mrkdwn escaped
    assert msg["blocks"][-1]["elements"][0]["value"] == "triage web-1"
    assert msg["blocks"][-1]["elements"][1]["value"] == "triage:7"


def test_summary_shows_top_findings_and_points_to_the_thread_for_the_rest() -> None:
    msg = blocks.summary(report(findings=12))
    assert "and 7 more in the thread" in json.dumps(msg)
    rest = blocks.details(report(findings=12))[0]
    assert sum("disk.full" in json.dumps(b) for b in rest["blocks"]) == 7


def test_details_one_reply_per_area_and_failures_say_why() -> None:
    replies = blocks.details(report())
    assert [r["text"] for r in replies] == ["web-1: cpu", "web-1: custom"]
    assert "probe failed: timed out" in json.dumps(replies[0])


@pytest.mark.parametrize(
    ("findings", "lines", "width"),
    [(0, 400, 60), (60, 3, 40), (8, 3, 5000), (0, 5, 20_000)],
    ids=["many-lines", "many-findings", "huge-finding", "huge-line"],
)
def test_limits_hold_for_huge_reports(findings: int, lines: int, width: int) -> None:
    for message in blocks.report_messages(report(findings, lines, width)):
        if "file" in message:
            continue
        within_limits(message)


def test_long_area_goes_to_a_file_not_cut() -> None:
    r = report(lines=400, width=60)
    out = blocks.details(r)
    files = [m["file"] for m in out if "file" in m]
    assert [f["filename"] for f in files] == ["triage-web-1-custom.txt"]
    assert files[0]["content"].count("v" * 60) == 400
    assert "the full text is in `triage-web-1-custom.txt`" in json.dumps(out)


def test_rerun_summary_says_what_changed() -> None:
    changes = Changes(
        since=datetime(2026, 1, 1, tzinfo=UTC), previous_run_id=6,
        new=("disk.full",), resolved=("cpu.saturated",), still=("mem.pressure",),
    )  # fmt: skip
    text = json.dumps(blocks.summary(report(changes=changes), rerun=True))
    assert "Re-run: triage web-1" in text and "since run 6" in text
    assert "*new* `disk.full`" in text and "*resolved* `cpu.saturated`" in text
    assert "*still* `mem.pressure`" in text


def test_secrets_never_reach_blocks() -> None:
    r = Report(
        command="triage", target="web-1", status="ok",
        started_at=datetime(2026, 1, 1, tzinfo=UTC), duration_ms=1,
        results=(ProbeResult("custom", "web-1", True, {"cmd": "app --password=hunter2x"},
                             area="custom"),),
    )  # fmt: skip
    assert "hunter2x" not in json.dumps(blocks.report_messages(r))


def test_chunks_split_on_lines_and_long_lines() -> None:
    pieces = blocks.chunks("a" * 7000 + "\nb\nc", 3000)
    assert [len(p) for p in pieces] == [3000, 3000, 1004]  # the tail keeps its lines
    assert "".join(pieces).replace("\n", "") == "a" * 7000 + "bc"
