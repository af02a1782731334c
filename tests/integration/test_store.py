"""Storage on SQLite and the real PostgreSQL: migrations, registry, runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.runs.history import diff
from bot.store.db import HEAD_REVISION, Store
from bot.store.hosts import HostRepo
from bot.store.models import FindingRow, ProbeResultRow, RunRow
from bot.store.runs import RunRepo
from commands.hosts import HostSpec
from commands.report import Report
from ssh_probes.errors import InputError, StoreError
from ssh_probes.model import Finding, ProbeResult

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def spec(name: str = "web-1", **kw: object) -> HostSpec:
    return HostSpec(name=name, address="198.18.0.2", host_keys=(KEY,), **kw)  # type: ignore[arg-type]


def report(target: str, *codes: str, at: datetime | None = None, raw: str = "") -> Report:
    return Report(
        command="triage",
        target=target,
        status="ok",
        started_at=at or datetime.now(UTC),
        duration_ms=12,
        findings=tuple(Finding(c, "warning", f"{c} seen", host=target) for c in codes),
        results=(ProbeResult("disk", target, True, {"n": 1}, area="disk", raw=raw),),
    )


async def test_migration_reaches_head_and_is_idempotent(store: Store) -> None:
    assert await store.revision() == HEAD_REVISION
    assert await store.upgrade() == HEAD_REVISION
    await store.ensure_schema()


async def test_fresh_database_is_migrated_by_ensure_schema(db_url: str) -> None:
    s = Store(db_url)
    try:
        assert await s.revision() is None
        await s.ensure_schema()
        assert await s.revision() == HEAD_REVISION
    finally:
        await s.close()


async def test_host_registry_roundtrip(store: Store) -> None:
    repo = HostRepo(store)
    entry = spec(expect_ports=(22, 443), logs=("/var/log/app.log",), labels={"env": "prod"})
    await repo.add(entry)
    assert await repo.get("web-1") == entry
    assert [h.name for h in await repo.list()] == ["web-1"]
    assert (await repo.get("local")).name == "local"


async def test_duplicate_name_is_input_error_and_keeps_the_first(store: Store) -> None:
    repo = HostRepo(store)
    await repo.add(spec())
    with pytest.raises(InputError, match="already registered"):
        await repo.add(spec(port=2222))
    assert (await repo.get("web-1")).port == 22


async def test_unknown_host_lists_registered_ones(store: Store) -> None:
    repo = HostRepo(store)
    await repo.add(spec("db-1"))
    await repo.add(spec("api-1"))
    with pytest.raises(InputError) as info:
        await repo.get("nope")
    assert str(info.value) == "unknown host 'nope'; registered: local, api-1, db-1"


async def test_remove_forgets_the_host_but_keeps_history(store: Store) -> None:
    repo, runs = HostRepo(store), RunRepo(store)
    await repo.add(spec())
    await runs.save(report("web-1", "disk.full"))
    await repo.remove("web-1")
    assert await repo.find("web-1") is None
    assert await runs.count() == 1
    with pytest.raises(InputError):
        await repo.remove("web-1")
    with pytest.raises(InputError):
        await repo.remove("local")


async def test_run_saved_with_results_and_findings_redacted_and_capped(store: Store) -> None:
    runs = RunRepo(store, raw_limit=100)
    secret = "PGPASSWORD=hunter2 psql " + "x" * 500
    run_id = await runs.save(report("web-1", "disk.full", "cpu.saturated", raw=secret))
    async with store.session() as s:
        row = await s.scalar(select(ProbeResultRow).where(ProbeResultRow.run_id == run_id))
        assert row is not None
        assert "hunter2" not in row.raw
        assert row.truncated
        assert "more characters not stored" in row.raw
        n = await s.scalar(select(func.count()).where(FindingRow.run_id == run_id))
        assert n == 2


async def test_previous_run_and_diff(store: Store) -> None:
    runs = RunRepo(store)
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    await runs.save(report("web-1", "disk.full", "cpu.saturated", at=t0))
    await runs.save(report("other", "port.not_listening"))
    prev = await runs.previous("triage", "web-1")
    assert prev is not None
    now = report("web-1", "disk.full", "port.loopback_only")
    changes = diff(now, prev)
    assert changes.new == ("port.loopback_only",)
    assert changes.resolved == ("cpu.saturated",)
    assert changes.still == ("disk.full",)
    assert changes.since is not None and abs(changes.since - t0) < timedelta(seconds=1)
    assert await runs.previous("triage", "never") is None


async def test_failed_transaction_writes_nothing(store: Store) -> None:
    runs = RunRepo(store)
    bad = report("web-1", "disk.full")
    # The run row is inserted first; the finding's evidence cannot be serialised, so the
    # transaction fails half-way and must leave no run behind.
    unserialisable = Finding("x", "warning", "t", evidence={"obj": object()})
    broken = Report(**{**bad.__dict__, "findings": (unserialisable,)})
    with pytest.raises(StoreError):
        await runs.save(broken)
    async with store.session() as s:
        assert await s.scalar(select(func.count(RunRow.id))) == 0


async def test_unreachable_database_is_one_line_store_error() -> None:
    s = Store("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    with pytest.raises(StoreError) as info:
        await s.revision()
    assert "\n" not in str(info.value)
    assert "127.0.0.1:1" in str(info.value)
    await s.close()


def golden_facts(probe: str, case: str) -> dict[str, object]:
    from tests.fixtures.capture import OUTPUTS

    return dict(json.loads((OUTPUTS / probe / f"{case}.json").read_text())["facts"])


def with_facts(target: str, at: datetime, **facts: dict[str, object]) -> Report:
    results = tuple(ProbeResult(p, target, True, f, area=p) for p, f in facts.items())
    return Report("triage", target, "ok", at, 10, results=results)


async def test_diff_reports_ports_and_disk_changes_from_stored_facts(store: Store) -> None:
    runs = RunRepo(store)
    t0 = datetime.now(UTC) - timedelta(minutes=3)
    await runs.save(
        with_facts(
            "web-1",
            t0,
            disk=golden_facts("disk", "warning-level"),
            sockets=golden_facts("sockets", "ipv6-and-wildcards"),
        )
    )
    prev = await runs.previous("triage", "web-1")
    assert prev is not None and set(prev.facts) == {"disk", "sockets"}
    grown = golden_facts("disk", "full-and-inodes")
    root = next(f for f in grown["filesystems"] if f["mount"] == "/")  # type: ignore[attr-defined]
    root["use_pct"] += 5  # the root filesystem grew between the runs
    now = with_facts(
        "web-1",
        datetime.now(UTC),
        disk=grown,
        sockets=golden_facts("sockets", "root-with-processes"),
    )
    areas = diff(now, prev).areas
    assert "127.0.0.1:5432" in areas["sockets"]["opened"]
    assert "[::1]:9090" in areas["sockets"]["closed"]
    assert areas["disk"]["mounted"] == ["/mnt/tb full", "/mnt/tbinodes"]
    assert areas["disk"]["unmounted"] == ["/mnt/tbwarn"]
    assert areas["disk"]["changed"]["/"] == {"use_pct": {"before": 23, "now": 28, "delta": 5}}
    # The same facts again: nothing changed in any area.
    await runs.save(now)
    again = diff(now, await runs.previous("triage", "web-1"))
    assert again.areas == {}


async def test_history_lists_runs_newest_first_with_worst_finding(store: Store) -> None:
    runs = RunRepo(store)
    old = datetime.now(UTC) - timedelta(days=3)
    await runs.save(report("web-1", "disk.full", at=old))
    first = await runs.save(report("web-1", at=datetime.now(UTC) - timedelta(hours=2)))
    crit = Report(
        "triage",
        "web-1",
        "partial",
        datetime.now(UTC),
        5,
        findings=(
            Finding("disk.full", "warning", "t", host="web-1"),
            Finding("port.not_listening", "critical", "t", host="web-1"),
        ),
    )
    second = await runs.save(crit)
    await runs.save(report("db-1", "cpu.saturated"))
    rows = await runs.history("web-1", since=datetime.now(UTC) - timedelta(hours=24))
    assert [r.run_id for r in rows] == [second, first]
    assert rows[0].worst == "critical port.not_listening" and rows[0].findings == 2
    assert rows[1].worst is None
    everything = await runs.history(None, since=old - timedelta(seconds=1))
    assert len(everything) == 4
