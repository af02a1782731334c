"""Report -> Block Kit messages (pure): a summary for the channel, details for its thread.

Slack's limits are respected by construction, never by silent cuts: a section holds at most
3,000 characters, a message at most 50 blocks and 40,000 characters; text that would not fit
continues in another thread message, and an area longer than AREA_INLINE_CHARS goes into a
file (posted with files_upload_v2) with its first lines shown inline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import groupby
from typing import Any

from bot.render.addresses import triage_buttons
from bot.render.summaries import summarize
from commands.report import Report
from ssh_probes.model import Finding
from ssh_probes.redact import redact

Block = dict[str, Any]
Message = dict[str, Any]  # {"text", "blocks"} or {"file": {"filename", "title", "content"}}

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_MESSAGE_CHARS = 40_000
MAX_HEADER_CHARS = 150
AREA_INLINE_CHARS = 6000
TOP_FINDINGS = 5
ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":blue_circle:"}
STATUS_ICON = {"ok": ":white_check_mark:", "partial": ":warning:", "failed": ":x:"}


def escape(text: str) -> str:
    """Slack mrkdwn escaping (&, <, >) after redaction: user-visible text is never raw."""
    return redact(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(text: str) -> Block:
    """One mrkdwn section; the caller keeps `text` within MAX_SECTION_CHARS."""
    assert len(text) <= MAX_SECTION_CHARS
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    """A small grey line."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:MAX_SECTION_CHARS]}]}


