"""What a report says to a person, in words shared by Slack and the terminal (pure).

The mark follows the worst severity found, never the report's status: a report with a
warning never looks fine. The first line names what matters; at most TOP serious findings
come with their fixes; info findings (a source the host lacks) collapse into one line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from commands.knowledge.catalog import entry
from commands.report import Report
from ssh_probes.model import Finding

Worst = Literal["critical", "warning"] | None

TOP = 3
EVIDENCE_CHARS = 600
SERIOUS = ("critical", "warning")
# What a missing source is called in the one-line collapse ("no Docker daemon").
SOURCES = {
    "docker": "Docker daemon",
    "services": "systemd",
    "journal": "journal",
    "logs": "journal",
    "kernel": "kernel log",
    "stat": "/proc/stat",
    "resolve": "resolve label",
}


def hidden_line(report: Report) -> str | None:
    """`3 secrets hidden`: redaction is said, so nobody takes a [REDACTED] for the value."""
    n = report.redacted
    return f"{n} secret{'s' if n != 1 else ''} hidden (shown as [REDACTED])" if n else None


def serious(report: Report) -> list[Finding]:
    """Critical and warning findings, most severe first (the report's order)."""
    return [f for f in report.findings if f.severity in SERIOUS]


def infos(report: Report) -> list[Finding]:
    """Info findings (a source the host lacks, a round-robin name...)."""
    return [f for f in report.findings if f.severity not in SERIOUS]


def worst(report: Report) -> Worst:
    """The worst severity found; a run in which nothing could be checked is a warning."""
    found = {f.severity for f in report.findings}
    if "critical" in found:
        return "critical"
    if "warning" in found or report.status == "failed":
        return "warning"
    return None


def title_of(code: str) -> str:
    """The catalog's title for a code ("CPU saturated"), or the code itself."""
    known = entry(code)
    return known.title if known else code


def help_hint(code: str, slash: bool = True) -> str:
    """How to read the catalog entry of `code`, in Slack or in a terminal."""
    return f"/triagebot help {code}" if slash else f"triagebot help {code}"


def _counted(findings: Iterable[Finding], more: str = "") -> str:
    """`2 critical, 1 warning` (or `1 more critical, 3 more warnings`)."""
    listed = list(findings)
    parts = []
    for severity in SERIOUS:
        n = sum(f.severity == severity for f in listed)
        if n:
            noun = severity if severity == "critical" or n == 1 else f"{severity}s"
            parts.append(f"{n} {more}{noun}")
    return ", ".join(parts)


def where(report: Report) -> str:
    """`on web-1` for a host, `for api.example.com` for a name or URL."""
    return f"{'on' if report.command == 'triage' else 'for'} {report.target}"


def answer(report: Report) -> list[str]:
    """The lines of a text answer (`/digest list`, `/dig watch`), or [] for a check."""
    if report.findings or not report.results:
        return []
    if any(r.probe != "digest" or not r.ok for r in report.results):
        return []
    return [str(line) for r in report.results for line in r.facts.get("lines", [])]


def first_line(report: Report) -> str:
    """What matters, in words: `1 warning: CPU saturated on web-1`."""
    said = answer(report)
    if said:
        return said[0]
    found = serious(report)
    failed = sum(not r.ok for r in report.results)
    if found:
        titles = list(dict.fromkeys(title_of(f.code) for f in found))
        named = ", ".join(titles[:2]) + (f" and {len(titles) - 2} more" if len(titles) > 2 else "")
        line = f"{_counted(found)}: {named} {where(report)}"
    elif report.status == "failed":
        ran = len(report.results)
        why = f"all {ran} probes failed" if ran else "no probe ran"
        return f"Nothing could be checked {where(report)}: {why}"
    else:
        line = f"No warning or critical findings {where(report)}"
    if failed:
        line += f" ({failed} of {len(report.results)} probes failed)"
    return line


def top(report: Report) -> list[Finding]:
    """The findings the summary shows with their fixes: at most TOP, serious only."""
    return serious(report)[:TOP]


def info_label(f: Finding) -> str:
    """A few words for an info finding: `no Docker daemon`, `/var/log/app.log: missing`."""
    if f.code != "source.unavailable":
        return title_of(f.code)
    source = str(f.evidence.get("source") or f.evidence.get("probe") or "")
    why = str(f.evidence.get("why") or "")
    if source.startswith("/"):
        return f"{source}: {why}" if why else source
    noun = SOURCES.get(source, source or "source")
    return f"{noun}: permission denied" if "permission" in why.lower() else f"no {noun}"


def info_line(report: Report) -> str | None:
    """The info findings collapsed: `also: 2 info — no Docker daemon, no journal`."""
    quiet = infos(report)
    if not quiet:
        return None
    labels = list(dict.fromkeys(info_label(f) for f in quiet))
    shown = ", ".join(labels[:4]) + (", ..." if len(labels) > 4 else "")
    return f"also: {len(quiet)} info — {shown}"


def rest_line(report: Report) -> str | None:
    """One line for what the summary leaves out: more serious findings, then the infos."""
    more = serious(report)[TOP:]
    parts = [f"+{_counted(more, 'more ')} in the thread"] if more else []
    info = info_line(report)
    return " · ".join([*parts, *([info] if info else [])]) or None


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return " ".join(f"{k}={_value(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list | tuple):
        items = [_value(v) for v in value[:5]]
        return "[" + "; ".join(items) + ("; ..." if len(value) > 5 else "") + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def evidence_text(evidence: Mapping[str, Any], limit: int = EVIDENCE_CHARS) -> str:
    """The evidence on one line (`load1 3.21 · cpus 2 · top_cpu [...]`), cut visibly."""
    text = " · ".join(f"{k} {_value(v)}" for k, v in evidence.items() if v not in (None, "", []))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def changes_line(report: Report, code: Callable[[str], str] = str) -> str | None:
    """`since run 6 (2026-01-01 10:00 UTC): new disk.full · resolved cpu.saturated`."""
    ch = report.changes
    if ch is None or ch.since is None:
        return None
    head = f"since run {ch.previous_run_id} ({ch.since:%Y-%m-%d %H:%M} UTC)"
    parts = []
    if ch.new:
        parts.append("new " + ", ".join(code(c) for c in ch.new))
    if ch.resolved:
        parts.append("resolved " + ", ".join(code(c) for c in ch.resolved))
    if not parts:
        parts.append("no finding new or resolved")
    if ch.still:
        parts.append(f"{len(ch.still)} still present")
    return f"{head}: " + " · ".join(parts)


def area_lines(areas: Mapping[str, Any]) -> list[str]:
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


def changed(report: Report) -> bool:
    """True when there is a previous run and a finding or an area moved since."""
    ch = report.changes
    if ch is None or ch.since is None:
        return False
    return bool(ch.new or ch.resolved or area_lines(ch.areas))


def changes_detail(report: Report, code: Callable[[str], str] = str) -> list[str]:
    """Everything that changed since the previous run, one line each (none for a first run)."""
    ch = report.changes
    if ch is None or ch.since is None:
        return []

    def named(codes: tuple[str, ...]) -> str:
        return ", ".join(f"{code(c)} ({title_of(c)})" for c in codes) or "none"

    return [
        f"since run {ch.previous_run_id} ({ch.since:%Y-%m-%d %H:%M:%S} UTC)",
        f"new: {named(ch.new)}",
        f"resolved: {named(ch.resolved)}",
        f"still: {named(ch.still)}",
        *area_lines(ch.areas),
    ]
