"""Report -> Rich renderables for a terminal (the console and the CLI)."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from bot.render.summaries import summarize
from commands.report import Report

STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
STATUS = {"ok": "green", "partial": "yellow", "failed": "bold red"}


def headline(report: Report) -> Text:
    """`triage web-1  ok  312 ms  run 7`."""
    text = Text()
    text.append(f"{report.command} {report.target}  ", style="bold")
    text.append(report.status, style=STATUS[report.status])
    text.append(f"  {report.duration_ms} ms")
    if report.run_id is not None:
        text.append(f"  run {report.run_id}", style="dim")
    return text


def area_lines(areas: dict[str, Any]) -> list[str]:
    """Short phrases for per-area changes: ports opened/closed, disk use moved."""
    out = []
    if "status" in areas:
        out.append(f"status {areas['status']['before']} -> {areas['status']['now']}")
    sockets = areas.get("sockets", {})
    if sockets.get("opened"):
        out.append("ports opened " + ", ".join(sockets["opened"]))
    if sockets.get("closed"):
        out.append("ports closed " + ", ".join(sockets["closed"]))
    for mount, delta in areas.get("disk", {}).get("changed", {}).items():
        for key, label in (("use_pct", "used"), ("iuse_pct", "inodes")):
            if key in delta:
                d = delta[key]
                out.append(f"{mount} {label} {d['before']}% -> {d['now']}% ({d['delta']:+d})")
    return out


def changes_line(report: Report) -> Text | None:
    """What changed since the previous run, or None for a first run."""
    ch = report.changes
    if ch is None or ch.since is None:
        return None
    parts = [f"since run {ch.previous_run_id} at {ch.since:%Y-%m-%d %H:%M:%S} UTC:"]
    parts.append("new " + (", ".join(ch.new) or "none"))
    parts.append("resolved " + (", ".join(ch.resolved) or "none"))
    if ch.still:
        parts.append("still " + ", ".join(ch.still))
    parts.extend(area_lines(ch.areas))
    return Text("  ".join(parts), style="dim")


def render(report: Report) -> RenderableType:
    """The whole report: headline, findings with fixes, then one section per area."""
    parts: list[RenderableType] = [headline(report)]
    changed = changes_line(report)
    if changed is not None:
        parts.append(changed)
    serious = [f for f in report.findings if f.severity != "info"]
    if not serious:
        parts.append(Text("No warning or critical findings.", style="green"))
    for f in report.findings:
        line = Text()
        line.append(f"{f.severity.upper():8} ", style=STYLE[f.severity])
        line.append(f"{f.code}  ", style="bold")
        line.append(f.title)
        parts.append(line)
        if f.suggestion:
            parts.append(Text(f"         fix: {f.suggestion}", style="dim"))
    results = sorted(report.results, key=lambda r: (r.area, r.probe))
    for area, group in groupby(results, key=lambda r: r.area):
        parts.append(Text(f"\n{area}", style="bold underline"))
        for result in group:
            mark = "ok" if result.ok else "FAILED"
            parts.append(Text(f"  {result.probe} ({mark}, {result.duration_ms} ms)", style="bold"))
            parts.extend(Text(f"    {text}") for text in summarize(result))
    return Group(*parts)
