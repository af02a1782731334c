"""A run's rows as plain values: what both write paths store (the ORM's RunRepo.save and
the CLI's stdlib-sqlite3 path, bot.store.quick_runs), redacted and capped the same way.

No SQLAlchemy here: `triagebot dig` records a run without importing the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.store.disk_points import inodes_by_mount, use_by_mount
from commands.report import Report
from ssh_probes.redact import redact, redact_data

Row = dict[str, Any]


@dataclass(frozen=True)
class PastRun:
    """The parts of a stored run that a diff needs."""

    run_id: int
    started_at: datetime
    status: str
    finding_codes: frozenset[tuple[str, str]]
    facts: dict[str, Any] = field(default_factory=dict)  # probe name -> facts (ok results)


@dataclass(frozen=True)
class RunRows:
    """One run's row and its children's rows (column -> value), in insertion order."""

    run: Row
    results: list[Row]
    findings: list[Row]
    disk_points: list[Row]


def cap(text: str, limit: int) -> str:
    """Raw output cut at `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not stored]"


def run_rows(
    report: Report,
    raw_limit: int,
    source: str = "cli",
    requested_by: str | None = None,
    channel: str | None = None,
) -> RunRows:
    """Every value stored for `report`: texts, facts and evidence redacted, raw capped."""
    run = {
        "command": report.command,
        "target": report.target,
        "status": report.status,
        "started_at": report.started_at,
        "duration_ms": report.duration_ms,
        "source": source,
        "requested_by": requested_by,
        "channel": channel,
        "error": "",
    }
    results = [
        {
            "probe": r.probe,
            "area": r.area,
            "host": r.host,
            "ok": r.ok,
            "facts": redact_data(r.facts),
            "error": redact(r.error),
            "duration_ms": r.duration_ms,
            "raw": cap(redact(r.raw), raw_limit),
            "truncated": r.truncated or len(r.raw) > raw_limit,
        }
        for r in report.results
    ]
    findings = [
        {
            "code": f.code,
            "severity": f.severity,
            "title": redact(f.title),
            "detail": redact(f.detail),
            "evidence": redact_data(dict(f.evidence)),
            "suggestion": redact(f.suggestion),
            "host": f.host,
        }
        for f in report.findings
    ]
    disk_points = [
        {"host": r.host, "at": report.started_at, "use_pct": use,
         "inode_pct": inodes_by_mount(r.facts)}
        for r in report.results
        if r.probe == "disk" and r.ok and (use := use_by_mount(r.facts))
    ]  # fmt: skip
    return RunRows(run, results, findings, disk_points)
