"""Report -> Block Kit messages (pure): a summary for the channel, details for its thread.

The summary says what matters first (bot.render.gist): a mark and a first line that follow
the worst severity, at most three findings with their fixes, one line for the rest. The
thread gets at most three replies (bot.render.thread). Slack's limits hold by construction
(bot.render.kit): nothing is cut silently; what does not fit a reply goes into a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.render import gist
from bot.render.addresses import triage_buttons
from bot.render.kit import (
    MARK,
    MAX_BLOCKS,
    MAX_HEADER_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_SECTION_CHARS,
    Block,
    Message,
    chars,
    chunks,
    clip,
    code_sections,
    context,
    escape,
    pack,
    section,
)
from bot.render.thread import finding_code, replies
from commands.report import Report
from ssh_probes.model import Finding
from ssh_probes.redact import redact

__all__ = [
    "MAX_BLOCKS", "MAX_MESSAGE_CHARS", "MAX_SECTION_CHARS", "Block", "Message", "changes_text",
    "chars", "chunks", "code_sections", "context", "escape", "pack", "report_messages",
    "section", "summary",
]  # fmt: skip

TITLE_CHARS = 600  # a finding's own title in the summary; the thread has it whole
FIX_CHARS = 1500


def buttons(report: Report, triage_hosts: Sequence[str] = ()) -> Block | None:
    """Re-run, Raw output, and Triage HOST for registered hosts a dig/http report saw.

    Each carries the run id only: a click is checked against the stored run (bot.slack.buttons).
    A report that was not stored (a digest or watch answer) has none.
    """
    if report.run_id is None:
        return None
    value = str(report.run_id)
    elements: list[dict[str, Any]] = [
        {"type": "button", "action_id": "rerun",
         "text": {"type": "plain_text", "text": "Re-run"}, "value": value},
        {"type": "button", "action_id": "raw_output",
         "text": {"type": "plain_text", "text": "Raw output"}, "value": value},
    ]  # fmt: skip
    elements += triage_buttons(triage_hosts, report.run_id)
    return {"type": "actions", "block_id": "report_actions", "elements": elements}


def top_finding(f: Finding) -> list[Block]:
    """A summary finding: what and its fix, then its code pointing at the catalog."""
    text = f"{MARK[f.severity]} *{escape(gist.title_of(f.code))}* — "
    text += escape(clip(f.title, TITLE_CHARS))
    if f.suggestion:
        text += f"\n>*fix:* {escape(clip(f.suggestion, FIX_CHARS))}"
    return [section(clip(text, MAX_SECTION_CHARS)), finding_code(f)]


def changes_text(report: Report) -> str | None:
    """What changed since the previous run, one mrkdwn line, or None for a first run."""
    return gist.changes_line(report, lambda c: f"`{c}`")


def fallback_text(report: Report) -> str:
    """The notification text: `triage web-1: 1 warning: CPU saturated on web-1`."""
    return redact(f"{report.command} {report.target}: {gist.first_line(report)}")


def summary(report: Report, *, rerun: bool = False, triage_hosts: Sequence[str] = ()) -> Message:
    """The channel message: mark, what matters, top findings with fixes, the rest, buttons."""
    title = f"{report.command} {report.target}"
    head = f"{MARK[gist.worst(report)]} {'Re-run: ' if rerun else ''}{title}"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(head, MAX_HEADER_CHARS)}},
        section(clip(f"*{escape(gist.first_line(report))}*", MAX_SECTION_CHARS)),
    ]
    meta = f"*{report.status}* in {report.duration_ms} ms"
    if report.run_id is not None:
        meta += f"  ·  run {report.run_id}"
    blocks.append(context(meta))
    hidden = gist.hidden_line(report)
    if hidden:
        blocks.append(context(f":lock: {hidden}"))
    said = gist.answer(report)[1:]
    if said:
        blocks.append(section(clip(escape("\n".join(said)), MAX_SECTION_CHARS)))
    for f in gist.top(report):
        blocks += top_finding(f)
    rest = gist.rest_line(report)
    if rest:
        blocks.append(context(escape(rest)))
    if rerun and gist.changed(report):
        # A re-run answers in the thread: what changed is said here, not in a fourth reply.
        lines = gist.changes_detail(report, lambda c: f"`{c}`")
        text = f"*Changed* {escape(chr(10).join(lines))}"
        blocks.append(section(clip(text, MAX_SECTION_CHARS)))  # --json has every port
    else:
        line = gist.changes_line(report, lambda c: f"`{c}`")
        if line:
            blocks.append(context(f"*changed* {escape(line)}"))
    actions = buttons(report, triage_hosts)
    if actions is not None:
        blocks.append(actions)
    return {"text": fallback_text(report), "blocks": blocks}


def report_messages(
    report: Report, *, rerun: bool = False, triage_hosts: Sequence[str] = ()
) -> list[Message]:
    """Everything to post for a report: the summary first, then at most three replies."""
    head = summary(report, rerun=rerun, triage_hosts=triage_hosts)
    return [head, *replies(report, rerun=rerun)]


def running(command: str, target: str, what: str) -> Message:
    """The first, partial post of a slow run; chat.update replaces it with the summary."""
    text = f":hourglass_flowing_sand: {command} {target}: running {what}"
    return {"text": redact(text), "blocks": [section(escape(text))]}


def redacted(value: Any) -> Any:
    """Every string in a message (blocks, fallback text, file content) through redaction;
    binary content (base64) is left as it is."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redacted(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k == "content_b64" else redacted(v) for k, v in value.items()}
    return value


def raw_text(outputs: Sequence[tuple[str, str, str]]) -> str:
    """A stored run's raw outputs as one text (already redacted and capped when stored)."""
    parts = [f"== {probe} on {host} ==\n{raw.rstrip()}" for probe, host, raw in outputs]
    return redact("\n\n".join(parts)) or "(no raw output stored for this run)"
