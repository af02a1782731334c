"""The Report: what every command returns and the bot renders, stores and posts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from ssh_probes.model import Finding, ProbeResult, sort_findings
from ssh_probes.redact import Redactor

Status = Literal["ok", "partial", "failed"]


def status_of(results: Sequence[ProbeResult]) -> Status:
    """ok when every result is, failed when none is, partial between (no results: ok)."""
    failed = sum(not r.ok for r in results)
    if failed == 0:
        return "ok"
    return "failed" if failed == len(results) else "partial"


@dataclass(frozen=True)
class Changes:
    """The diff with the previous run of the same command and target."""

    since: datetime | None
    previous_run_id: int | None
    new: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    still: tuple[str, ...] = ()
    areas: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "since": self.since.isoformat() if self.since else None,
            "previous_run_id": self.previous_run_id,
            "new": list(self.new),
            "resolved": list(self.resolved),
            "still": list(self.still),
            "areas": self.areas,
        }


@dataclass(frozen=True)
class Report:
    """One command's answer: status, findings (most severe first) and probe results."""

    command: str
    target: str
    status: Status
    started_at: datetime
    duration_ms: int
    findings: tuple[Finding, ...] = ()
    results: tuple[ProbeResult, ...] = ()
    run_id: int | None = None
    changes: Changes | None = None
    findings_redacted: int = 0  # secret values hidden from findings (results count their own)

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", tuple(sort_findings(self.findings)))

    @property
    def redacted(self) -> int:
        """How many secret values were hidden from this report ("3 secrets hidden")."""
        return sum(r.redacted for r in self.results) + self.findings_redacted

    def scrubbed(self) -> Report:
        """The same report with every text, fact and evidence value redacted, and counted.

        Probes run through ssh_probes.runner arrive redacted; results built elsewhere (dig,
        http) and findings that quote what they saw are redacted here, before anything is
        stored, posted or printed.
        """
        results = []
        for r in self.results:
            redactor = Redactor()
            facts, error, raw = redactor.data(r.facts), redactor.text(r.error), redactor.text(r.raw)
            results.append(replace(r, facts=facts, error=error, raw=raw,
                                   redacted=r.redacted + redactor.count))  # fmt: skip
        redactor = Redactor()
        findings = [
            replace(
                f,
                title=redactor.text(f.title),
                detail=redactor.text(f.detail),
                suggestion=redactor.text(f.suggestion),
                evidence=redactor.data(dict(f.evidence)),
            )
            for f in self.findings
        ]
        return replace(
            self,
            results=tuple(results),
            findings=tuple(findings),
            findings_redacted=self.findings_redacted + redactor.count,
        )

    def with_run(self, run_id: int, changes: Changes) -> Report:
        """The same report once stored."""
        return replace(self, run_id=run_id, changes=changes)

    def as_dict(self) -> dict[str, Any]:
        """The JSON contract of `--json`."""
        return {
            "command": self.command,
            "target": self.target,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "duration_ms": self.duration_ms,
            "run_id": self.run_id,
            "findings": [f.as_dict() for f in self.findings],
            "results": [r.as_dict() for r in self.results],
            "changes": self.changes.as_dict() if self.changes else None,
            "redacted": self.redacted,
        }
