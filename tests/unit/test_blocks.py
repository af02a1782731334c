"""Block Kit rendering: content, buttons, and Slack's limits on huge reports."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from rich.console import Console

from bot.render import blocks
from bot.render.terminal import render
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
            Finding("disk.full", "warning", f"/data{i} 96% <full> " + "w" * width,
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
    assert sum(blocks.chars(b) for b in message["blocks"]) <= blocks.MAX_MESSAGE_CHARS
    for b in message["blocks"]:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= blocks.MAX_SECTION_CHARS


def test_summary_has_mark_first_line_duration_findings_fixes_and_buttons() -> None:
    msg = blocks.summary(report(findings=2))
    text = json.dumps(msg)
    first = "2 warnings: Filesystem nearly full on web-1 (1 of 2 probes failed)"
    assert msg["text"] == f"triage web-1: {first}"
    assert msg["blocks"][0]["text"]["text"] == ":warning: triage web-1"
    assert msg["blocks"][1]["text"]["text"] == f"*{first}*"
    assert "*partial* in 1234 ms" in text and "run 7" in text
    assert "du -xh /data0 | sort -h | tail" in text
    assert "&lt;full&gt;" in text and "<full>" not in text  # mrkdwn escaped
    # Buttons carry the run id only; the bot reads the command from the stored run (issue 13).
    assert msg["blocks"][-1]["elements"][0]["value"] == "7"
    assert msg["blocks"][-1]["elements"][1]["value"] == "7"


def test_summary_shows_three_findings_and_points_to_the_thread_for_the_rest() -> None:
    msg = blocks.summary(report(findings=12))
    assert sum("/data" in json.dumps(b) for b in msg["blocks"]) == 3
    assert "+9 more warnings in the thread" in json.dumps(msg)
    findings = blocks.report_messages(report(findings=12))[1]
    assert sum("/data" in json.dumps(b) for b in findings["blocks"]) == 12


def test_thread_is_findings_then_facts_then_changes() -> None:
    changes = Changes(since=datetime(2026, 1, 1, tzinfo=UTC), previous_run_id=6, new=("disk.full",))
    replies = blocks.report_messages(report(findings=1, changes=changes))[1:]
    assert [r["text"] for r in replies] == [
        "triage web-1: findings with evidence and fixes",
        "triage web-1: facts",
        "triage web-1: what changed",
    ]
    assert "load: probe failed: timed out" in json.dumps(replies[1])
    # No findings and a first run: the facts alone.
    assert [r["text"] for r in blocks.report_messages(report())[1:]] == ["triage web-1: facts"]


@pytest.mark.parametrize(
    ("findings", "lines", "width", "files"),
    [(0, 400, 60, 1), (60, 3, 40, 1), (8, 3, 5000, 2), (0, 5, 20_000, 1)],
    ids=["many-lines", "many-findings", "huge-finding-and-facts", "huge-line"],
)
def test_limits_hold_for_huge_reports(findings: int, lines: int, width: int, files: int) -> None:
    messages = blocks.report_messages(report(findings, lines, width))
    assert len(messages) <= 1 + 3
    for message in messages:
        if "file" in message:
            assert len(message["file"]["initial_comment"]) <= blocks.MAX_SECTION_CHARS
            continue
        within_limits(message)
    # Only the replies that did not fit are files, each in place of its message.
    assert sum("file" in m for m in messages) == files


def test_long_facts_go_to_a_file_not_cut() -> None:
    r = report(lines=400, width=60)
    out = blocks.report_messages(r)[1:]
    [file] = [m["file"] for m in out if "file" in m]
    assert file["filename"] == "triage-web-1-facts.txt"
    assert file["content"].count("v" * 60) == 400
    assert "*Custom*: k0: " in file["initial_comment"] and "(+399 lines)" in file["initial_comment"]
    assert "the whole text is in `triage-web-1-facts.txt`" in file["initial_comment"]


def test_too_many_findings_go_to_a_file_whole() -> None:
    [file] = [m["file"] for m in blocks.report_messages(report(findings=60)) if "file" in m]
    assert file["filename"] == "triage-web-1-findings.txt"
    assert file["content"].count("/triagebot help disk.full") == 60
    assert file["content"].count("du -xh /data") == 60


def test_rerun_summary_says_what_changed_and_no_fourth_reply() -> None:
    changes = Changes(
        since=datetime(2026, 1, 1, tzinfo=UTC), previous_run_id=6,
        new=("disk.full",), resolved=("cpu.saturated",), still=("mem.pressure",),
    )  # fmt: skip
    messages = blocks.report_messages(report(findings=1, changes=changes), rerun=True)
    text = json.dumps(messages[0])
    assert "Re-run: triage web-1" in text and "since run 6" in text
    assert "new: `disk.full` (Filesystem nearly full)" in text
    assert "resolved: `cpu.saturated` (CPU saturated)" in text
    assert "still: `mem.pressure` (Memory pressure)" in text
    # In the thread already: summary, findings, facts; what changed is in the summary.
    assert [m["text"] for m in messages[1:]] == [
        "triage web-1: findings with evidence and fixes",
        "triage web-1: facts",
    ]


def test_secrets_never_reach_blocks_files_or_the_console() -> None:
    leak = Finding(
        "docker.hairpin",
        "warning",
        "api calls its own public name",
        evidence={"env": "SUPABASE_URL=https://svc:hunter2x@db.example.com"},
    )
    r = Report(
        command="triage", target="web-1", status="ok",
        started_at=datetime(2026, 1, 1, tzinfo=UTC), duration_ms=1, findings=(leak,),
        results=(ProbeResult("custom", "web-1", True, {"cmd": "app --password=hunter2x"},
                             area="custom"),),
    )  # fmt: skip
    assert "hunter2x" not in json.dumps(blocks.report_messages(r))
    big = replace(r, findings=(leak,) * 60)  # the findings reply becomes a file
    assert any("file" in m for m in blocks.report_messages(big))
    assert "hunter2x" not in json.dumps(blocks.report_messages(big))
    console = Console(record=True, width=120, color_system=None)
    console.print(render(r))
    shown = console.export_text()
    assert "hunter2x" not in shown and "SUPABASE_URL=" in shown


def test_chunks_split_on_lines_and_long_lines() -> None:
    pieces = blocks.chunks("a" * 7000 + "\nb\nc", 3000)
    assert [len(p) for p in pieces] == [3000, 3000, 1004]  # the tail keeps its lines
    assert "".join(pieces).replace("\n", "") == "a" * 7000 + "bc"


def test_huge_changes_stay_within_limits_in_a_rerun_summary_and_a_reply() -> None:
    ports = [f"0.0.0.0:{p}" for p in range(1024, 5024)]
    changes = Changes(since=datetime(2026, 1, 1, tzinfo=UTC), previous_run_id=6,
                      areas={"sockets": {"opened": ports}})  # fmt: skip
    rerun = blocks.report_messages(report(changes=changes), rerun=True)
    within_limits(rerun[0])
    assert "0.0.0.0:1024" in json.dumps(rerun[0]) and "…" in json.dumps(
        rerun[0], ensure_ascii=False
    )
    first = blocks.report_messages(report(changes=changes))
    [file] = [m["file"] for m in first if "file" in m]  # the changes reply, whole, as a file
    assert file["filename"] == "triage-web-1-changes.txt" and "0.0.0.0:5023" in file["content"]
