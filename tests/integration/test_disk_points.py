"""Disk points: written with each saved run, filled in for older history by migration 0004,
read back as the digest's series, pruned with their runs. SQLite and the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from bot.digests.build import build
from bot.store import digest_data
from bot.store.db import HEAD_REVISION, Store
from bot.store.digests import DigestRepo
from bot.store.models import DiskPointRow, HostRow, ProbeResultRow, RunRow
from bot.store.runs import RunRepo
from commands.report import Report
from ssh_probes.model import ProbeResult

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def disk(var_used: int, *, with_sizes: bool = True, var_iused: int = 10) -> dict[str, Any]:
    var: dict[str, Any] = {"filesystem": "/dev/vdb", "mount": "/var", "use_pct": 99, "iuse_pct": 1}
    if with_sizes:
        var.update(
            used_kb=var_used, avail_kb=1000 - var_used, iused=var_iused, ifree=100 - var_iused
        )
    root = {"filesystem": "/dev/vda", "mount": "/", "used_kb": 1, "avail_kb": 2, "use_pct": 34}
    return {"filesystems": [var, root]}  # `/` reports no inodes (as df shows "-" for some)


def triage(host: str, at: datetime, *results: ProbeResult) -> Report:
    return Report("triage", host, "ok", at, 10, results=results)


def result(
    run_id: int, host: str, ok: bool, facts: dict[str, Any], probe: str = "disk"
) -> dict[str, Any]:
    """A probe_results row as revision 0003 stored it."""
    return {
        "run_id": run_id,
        "probe": probe,
        "area": probe,
        "host": host,
        "ok": ok,
        "facts": facts,
        "error": "",
        "duration_ms": 1,
        "raw": "",
        "truncated": False,
    }


async def points(store: Store) -> list[tuple[str, datetime, dict[str, float], dict[str, float]]]:
    columns = (DiskPointRow.host, DiskPointRow.at, DiskPointRow.use_pct, DiskPointRow.inode_pct)
    async with store.session() as session:
        rows = await session.execute(select(*columns).order_by(DiskPointRow.id))
        return [(h, at, use, inodes) for h, at, use, inodes in rows]


async def test_save_writes_one_point_per_host_with_an_ok_disk_result(store: Store) -> None:
    report = Report(
        "triage",
        "group=web",
        "partial",
        T0,
        10,
        results=(
            ProbeResult("disk", "web-1", True, disk(913), area="disk"),
            ProbeResult("disk", "web-2", False, {}, area="disk", error="ssh.timeout"),
            ProbeResult("disk", "web-3", True, {"filesystems": []}, area="disk"),
            ProbeResult("load", "web-1", True, {"filesystems": [{"mount": "/x", "use_pct": 5}]}),
        ),
    )
    await RunRepo(store).save(report)
    assert await points(store) == [("web-1", T0, {"/var": 91.3, "/": 33.33}, {"/var": 10.0})]


async def test_series_is_the_last_points_in_the_window_oldest_first(store: Store) -> None:
    repo = RunRepo(store)
    for i in range(6):
        at = T0 + timedelta(hours=i)
        await repo.save(triage("web-1", at, ProbeResult("disk", "web-1", True, disk(500 + i))))
    await repo.save(triage("db-1", T0, ProbeResult("disk", "db-1", True, disk(10))))
    series = await digest_data.disk_series(store, ["web-1", "db-1", "new-1"], T0, points=4)
    assert [p[0] for p in series["web-1"]] == [T0 + timedelta(hours=i) for i in (2, 3, 4, 5)]
    assert [p[1]["/var"] for p in series["web-1"]] == [50.2, 50.3, 50.4, 50.5]
    assert series["db-1"] == [(T0, {"/var": 1.0, "/": 33.33}, {"/var": 10.0})]
    assert series["new-1"] == []
    later = await digest_data.disk_series(store, ["web-1"], T0 + timedelta(hours=5))
    assert len(later["web-1"]) == 1


async def test_migration_fills_in_points_for_stored_history(db_url: str) -> None:
    store = Store(db_url)
    try:
        assert await store.upgrade("0003") == "0003"
        runs, results = RunRow.__table__, ProbeResultRow.__table__
        rows = [
            (1, "web-1", True, disk(900)),
            (2, "web-1", True, disk(0, with_sizes=False)),  # df's own use_pct only
            (3, "web-1", False, {}),  # failed: no point
            (4, "web-2", True, {"unexpected": 1}),  # no filesystems: no point
        ]
        async with store.session() as session:
            for run_id, host, ok, facts in rows:
                at = T0 + timedelta(minutes=run_id)
                run = {"command": "triage", "status": "ok", "duration_ms": 1, "source": "cli"}
                await session.execute(
                    sa.insert(runs).values(id=run_id, target=host, started_at=at, error="", **run)
                )
                await session.execute(sa.insert(results).values(**result(run_id, host, ok, facts)))
            # another probe's result with disk-like facts: not a disk point
            await session.execute(
                sa.insert(results).values(**result(1, "web-1", True, disk(1), "load"))
            )
        assert await store.upgrade() == HEAD_REVISION
        assert await points(store) == [
            ("web-1", T0 + timedelta(minutes=1), {"/var": 90.0, "/": 33.33}, {"/var": 10.0}),
            ("web-1", T0 + timedelta(minutes=2), {"/var": 99.0, "/": 33.33}, {"/var": 1.0}),
        ]
        series = await digest_data.disk_series(store, ["web-1"], T0)
        assert [p[1]["/var"] for p in series["web-1"]] == [90.0, 99.0]
    finally:
        await store.close()


async def test_digest_forecasts_inodes_only_when_they_fill_up(store: Store) -> None:
    async with store.session() as session:
        for name in ("web-1", "web-2"):
            session.add(HostRow(name=name, address="192.0.2.10", port=22, user="root",
                                host_keys=[], expect_ports=[], logs=[], labels={}))  # fmt: skip
    repo = RunRepo(store)
    for i in range(11):  # web-1: inodes 50% -> 90% over 5 days, space flat; web-2: all flat
        at = T0 - timedelta(hours=12 * (10 - i))
        facts = disk(400, var_iused=50 + 4 * i)
        await repo.save(triage("web-1", at, ProbeResult("disk", "web-1", True, facts)))
        await repo.save(triage("web-2", at, ProbeResult("disk", "web-2", True, disk(400))))
    schedule = await DigestRepo(store).add("C0DIGEST", "0 * * * *", "UTC", "web-*", (), "U1")
    digest = await build(store, schedule, T0, T0)
    lines = digest.forecast_lines()
    assert lines[0] == (
        "web-1 /var inodes 90%, full in about 30 hours (+8.00%/day; fit over 5.0 days, "
        "11 points, R² 1.00)"
    )
    assert not any("web-2" in line and "inodes" in line for line in lines), lines
    assert "4 other filesystems flat" in lines  # space: web-1 and web-2, / and /var
    assert all(" inodes" not in key for key in digest.series)  # the chart is space use
