"""Runs with their probe results and findings: save one, read the previous one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.store.db import Store
from bot.store.models import FindingRow, ProbeResultRow, RunRow
from commands.report import Report
from ssh_probes.redact import redact


@dataclass(frozen=True)
class PastRun:
    """The parts of a stored run that a diff needs."""

    run_id: int
    started_at: datetime
    status: str
    finding_codes: frozenset[tuple[str, str]]


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not stored]"


class RunRepo:
    """Stores reports and reads history."""

    def __init__(self, store: Store, raw_limit: int = 65_536) -> None:
        self.store = store
        self.raw_limit = raw_limit

    async def previous(self, command: str, target: str) -> PastRun | None:
        """The latest stored run of `command` on `target`."""
        async with self.store.session() as session:
            run = await session.scalar(
                select(RunRow)
                .where(RunRow.command == command, RunRow.target == target)
                .order_by(RunRow.started_at.desc(), RunRow.id.desc())
                .limit(1)
            )
            if run is None:
                return None
            rows = await session.execute(
                select(FindingRow.code, FindingRow.host).where(FindingRow.run_id == run.id)
            )
            codes = frozenset((code, host) for code, host in rows)
            return PastRun(run.id, run.started_at, run.status, codes)

    async def save(
        self,
        report: Report,
        *,
        source: str = "cli",
        requested_by: str | None = None,
        channel: str | None = None,
    ) -> int:
        """Store the run, its results and findings in one transaction; returns the run id."""
        run = RunRow(
            command=report.command,
            target=report.target,
            status=report.status,
            started_at=report.started_at,
            duration_ms=report.duration_ms,
            source=source,
            requested_by=requested_by,
            channel=channel,
            error="",
        )
        run.results = [
            ProbeResultRow(
                probe=r.probe,
                area=r.area,
                host=r.host,
                ok=r.ok,
                facts=r.facts,
                error=redact(r.error),
                duration_ms=r.duration_ms,
                raw=_cap(redact(r.raw), self.raw_limit),
                truncated=r.truncated or len(r.raw) > self.raw_limit,
            )
            for r in report.results
        ]
        run.findings = [
            FindingRow(
                code=f.code,
                severity=f.severity,
                title=redact(f.title),
                detail=redact(f.detail),
                evidence=dict(f.evidence),
                suggestion=redact(f.suggestion),
                host=f.host,
            )
            for f in report.findings
        ]
        async with self.store.session() as session:
            session.add(run)
            await session.flush()
            return run.id

    async def count(self) -> int:
        """How many runs are stored (for tests and the App Home)."""
        from sqlalchemy import func

        async with self.store.session() as session:
            return int(await session.scalar(select(func.count(RunRow.id))) or 0)