def chunks(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Split on line boundaries into pieces of at most `limit` characters (long lines too)."""
    out: list[str] = []
    current = ""
    for line in text.splitlines() or [""]:
        while len(line) > limit:
            if current:
                out.append(current)
                current = ""
            out.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            out.append(current)
            current = line
        else:
            current = candidate
    if current or not out:
        out.append(current)
    return out


def code_sections(title: str, lines: Sequence[str]) -> list[Block]:
    """A bold title then the lines in code blocks, split to fit sections."""
    fence = 8  # "```\n" + "\n```"
    body = "\n".join(escape(line) for line in lines)
    pieces = chunks(body, MAX_SECTION_CHARS - fence - len(title) - 1)
    blocks = [section(f"{title}\n```{pieces[0]}```")]
    blocks += [section(f"```{p}```") for p in pieces[1:]]
    return blocks


def _chars(block: Block) -> int:
    text = block.get("text")
    if isinstance(text, dict):
        return len(str(text.get("text", "")))
    return sum(len(str(e.get("text", ""))) for e in block.get("elements", []))


def pack(text: str, blocks: Iterable[Block]) -> list[Message]:
    """Blocks -> as many messages as needed, each within MAX_BLOCKS and MAX_MESSAGE_CHARS."""
    messages: list[Message] = []
    current: list[Block] = []
    size = 0
    for block in blocks:
        n = _chars(block)
        if current and (len(current) == MAX_BLOCKS or size + n > MAX_MESSAGE_CHARS):
            messages.append({"text": text, "blocks": current})
            current, size = [], 0
        current.append(block)
        size += n
    if current or not messages:
        messages.append({"text": text, "blocks": current})
    if len(messages) > 1:
        for i, message in enumerate(messages, 1):
            message["text"] = f"{text} ({i}/{len(messages)})"
    return messages


def _finding_text(f: Finding) -> str:
    text = f"{ICON[f.severity]} *{f.severity.upper()}* `{f.code}` {escape(f.title)}"
    if f.suggestion:
        text += f"\n>*fix:* {escape(f.suggestion)}"
    return chunks(text)[0] if len(text) > MAX_SECTION_CHARS else text


def fallback_text(report: Report) -> str:
    """The notification text: `triage web-1: partial, 1 critical, 2 warning`."""
    counts = {s: sum(f.severity == s for f in report.findings) for s in ("critical", "warning")}
    found = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no warning or critical"
    return f"{report.command} {report.target}: {report.status}, {found}"


def changes_text(report: Report) -> str | None:
    """What changed since the previous run, or None for a first run."""
    ch = report.changes
    if ch is None or ch.since is None:
        return None
    parts = [
        f"since run {ch.previous_run_id} ({ch.since:%Y-%m-%d %H:%M:%S} UTC):",
        "*new* " + (", ".join(f"`{c}`" for c in ch.new) or "none"),
        "*resolved* " + (", ".join(f"`{c}`" for c in ch.resolved) or "none"),
        "*still* " + (", ".join(f"`{c}`" for c in ch.still) or "none"),
    ]
    return "  ".join(parts)


def buttons(report: Report, triage_hosts: Sequence[str] = ()) -> Block:
    """Re-run, Raw output, and Triage HOST for registered hosts a dig/http report saw."""
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": "rerun",
            "text": {"type": "plain_text", "text": "Re-run"},
            "value": f"{report.command} {report.target}"[:2000],
        }
    ]
    if report.run_id is not None:
        elements.append(
            {
                "type": "button",
                "action_id": "raw_output",
                "text": {"type": "plain_text", "text": "Raw output"},
                "value": f"{report.command}:{report.run_id}",
            }
        )
    elements += triage_buttons(triage_hosts)
    return {"type": "actions", "block_id": "report_actions", "elements": elements}


def summary(report: Report, *, rerun: bool = False, triage_hosts: Sequence[str] = ()) -> Message:
    """The channel message: status, target, duration, top findings with fixes, buttons."""
    title = f"{report.command} {report.target}"
    head = f"{STATUS_ICON[report.status]} {'Re-run: ' if rerun else ''}{title}"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": head[:MAX_HEADER_CHARS]}}
    ]
    meta = f"*{report.status}* in {report.duration_ms} ms"
    if report.run_id is not None:
        meta += f"  ·  run {report.run_id}"
    blocks.append(context(meta))
    changed = changes_text(report)
    moved = report.changes is not None and bool(report.changes.new or report.changes.resolved)
    if changed and (rerun or moved):
        blocks.append(section(chunks(changed)[0]))
    serious = [f for f in report.findings if f.severity != "info"]
    if not serious:
        blocks.append(section(":large_green_circle: No warning or critical findings."))
    blocks += [section(_finding_text(f)) for f in report.findings[:TOP_FINDINGS]]
    if len(report.findings) > TOP_FINDINGS:
        blocks.append(context(f"and {len(report.findings) - TOP_FINDINGS} more in the thread"))
    blocks.append(buttons(report, triage_hosts))
    return {"text": fallback_text(report), "blocks": blocks}


def _file_name(report: Report, area: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in f"{report.target}-{area}")
    return f"{report.command}-{safe}.txt"


def details(report: Report) -> list[Message]:
    """Thread replies: remaining findings, then one message per area (files for long ones)."""
    out: list[Message] = []
    rest = report.findings[TOP_FINDINGS:]
    if rest:
        out += pack(f"{report.target}: more findings", (section(_finding_text(f)) for f in rest))
    results = sorted(report.results, key=lambda r: (r.area, r.probe))
    for area, group in groupby(results, key=lambda r: r.area or "other"):
        lines: list[str] = []
        blocks: list[Block] = [section(f"*{escape(area)}*")]
        for result in group:
            mark = "ok" if result.ok else "FAILED"
            probe_lines = summarize(result)
            lines += [f"{result.probe} ({mark}, {result.duration_ms} ms)", *probe_lines, ""]
            title = f"*{escape(result.probe)}* ({mark}, {result.duration_ms} ms)"
            blocks += code_sections(title, probe_lines)
        full = "\n".join(lines)
        if len(full) > AREA_INLINE_CHARS:
            name = _file_name(report, area)
            shown = code_sections(f"*{escape(area)}*", chunks(full, 2000)[0].splitlines())
            shown.append(context(f"{len(full):,} characters in all: the full text is in `{name}`"))
            out += pack(f"{report.target}: {area}", shown)
            file = {"filename": name, "title": f"{report.target} {area}", "content": redact(full)}
            out.append({"file": file})
        else:
            out += pack(f"{report.target}: {area}", blocks)
    return out


def report_messages(
    report: Report, *, rerun: bool = False, triage_hosts: Sequence[str] = ()
) -> list[Message]:
    """Everything to post for a report: the summary first, then its thread replies."""
    return [summary(report, rerun=rerun, triage_hosts=triage_hosts), *details(report)]


def running(command: str, target: str, what: str) -> Message:
    """The first, partial post of a slow run; chat.update replaces it with the summary."""
    text = f":hourglass_flowing_sand: {command} {target}: running {what}"
    return {"text": redact(text), "blocks": [section(escape(text))]}


def raw_text(outputs: Sequence[tuple[str, str, str]]) -> str:
    """A stored run's raw outputs as one text (already redacted and capped when stored)."""
    parts = [f"== {probe} on {host} ==\n{raw.rstrip()}" for probe, host, raw in outputs]
    return redact("\n\n".join(parts)) or "(no raw output stored for this run)"
