"""Golden Block Kit and console text for a healthy, a warning and a critical report.

The reports come from real captured probe output through the real rules
(tests/fixtures/reports.py). The expected messages are in tests/fixtures/blocks/; after a
deliberate change, rewrite them with `TRIAGEBOT_WRITE_GOLDENS=1 pytest THIS_FILE` and read
the diff before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from slack_sdk.models.blocks import Block

from bot.render import blocks, gist
from bot.render.terminal import render
from tests.fixtures.reports import CASES

GOLDEN = Path(__file__).parents[1] / "fixtures" / "blocks"
WRITE = os.environ.get("TRIAGEBOT_WRITE_GOLDENS") == "1"
MAX_TEXT_CHARS = 40_000  # chat.postMessage's text, and a message's blocks together


def matches(path: Path, actual: str) -> None:
    if WRITE:
        path.write_text(actual)
    assert actual == path.read_text(), f"{path.name} differs from the rendering"


def console_text(case: str, width: int = 100) -> str:
    console = Console(record=True, width=width, color_system=None, force_terminal=False)
    console.print(render(CASES[case]()))
    return console.export_text()


def texts(block: dict[str, Any]) -> list[str]:
    if isinstance(block.get("text"), dict):
        return [block["text"]["text"]]
    return [str(e.get("text", "")) for e in block.get("elements", []) if "text" in e]


@pytest.mark.parametrize("case", CASES)
def test_block_kit_golden(case: str) -> None:
    messages = blocks.report_messages(CASES[case]())
    matches(GOLDEN / f"{case}.json", json.dumps(messages, indent=1, ensure_ascii=False) + "\n")


@pytest.mark.parametrize("case", CASES)
def test_console_golden(case: str) -> None:
    matches(GOLDEN / f"{case}.console.txt", console_text(case))


@pytest.mark.parametrize("case", CASES)
def test_goldens_are_valid_block_kit_within_slack_limits(case: str) -> None:
    expected = json.loads((GOLDEN / f"{case}.json").read_text())
    assert 2 <= len(expected) <= 4  # the summary and at most three replies
    for message in expected:
        assert "file" not in message  # these reports fit: no reply became a file
        assert 0 < len(message["text"]) <= MAX_TEXT_CHARS
        assert 0 < len(message["blocks"]) <= 50
        assert sum(len(t) for b in message["blocks"] for t in texts(b)) <= MAX_TEXT_CHARS
        for raw in message["blocks"]:
            block = Block.parse(raw)
            assert block is not None, raw
            block.validate_json()  # raises on a section over 3,000 chars, a header over 150...
            assert block.to_dict() == raw  # nothing slack_sdk does not know about


@pytest.mark.parametrize("case", CASES)
def test_console_says_what_slack_says_in_the_same_order(case: str) -> None:
    report = CASES[case]()
    lines = console_text(case, width=400).splitlines()
    summary, findings = blocks.report_messages(report)[:2]
    assert lines[1] == gist.first_line(report)
    assert summary["blocks"][1]["text"]["text"] == f"*{gist.first_line(report)}*"
    info = gist.info_line(report)
    assert info in lines
    assert any(info in t for b in summary["blocks"] for t in texts(b))
    # Findings in the same order: the console's severity column, Slack's findings reply.
    console_order = [
        ln.split()[0] for ln in lines if ln.split()[:1] in (["CRITICAL"], ["WARNING"], ["INFO"])
    ]
    slack_order = [
        b["text"]["text"].split("*")[1] for b in findings["blocks"] if b["type"] == "section"
    ]
    assert console_order == slack_order == [f.severity.upper() for f in report.findings]
