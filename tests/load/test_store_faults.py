"""The database under faults: PostgreSQL restarted or briefly down, SQLite locked by a writer.

PostgreSQL tests drive this machine's cluster with pg_ctlcluster (root only) and always
start it again in `finally`. A save either lands exactly once or fails with a one-line
StoreError and nothing written.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.store import runs as runs_module
from bot.store.db import Store
from bot.store.runs import RunRepo
from commands.report import Report
from ssh_probes.errors import StoreError
from ssh_probes.model import ProbeResult
from tests.store_fixtures import PG_ENV, _admin

pytestmark = pytest.mark.slow

CLUSTER = ["--skip-systemctl-redirect", "15", "main"]


def report(n: int = 0) -> Report:
    """A small report with one result, so a save writes rows in two tables."""
    return Report(
        command="triage",
        target=f"load-{n}",
        status="ok",
        started_at=datetime.now(UTC),
        duration_ms=1,
        results=(ProbeResult("load", "local", True, {"n": n}, area="cpu", raw="x"),),
    )


def pg_ctl(action: str) -> None:
    """pg_ctlcluster ACTION on this machine's cluster (waits until it is done)."""
    subprocess.run(["pg_ctlcluster", *CLUSTER, action], check=True, timeout=60)


def pg_up() -> bool:
    """True when the server accepts connections."""
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0


@pytest.fixture
async def pg_store() -> AsyncIterator[Store]:
    """A migrated Store on a PostgreSQL database of its own; the server is up afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    if os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None:
        pytest.skip("restarting PostgreSQL needs root and pg_ctlcluster")
    name = f"tb_test_{uuid.uuid4().hex[:12]}"
    await _admin(base, f'CREATE DATABASE "{name}"')
    store = Store(make_url(base).set(database=name).render_as_string(hide_password=False))
    try:
        await store.upgrade()
        yield store
    finally:
        if not pg_up():
            pg_ctl("start")
        await store.close()
        await _admin(base, f'DROP DATABASE IF EXISTS "{name}"')


@pytest.mark.postgres
async def test_postgres_restart_during_runs_loses_no_report(pg_store: Store) -> None:
    repo = RunRepo(pg_store)
    await repo.save(report())  # the pool holds a connection the restart will kill
    restart = await asyncio.create_subprocess_exec("pg_ctlcluster", *CLUSTER, "restart")
    saved = 1
    try:
        while restart.returncode is None or saved < 30:  # saves before, during and after
            await repo.save(report(saved))
            saved += 1
            await asyncio.sleep(0.02)  # returncode is set when the child exits
    finally:
        await restart.wait()
    assert restart.returncode == 0
    assert await repo.count() == saved
    targets = [r.target for r in await repo.history(None, datetime(2000, 1, 1, tzinfo=UTC), 100)]
    assert sorted(targets) == sorted(f"load-{n}" for n in range(saved))  # each once


@pytest.mark.postgres
async def test_postgres_down_during_save_is_retried(pg_store: Store) -> None:
    repo = RunRepo(pg_store)
    await repo.save(report())
    pg_ctl("stop")
    # Back in about a second, inside the retry window (0.25 + 0.5 + 1 + 2 s).
    timer = threading.Timer(1.0, pg_ctl, ("start",))
    timer.start()
    try:
        run_id = await repo.save(report(1))
    finally:
        timer.join()
    assert run_id == 2 and await repo.count() == 2


@pytest.mark.postgres
async def test_postgres_down_too_long_is_one_clean_error(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs_module, "RETRY_DELAYS_S", (0.1,))
    repo = RunRepo(pg_store)
    await repo.save(report())
    pg_ctl("stop")
    try:
        with pytest.raises(StoreError) as failed:
            await repo.save(report(1))
    finally:
        pg_ctl("start")
    message = str(failed.value)
    assert len(message.splitlines()) == 1 and "tb_test_" in message
    assert await repo.count() == 1  # nothing of the failed save was written


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[str]:
    """The path of a migrated SQLite database."""
    path = tmp_path / "locked.db"

    async def migrate() -> None:
        store = Store(f"sqlite+aiosqlite:///{path}")
        await store.upgrade()
        await store.close()

    asyncio.run(migrate())
    yield str(path)


def hold_write_lock(path: str, release: threading.Event) -> threading.Thread:
    """Another writer: BEGIN IMMEDIATE on `path`, held until `release` is set."""
    locked = threading.Event()

    def writer() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO audit_events (at, source, action, detail, outcome, reason)"
                         " VALUES ('2024-01-01', 'test', 'lock', '', 'ok', '')")  # fmt: skip
            locked.set()
            release.wait(30)
            conn.execute("COMMIT")
        finally:
            conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert locked.wait(10)
    return thread


async def test_sqlite_locked_briefly_waits_and_saves(sqlite_store: str) -> None:
    release = threading.Event()
    thread = hold_write_lock(sqlite_store, release)
    asyncio.get_running_loop().call_later(1.5, release.set)
    store = Store(f"sqlite+aiosqlite:///{sqlite_store}")
    try:
        run_id = await RunRepo(store).save(report())
        assert release.is_set()  # it really waited for the other writer
        assert run_id == 1 and await RunRepo(store).count() == 1
    finally:
        release.set()
        thread.join()
        await store.close()


async def test_sqlite_locked_past_busy_timeout_fails_in_one_line(sqlite_store: str) -> None:
    release = threading.Event()
    thread = hold_write_lock(sqlite_store, release)
    store = Store(f"sqlite+aiosqlite:///{sqlite_store}")
    try:
        with pytest.raises(StoreError) as failed:
            await RunRepo(store).save(report())
        release.set()
        thread.join()
        message = str(failed.value)
        assert len(message.splitlines()) == 1 and "database is locked" in message
        assert await RunRepo(store).count() == 0
    finally:
        release.set()
        thread.join()
        await store.close()
