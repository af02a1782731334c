"""A report's facts grouped the way an engineer reads them together (pure).

CPU with the processes using it and memory, listening sockets with connections, services
with logs: one group each, in this order; an area not listed keeps its own group.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.render.summaries import summarize
from commands.report import Report
from ssh_probes.model import ProbeResult

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("CPU, memory and processes", ("cpu", "processes", "memory")),
    ("Disk", ("disk",)),
    ("Kernel and limits", ("kernel",)),
    ("Network", ("network",)),
    ("Docker", ("docker",)),
    ("Services and logs", ("services", "logs")),
    ("DNS", ("dns",)),
    ("HTTP", ("http",)),
)


@dataclass(frozen=True)
class Group:
    """One group of facts: a title and its lines, uncut."""

    title: str
    lines: tuple[str, ...]


def probe_lines(result: ProbeResult, several_hosts: bool = False) -> list[str]:
    """A probe's lines; follow-ups (`disk_usage:/var`) and failures say which probe."""
    lines = summarize(result)
    who = f"{result.host} " if several_hosts else ""
    if not result.ok:
        return [f"{who}{result.probe}: {line}" for line in lines]
    if ":" in result.probe or several_hosts:
        return [f"{who}{result.probe}:", *(f"  {line}" for line in lines)]
    return lines


def _place(area: str) -> tuple[int, int, str]:
    for i, (_title, areas) in enumerate(GROUPS):
        if area in areas:
            return i, areas.index(area), ""
    return len(GROUPS), 0, area or "other"


def fact_groups(report: Report) -> list[Group]:
    """The report's probe results as groups of lines, related areas together."""
    several = len({r.host for r in report.results}) > 1
    keyed: dict[tuple[int, str], list[tuple[int, str, ProbeResult]]] = {}
    for result in report.results:
        group, order, own = _place(result.area)
        keyed.setdefault((group, own), []).append((order, result.probe, result))
    out = []
    for (group, own), members in sorted(keyed.items()):
        title = GROUPS[group][0] if group < len(GROUPS) else own.capitalize()
        lines = [
            line
            for _o, _p, result in sorted(members, key=lambda m: (m[0], m[1]))
            for line in probe_lines(result, several)
        ]
        out.append(Group(title, tuple(lines)))
    return out
