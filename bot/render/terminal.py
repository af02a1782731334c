"""Report -> Rich renderables for a terminal (the console and the CLI).

The same words as in Slack (bot.render.gist): the first line, the findings in the same
order, info findings collapsed into one line up top. A terminal has no thread, so every
serious finding is shown with its evidence, then the facts in the same groups, then each
info finding with its fix, then what changed.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from bot.render import gist
from bot.render.facts import fact_groups
from commands.report import Report
from ssh_probes.model import Finding
from ssh_probes.redact import redact

STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan", None: "green"}
STATUS = {"ok": "green", "partial": "yellow", "failed": "bold red"}
INDENT = " " * 9


def headline(report: Report) -> Text:
    """`triage web-1  ok  312 ms  run 7`."""
    text = Text()
    text.append(f"{report.command} {report.target}  ", style="bold")
    text.append(report.status, style=STATUS[report.status])
    text.append(f"  {report.duration_ms} ms")
    if report.run_id is not None:
        text.append(f"  run {report.run_id}", style="dim")
    hidden = gist.hidden_line(report)
    if hidden:
        text.append(f"  {hidden}", style="dim")
    return text


def line(text: str, style: str = "") -> Text:
    """One line as printed: redacted like everything Slack gets (evidence is stored raw)."""
    return Text(redact(text), style=style)


def finding(f: Finding, evidence: bool = True) -> list[Text]:
    """A finding: severity, catalog title and its own, then evidence, fix and help."""
    head = Text()
    head.append(f"{f.severity.upper():8} ", style=STYLE[f.severity])
    head.append(f"{gist.title_of(f.code)}", style="bold")
    head.append(redact(f" — {f.title}"))
    out = [head]
    shown = gist.evidence_text(f.evidence) if evidence else ""
    if shown:
        out.append(line(f"{INDENT}evidence: {shown}", "dim"))
    if f.suggestion:
        out.append(line(f"{INDENT}fix: {f.suggestion}"))
    out.append(line(f"{INDENT}{f.code}: {gist.help_hint(f.code, slash=False)}", "dim"))
    return out


def render(report: Report) -> RenderableType:
    """The whole report: headline, what matters, findings, facts by group, infos, changes."""
    parts: list[RenderableType] = [headline(report)]
    parts.append(line(gist.first_line(report), STYLE[gist.worst(report)]))
    for f in gist.serious(report):
        parts.extend(finding(f))
    info = gist.info_line(report)
    if info is not None:
        parts.append(line(info, "dim"))
    changed = gist.changes_line(report)
    if changed is not None:
        parts.append(line(f"changed {changed}", "dim"))
    for group in fact_groups(report):
        parts.append(Text(f"\n{group.title}", style="bold underline"))
        parts.extend(line(f"  {text}") for text in group.lines)
    if gist.infos(report):
        parts.append(Text("\nInfo", style="bold underline"))
        for f in gist.infos(report):
            parts.extend(finding(f, evidence=False))
    if gist.changed(report):
        parts.append(Text("\nWhat changed", style="bold underline"))
        parts.extend(line(f"  {text}") for text in gist.changes_detail(report))
    return Group(*parts)
