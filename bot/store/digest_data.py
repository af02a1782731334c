"""The reads a digest needs: latest run per host, its findings, disk series, DNS answers.

Every query is bounded by host and served by an index: the latest triage run of a host by
ix_runs_target_started, its probe results by ix_probe_results_host_probe (host, probe,
run_id), findings by ix_findings_run_id. Disk series read disk_points (ix_disk_points_host_at),
the last SERIES_POINTS runs of each host within the window, so a digest costs the same after
a month as after a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import select, union_all

from bot.store.db import Store
from bot.store.models import DiskPointRow, FindingRow, HostRow, ProbeResultRow, RunRow

SERIES_POINTS = 96
RANK = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class HostState:
    """A host's latest stored triage: status, findings (severity, code), when."""

    host: str
    run_id: int | None
    status: str | None
    started_at: datetime | None
    findings: tuple[tuple[str, str], ...] = ()  # most severe first

    @property
    def worst(self) -> str | None:
        """`critical disk.full`, or None."""
        return f"{self.findings[0][0]} {self.findings[0][1]}" if self.findings else None


async def watched_hosts(store: Store, pattern: str) -> list[str]:
    """Registered hosts that are watched and whose name matches the glob, sorted."""
    async with store.session() as session:
        names = await session.scalars(
            select(HostRow.name).where(HostRow.watched.is_(True)).order_by(HostRow.name)
        )
        return [n for n in names if fnmatchcase(n, pattern)]


async def host_states(store: Store, hosts: list[str]) -> list[HostState]:
    """The latest triage run of each host with its findings (hosts never triaged: no run)."""
    if not hosts:
        return []
    async with store.session() as session:
        # One indexed LIMIT 1 per host, sent as one statement.
        latest = [
            select(RunRow.id)
            .where(RunRow.target == h, RunRow.command == "triage")
            .order_by(RunRow.started_at.desc(), RunRow.id.desc())
            .limit(1)
            .subquery()
            .select()
            for h in hosts
        ]
        ids = (
            list(await session.scalars(union_all(*latest)))
            if len(latest) > 1
            else list(await session.scalars(latest[0]))
        )
        runs = {
            r.target: r for r in await session.scalars(select(RunRow).where(RunRow.id.in_(ids)))
        }
        found: dict[int, list[tuple[str, str]]] = {}
        rows = await session.execute(
            select(FindingRow.run_id, FindingRow.severity, FindingRow.code).where(
                FindingRow.run_id.in_(ids)
            )
        )
        for run_id, severity, code in rows:
            found.setdefault(run_id, []).append((severity, code))
    out = []
    for h in hosts:
        run = runs.get(h)
        if run is None:
            out.append(HostState(h, None, None, None))
            continue
        ranked = sorted(set(found.get(run.id, [])), key=lambda f: (RANK.get(f[0], 3), f[1]))
        out.append(HostState(h, run.id, run.status, run.started_at, tuple(ranked)))
    return out


DiskPoint = tuple[datetime, dict[str, float], dict[str, float]]  # at, space %, inode % by mount


async def disk_series(
    store: Store, hosts: list[str], since: datetime, points: int = SERIES_POINTS
) -> dict[str, list[DiskPoint]]:
    """host -> [(run start, mount -> space use %, mount -> inode use %)], its last `points`
    runs since `since`, oldest first.

    Reads the small disk_points rows written when each run was saved, one indexed range scan
    (ix_disk_points_host_at, newest first, LIMIT) per host, sent as one statement.
    """
    if not hosts:
        return {}
    parts = [
        select(DiskPointRow.host, DiskPointRow.at, DiskPointRow.use_pct, DiskPointRow.inode_pct)
        .where(DiskPointRow.host == h, DiskPointRow.at >= since)
        .order_by(DiskPointRow.at.desc())
        .limit(points)
        .subquery()
        .select()
        for h in hosts
    ]
    out: dict[str, list[DiskPoint]] = {h: [] for h in hosts}
    async with store.session() as session:
        query = union_all(*parts) if len(parts) > 1 else parts[0]
        for host, at, use, inodes in await session.execute(query):
            out[host].append((at, use, inodes or {}))
    for series in out.values():
        series.sort(key=lambda p: p[0])
    return out


async def dns_facts(store: Store, domain: str) -> dict[str, dict[str, Any]]:
    """The query results (probe -> facts) of the latest stored `dig` of a domain."""
    async with store.session() as session:
        run_id = await session.scalar(
            select(RunRow.id)
            .where(RunRow.target == domain, RunRow.command == "dig")
            .order_by(RunRow.started_at.desc(), RunRow.id.desc())
            .limit(1)
        )
        if run_id is None:
            return {}
        rows = await session.execute(
            select(ProbeResultRow.probe, ProbeResultRow.facts).where(
                ProbeResultRow.run_id == run_id, ProbeResultRow.ok.is_(True)
            )
        )
        return {p: f for p, f in rows if isinstance(f, dict) and f.get("kind") == "query"}


async def run_facts(
    store: Store, run_ids: list[int], probes: tuple[str, ...]
) -> dict[int, dict[str, Any]]:
    """run id -> probe -> facts of its ok results of those probes (to compare a group)."""
    if not run_ids:
        return {}
    out: dict[int, dict[str, Any]] = {i: {} for i in run_ids}
    async with store.session() as session:
        rows = await session.execute(
            select(ProbeResultRow.run_id, ProbeResultRow.probe, ProbeResultRow.facts).where(
                ProbeResultRow.run_id.in_(run_ids),
                ProbeResultRow.probe.in_(probes),
                ProbeResultRow.ok.is_(True),
            )
        )
        for run_id, probe, facts in rows:
            out[run_id][probe] = facts
    return out


async def host_labels(store: Store, hosts: list[str]) -> dict[str, dict[str, str]]:
    """host -> its labels."""
    if not hosts:
        return {}
    async with store.session() as session:
        rows = await session.execute(
            select(HostRow.name, HostRow.labels).where(HostRow.name.in_(hosts))
        )
        return {name: dict(labels or {}) for name, labels in rows}
