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
    return text


def finding(f: Finding, evidence: bool = True) -> list[Text]:
    """A finding: severity, catalog title and its own, then evidence, fix and help."""
    line = Text()
    line.append(f"{f.severity.upper():8} ", style=STYLE[f.severity])
    line.append(f"{gist.title_of(f.code)}", style="bold")
    line.append(f" — {f.title}")
    out = [line]
    shown = gist.evidence_text(f.evidence) if evidence else ""
    if shown:
        out.append(Text(f"{INDENT}evidence: {shown}", style="dim"))
    if f.suggestion:
        out.append(Text(f"{INDENT}fix: {f.suggestion}"))
    out.append(Text(f"{INDENT}{f.code}: {gist.help_hint(f.code, slash=False)}", style="dim"))
    return out


def render(report: Report) -> RenderableType:
    """The whole report: headline, what matters, findings, facts by group, infos, changes."""
    parts: list[RenderableType] = [headline(report)]
    parts.append(Text(gist.first_line(report), style=STYLE[gist.worst(report)]))
    for f in gist.serious(report):
        parts.extend(finding(f))
    info = gist.info_line(report)
    if info is not None:
        parts.append(Text(info, style="dim"))
    line = gist.changes_line(report)
    if line is not None:
        parts.append(Text(f"changed {line}", style="dim"))
    for group in fact_groups(report):
        parts.append(Text(f"\n{group.title}", style="bold underline"))
        parts.extend(Text(f"  {text}") for text in group.lines)
    if gist.infos(report):
        parts.append(Text("\nInfo", style="bold underline"))
        for f in gist.infos(report):
            parts.extend(finding(f, evidence=False))
    if gist.changed(report):
        parts.append(Text("\nWhat changed", style="bold underline"))
        parts.extend(Text(f"  {text}") for text in gist.changes_detail(report))
    return Group(*parts)
