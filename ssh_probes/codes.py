"""Finding codes as values: a rule emits `DISK_FULL.finding(...)`, never a bare string.

Each code is declared once, beside the rule that emits it, with its catalog entry (title,
why it happens, what to do). The catalog (commands/knowledge/catalog.py) is assembled from
these declarations, so a code cannot be emitted without an entry, and no import points up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ssh_probes.model import Finding, Severity


@dataclass(frozen=True)
class Code:
    """One finding code and its catalog entry: a title, why it happens, what to do."""

    code: str
    area: str
    title: str
    why: str
    fix: str

    def finding(
        self,
        severity: Severity,
        title: str,
        *,
        detail: str = "",
        evidence: Mapping[str, Any] | None = None,
        suggestion: str = "",
        host: str = "",
    ) -> Finding:
        """A Finding of this code; `suggestion` is the specific fix with the host's own values."""
        return Finding(
            code=self.code,
            severity=severity,
            title=title,
            detail=detail,
            evidence=dict(evidence or {}),
            suggestion=suggestion,
            host=host,
        )
