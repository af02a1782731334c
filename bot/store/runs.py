"""Runs with their probe results and findings: save one, read the previous one."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.store.db import Store
from bot.store.models import DiskPointRow, FindingRow, ProbeResultRow, RunRow
from bot.store.run_rows import PastRun, run_rows
from commands.report import Report
from ssh_probes.errors import StoreError

log = logging.getLogger("triagebot.store")


@dataclass(frozen=True)
class RunSummary:
    """One line of `history`: a past run with its worst finding."""

    run_id: int
    command: str
    target: str
    status: str
    started_at: datetime
    duration_ms: int
    source: str
    findings: int
    worst: str | None  # "critical disk.full" or None


@dataclass(frozen=True)
class StoredRun:
    """What a button needs of a run: what ran, where it was posted, what it saw."""

    run_id: int
    command: str
    target: str
    channel: str | None
    requested_by: str | None
    facts: list[dict[str, Any]]


# About how long a PostgreSQL restart or a managed failover keeps connections refused.
RETRY_DELAYS_S = (0.25, 0.5, 1.0, 2.0)


def _connection_lost(store: Store, exc: StoreError) -> bool:
    """True when the cause is the connection (worth retrying), not the statement or data."""
    if store.engine.dialect.name == "sqlite":
        return False  # a local file: locked or broken, retrying here would not help
    cause = exc.__cause__
    if isinstance(cause, DBAPIError) and cause.connection_invalidated:
        return True
    # SQLSTATE 08xxx (connection exception) and 57xxx (admin shutdown, "the database system
    # is starting up / shutting down") come as plain DBAPIErrors from asyncpg.
    sqlstate = str(getattr(getattr(cause, "orig", None), "sqlstate", "") or "")
    if sqlstate[:2] in ("08", "57"):
        return True
    return isinstance(cause, OSError | InterfaceError | OperationalError)


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
            facts = await session.execute(
                select(ProbeResultRow.probe, ProbeResultRow.facts).where(
                    ProbeResultRow.run_id == run.id, ProbeResultRow.ok.is_(True)
                )
            )
            return PastRun(run.id, run.started_at, run.status, codes, {p: f for p, f in facts})

    async def save(
        self,
        report: Report,
        *,
        source: str = "cli",
        requested_by: str | None = None,
        channel: str | None = None,
    ) -> int:
        """Store the run, its results and findings in one transaction; returns the run id.

        A lost database connection (PostgreSQL restarting, failing over) is retried a few
        times; the transaction is all-or-nothing, so a failed attempt leaves nothing behind.
        """
        for delay in (*RETRY_DELAYS_S, None):
            try:
                return await self._save_once(report, source, requested_by, channel)
            except StoreError as exc:
                if delay is None or not _connection_lost(self.store, exc):
                    raise
                log.warning("saving %s %s: %s; retrying in %ss", report.command, report.target,
                            exc, delay)  # fmt: skip
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _save_once(
        self, report: Report, source: str, requested_by: str | None, channel: str | None
    ) -> int:
        rows = run_rows(report, self.raw_limit, source, requested_by, channel)
        run = RunRow(**rows.run)
        run.results = [ProbeResultRow(**r) for r in rows.results]
        run.findings = [FindingRow(**f) for f in rows.findings]
        run.disk_points = [DiskPointRow(**d) for d in rows.disk_points]
        async with self.store.session() as session:
            session.add(run)
            await session.flush()
            return run.id

    async def history(
        self,
        target: str | None,
        since: datetime,
        limit: int = 100,
        *,
        channel: str | None = None,
        requested_by: str | None = None,
    ) -> list[RunSummary]:
        """Runs since `since` (of `target`, or all; of one channel or requester, or all),
        newest first, with their worst finding."""
        rank = {"critical": 0, "warning": 1, "info": 2}
        query = select(RunRow).where(RunRow.started_at >= since)
        if target is not None:
            # `triage web-1 port 443` and `triage web-1 url ...` are history of web-1 too;
            # autoescape: `_` and `%` in a name are literal, not LIKE wildcards.
            prefix = RunRow.target.startswith(f"{target} ", autoescape=True)
            query = query.where((RunRow.target == target) | prefix)
        if channel is not None:
            query = query.where(RunRow.channel == channel)
        if requested_by is not None:
            query = query.where(RunRow.requested_by == requested_by)
        query = query.order_by(RunRow.started_at.desc(), RunRow.id.desc()).limit(limit)
        async with self.store.session() as session:
            runs = list(await session.scalars(query))
            ids = [r.id for r in runs]
            rows = await session.execute(
                select(FindingRow.run_id, FindingRow.severity, FindingRow.code).where(
                    FindingRow.run_id.in_(ids)
                )
            )
            per_run: dict[int, list[tuple[str, str]]] = {}
            for run_id, severity, code in rows:
                per_run.setdefault(run_id, []).append((severity, code))
        out = []
        for r in runs:
            found = sorted(per_run.get(r.id, []), key=lambda f: (rank.get(f[0], 3), f[1]))
            out.append(
                RunSummary(
                    r.id,
                    r.command,
                    r.target,
                    r.status,
                    r.started_at,
                    r.duration_ms,
                    r.source,
                    len(found),
                    f"{found[0][0]} {found[0][1]}" if found else None,
                )
            )
        return out

    async def get(self, run_id: int) -> StoredRun | None:
        """One stored run with the facts of its results (what a button acts on), or None."""
        async with self.store.session() as session:
            run = await session.get(RunRow, run_id)
            if run is None:
                return None
            facts = await session.scalars(
                select(ProbeResultRow.facts).where(ProbeResultRow.run_id == run_id)
            )
            return StoredRun(
                run.id, run.command, run.target, run.channel, run.requested_by, list(facts)
            )

    async def count(self) -> int:
        """How many runs are stored (for tests and the App Home)."""
        async with self.store.session() as session:
            return int(await session.scalar(select(func.count(RunRow.id))) or 0)
