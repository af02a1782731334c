"""Who sees a stored report is said where the store is built: no module-level list.

The served bot's metrics observe reports through its own Store (bot.ops.health.add_routes
calls metrics.install(store)); a report stored into any other Store is seen by nobody.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.ops import metrics
from bot.service import record
from bot.settings import Settings
from bot.store.db import Store
from commands.report import Report
from ssh_probes.model import LOCAL_HOST, Finding, ProbeResult


def a_report() -> Report:
    """A stored-shaped report with one probe and one finding (no probe runs)."""
    result = ProbeResult("load", LOCAL_HOST, True, facts={"load1": 0.1}, area="load")
    finding = Finding("load.high", "warning", "load is high", detail="1-minute load 9")
    return Report("triage", "local", "ok", datetime.now(UTC), 5, (finding,), (result,))


async def test_observers_belong_to_their_store(store: Store, tmp_path: Path) -> None:
    other = Store(f"sqlite+aiosqlite:///{tmp_path}/other.db")
    await other.upgrade()
    try:
        seen: list[Report] = []
        store.report_observers.append(seen.append)
        stored = await record(store, a_report(), Settings())
        assert [r.target for r in seen] == ["local"] and stored.run_id is not None
        await record(other, a_report(), Settings())
        assert len(seen) == 1  # the other store's report reached no observer
        assert other.report_observers == []
    finally:
        await other.close()


async def test_metrics_install_once_per_store(store: Store) -> None:
    metrics.install(store)
    metrics.install(store)
    assert store.report_observers == [metrics.observe_report]
