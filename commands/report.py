"""The Report: what every command returns and the bot renders, stores and posts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from ssh_probes.model import Finding, ProbeResult, sort_findings

Status = Literal["ok", "partial", "failed"]


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", tuple(sort_findings(self.findings)))

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
        }
