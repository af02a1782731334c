"""The thread under a report's summary: at most three replies (pure).

1. every finding with its evidence and fix (when there is a finding);
2. the facts, compact, in the groups an engineer reads together (bot.render.facts);
3. what changed since the previous run (when something did; a re-run's summary says it).

Each reply is one message within Slack's limits. A reply that does not fit whole (too many
blocks or characters, a group of facts longer than GROUP_LINES lines, a line longer than
LINE_CHARS) is posted as a file with its full text instead, under a short comment: nothing
is cut silently, and a run never posts more than three replies.
"""

from __future__ import annotations

from bot.render import gist
from bot.render.facts import fact_groups
from bot.render.kit import (
    MARK,
    MAX_SECTION_CHARS,
    Block,
    Message,
    clip,
    code_sections,
    context,
    escape,
    fits,
    section,
)
from commands.report import Report
from ssh_probes.model import Finding
from ssh_probes.redact import redact

GROUP_LINES = 40
LINE_CHARS = 1000  # longer is a dump, not a fact to read in the thread
COMMENT_CHARS = 2800  # the comment above a file: a glance, the file has the rest
FULL_EVIDENCE = 20_000


def finding_code(f: Finding) -> Block:
    """The finding's code as a way to its catalog entry."""
    return context(f"`{f.code}` · what it means, what to do: `{gist.help_hint(f.code)}`")


def finding_text(f: Finding) -> str:
    """A finding in full for the thread: what, why, evidence, fix (may exceed a section)."""
    head = f"{MARK[f.severity]} *{f.severity.upper()}* · *{escape(gist.title_of(f.code))}*"
    parts = [f"{head} — {escape(f.title)}"]
    if f.detail:
        parts.append(escape(f.detail))
    evidence = gist.evidence_text(f.evidence)
    if evidence:
        parts.append(f"*evidence:* {escape(evidence)}")
    if f.suggestion:
        parts.append(f">*fix:* {escape(f.suggestion)}")
    return "\n".join(parts)


def finding_plain(f: Finding) -> str:
    """A finding in full as plain text (for a file)."""
    lines = [f"{f.severity.upper()} {f.code}: {f.title}"]
    if f.detail:
        lines.append(f"  {f.detail}")
    evidence = gist.evidence_text(f.evidence, FULL_EVIDENCE)
    if evidence:
        lines.append(f"  evidence: {evidence}")
    if f.suggestion:
        lines.append(f"  fix: {f.suggestion}")
    lines.append(f"  more: {gist.help_hint(f.code)}")
    return "\n".join(lines)


def _file_name(report: Report, kind: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in report.target)
    return f"{report.command}-{safe}-{kind}.txt"


def as_file(report: Report, kind: str, content: str, glance: list[str], why: str) -> Message:
    """A reply too long for a message: its full text as a file under a short comment."""
    comment: list[str] = []
    for i, line in enumerate(glance):
        if sum(len(c) + 1 for c in comment) + len(line) > COMMENT_CHARS:
            comment.append(f"… {len(glance) - i} more lines")
            break
        comment.append(line)
    name = _file_name(report, kind)
    comment.append(f"_{why}: the whole text is in `{name}`_")
    return {
        "file": {
            "filename": name,
            "title": f"{report.command} {report.target}: {kind}",
            "content": redact(content),
            "initial_comment": "\n".join(comment),
        }
    }


def findings_reply(report: Report) -> Message:
    """Reply 1: every finding, most severe first, with evidence, fix and code."""
    findings = report.findings
    text = f"{report.command} {report.target}: findings with evidence and fixes"
    blocks: list[Block] = []
    whole = True
    for f in findings:
        body = finding_text(f)
        whole = whole and len(body) <= MAX_SECTION_CHARS
        blocks += [section(clip(body, MAX_SECTION_CHARS)), finding_code(f)]
    if whole and fits(blocks):
        return {"text": redact(text), "blocks": blocks}
    glance = [
        f"{MARK[f.severity]} *{f.severity.upper()}* `{f.code}` {escape(clip(f.title, 160))}"
        for f in findings
    ]
    content = "\n\n".join(finding_plain(f) for f in findings)
    why = f"{len(findings)} findings, too long for a message"
    return as_file(report, "findings", content, glance, why)


def facts_reply(report: Report) -> Message:
    """Reply 2: the facts, compact, related areas together."""
    groups = fact_groups(report)
    text = f"{report.command} {report.target}: facts"
    blocks = [b for g in groups for b in code_sections(f"*{escape(g.title)}*", g.lines)]
    short = all(len(g.lines) <= GROUP_LINES and all(len(x) <= LINE_CHARS for x in g.lines)
                for g in groups)  # fmt: skip
    if short and fits(blocks):
        return {"text": redact(text), "blocks": blocks}
    glance = []
    for g in groups:
        first = g.lines[0] if g.lines else ""
        more = f" (+{len(g.lines) - 1} lines)" if len(g.lines) > 1 else ""
        glance.append(f"*{escape(g.title)}*: {escape(clip(first, 160))}{more}")
    content = "\n\n".join(f"== {g.title} ==\n" + "\n".join(g.lines) for g in groups)
    return as_file(report, "facts", content, glance, "Too long for a message")


def changes_reply(report: Report) -> Message:
    """Reply 3: what changed since the previous run, findings and areas."""
    lines = gist.changes_detail(report, lambda c: f"`{c}`")
    text = f"{report.command} {report.target}: what changed"
    body = f"*What changed* {escape(chr(10).join(lines))}"
    if len(body) <= MAX_SECTION_CHARS:
        return {"text": redact(text), "blocks": [section(body)]}
    glance = [escape(x) for x in lines[:3]]
    return as_file(report, "changes", "\n".join(lines), glance, "Too long for a message")


def replies(report: Report, *, rerun: bool = False) -> list[Message]:
    """The thread replies of a report: findings, facts, changes; at most three."""
    out = []
    if report.findings:
        out.append(findings_reply(report))
    said = gist.answer(report)
    if report.results and (not said or len(escape("\n".join(said))) > MAX_SECTION_CHARS):
        out.append(facts_reply(report))  # a short text answer is whole in the summary
    if gist.changed(report) and not rerun:
        out.append(changes_reply(report))
    return out
