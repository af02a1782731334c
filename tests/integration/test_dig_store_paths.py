"""The CLI's stdlib-sqlite3 write path (bot.cli.quick_record.record_quick, bot.store.quick_runs)
stores exactly what the ORM path (bot.service.record, RunRepo) stores.

The same reports are recorded through both into two fresh databases migrated by the real
store, twice (the second run is diffed with the first), and every stored row is compared,
as stored (the text of datetimes and JSON included), ids aside.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli.quick_record import record_quick
from bot.service import Who, record
from bot.settings import Settings
from bot.store import quick_runs
from bot.store.db import Store
from commands.dig import DigOptions, parse, run
from commands.report import Report, status_of
from ssh_probes.model import Finding, ProbeResult
from tests.lab.bind import BindLab

SECRET = "AKIAIOSFODNN7EXAMPLE"
TABLES = ("runs", "probe_results", "findings", "disk_points")


def synthetic() -> Report:
    """Every kind of row: secrets to redact, raw output over the cap, a disk result."""
    disk = {"filesystems": [
        {"mount": "/", "used_kb": 900, "avail_kb": 100, "iused": 5, "ifree": 95},
        {"mount": "/var", "use_pct": 42, "iuse_pct": "-"},
    ]}  # fmt: skip
    results = (
        ProbeResult(
            "dig:A@127.0.0.1:53",
            "local",
            True,
            {
                "answers": [{"type": "A", "value": "192.0.2.1", "ttl": 60}],
                "note": f"key {SECRET}",
                "display": "bücher.例え.jp",
            },
            duration_ms=3,
            area="dns",
            raw="x" * 300,
        ),
        ProbeResult("disk", "web-1", True, disk, area="disk", raw=f"password={SECRET}\n"),
        ProbeResult("dig:ns-check", "local", False, {}, error=f"token {SECRET} refused"),
    )
    findings = (
        Finding("dns.timeout", "critical", f"timed out {SECRET}", f"detail {SECRET}",
                {"secret": SECRET, "n": 1.5, "ok": True}, "ask again", "local"),
        Finding("disk.full", "warning", "disk / 90% full", host="web-1"),
    )  # fmt: skip
    return Report(
        command="dig", target="example.test", status=status_of(results),
        started_at=datetime(2026, 11, 29, 20, 1, 2, 345678, tzinfo=UTC), duration_ms=12,
        findings=findings, results=results,
    )  # fmt: skip


def stored(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the run tables as stored, minus each row's own id."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        for table in TABLES:
            cur = conn.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 (constants)
            names = [d[0] for d in cur.description]
            out[table] = [tuple(v for n, v in zip(names, row, strict=True) if n != "id")
                          for row in cur]  # fmt: skip
        return out
    finally:
        conn.close()


async def both(
    tmp_path: Path, reports: list[Report]
) -> tuple[Path, Path, list[Report], list[Report]]:
    """Record `reports` through the ORM into orm.db and through sqlite3 into quick.db."""
    paths = (tmp_path / "orm.db", tmp_path / "quick.db")
    urls = [f"sqlite+aiosqlite:///{p}" for p in paths]
    for url in urls:
        store = Store(url)
        try:
            await store.upgrade()
        finally:
            await store.close()
    settings = Settings(database_url=urls[0], raw_output_store_bytes=100)
    orm, quick = [], []
    store = Store(urls[0])
    try:
        for report in reports:
            orm.append(await record(store, report, settings, Who()))
    finally:
        await store.close()
    for report in reports:
        out = record_quick(urls[1], report, settings, Who())
        assert out is not None
        quick.append(out)
    return paths[0], paths[1], orm, quick


def assert_same(orm_db: Path, quick_db: Path, orm: list[Report], quick: list[Report]) -> None:
    assert [r.as_dict() for r in quick] == [r.as_dict() for r in orm]
    a, b = stored(orm_db), stored(quick_db)
    assert b == a


async def test_synthetic_runs_are_stored_alike(tmp_path: Path) -> None:
    first = synthetic()
    later = Report(**{**first.__dict__, "status": "ok", "findings": first.findings[1:],
                      "started_at": datetime(2026, 11, 29, 21, 0, tzinfo=UTC)})  # fmt: skip
    orm_db, quick_db, orm, quick = await both(tmp_path, [first, later])
    assert_same(orm_db, quick_db, orm, quick)
    assert all(stored(quick_db)[t] for t in TABLES)  # every table was written
    assert quick[1].changes is not None and quick[1].changes.previous_run_id == quick[0].run_id
    assert quick[1].changes.resolved == ("dns.timeout",)
    assert SECRET not in str(stored(quick_db))


async def test_a_real_dig_is_stored_alike(tmp_path: Path, bind_lab: BindLab) -> None:
    options = DigOptions(timeout_s=1.0, dns_port=bind_lab.port)
    words = ["www.split.test", f"@{bind_lab['resolver'].address}:{bind_lab.port}",
             f"@{bind_lab['ns1'].address}:{bind_lab.port}"]  # fmt: skip
    reports = [await run(parse(words), options) for _ in range(2)]
    assert reports[0].results and reports[0].findings
    assert_same(*await both(tmp_path, reports))


async def test_a_failure_half_way_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, quick_db, _, _ = await both(tmp_path, [synthetic()])
    before = stored(quick_db)
    real = quick_runs._insert

    def failing(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
        if table == "findings":
            raise sqlite3.OperationalError("disk I/O error")
        return real(conn, table, row)

    monkeypatch.setattr(quick_runs, "_insert", failing)
    url = f"sqlite+aiosqlite:///{quick_db}"
    settings = Settings(database_url=url)
    assert record_quick(url, synthetic(), settings, Who()) is None  # the ORM records it then
    assert stored(quick_db) == before


async def test_only_a_store_at_head_is_written(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    store = Store(url)
    try:
        await store.upgrade("0005")
    finally:
        await store.close()
    assert quick_runs.open_writable(url) is None
    assert quick_runs.open_writable(f"sqlite+aiosqlite:///{tmp_path}/none.db") is None
    assert not (tmp_path / "none.db").exists()
    assert quick_runs.open_writable(url + "?timeout=1") is None
    assert quick_runs.open_writable("postgresql+asyncpg://u@127.0.0.1/x") is None
    settings = Settings(database_url=url)
    assert record_quick(url, synthetic(), settings, Who()) is None
