"""Digest and history queries over 1,000,000 stored probe results, PostgreSQL and SQLite.

    [TRIAGEBOT_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test] \\
        .venv/bin/python -m bench.digest_queries [--results 1000000] [--backends postgres sqlite]

For each backend: a database of its own (dropped or deleted at the end), migrated, then
bulk-loaded with 100 hosts x N/10 triage runs over 30 days x 10 probe results, the disk
points RunRepo.save writes beside each disk result, and a finding every 5th run. Then it
times building one digest for the 100 hosts (budget 300 ms) and `history HOST` (budget
50 ms), medians of warm runs, and again with each index that serves them dropped, to show
which index makes it so. Appends to bench/results/digest_queries.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench import record
from bot.digests.build import build
from bot.store.db import Store
from bot.store.digests import DigestRepo
from bot.store.disk_points import inodes_by_mount, use_by_mount
from bot.store.runs import RunRepo

HOSTS = 100
PROBES = ("load", "stat", "processes", "disk", "sockets", "connections", "docker", "kernel",
          "services", "logs")  # fmt: skip
NOW = datetime.now(UTC).replace(microsecond=0)
BUDGETS_MS = {"digest_100_hosts": 300, "history_one_target": 50}
COLUMNS = {
    "hosts": ("name", "address", "port", "user", "key_path", "host_keys", "expect_ports", "logs",
              "labels", "watched", "created_at", "updated_at"),
    "runs": ("id", "command", "target", "status", "started_at", "duration_ms", "source", "error",
             "requested_by", "channel"),
    "probe_results": ("run_id", "probe", "area", "host", "ok", "facts", "error", "duration_ms",
                      "raw", "truncated"),
    "disk_points": ("run_id", "host", "at", "use_pct", "inode_pct"),
    "findings": ("run_id", "code", "severity", "title", "detail", "evidence", "suggestion",
                 "host"),
}  # fmt: skip
CREATE = {
    "ix_disk_points_host_at": "CREATE INDEX ix_disk_points_host_at ON disk_points (host, at)",
    "ix_runs_target_started": "CREATE INDEX ix_runs_target_started ON runs (target, started_at)",
    "ix_runs_started_at": "CREATE INDEX ix_runs_started_at ON runs (started_at)",
}
# indexes dropped together -> the work timed without them
ABLATIONS = (
    (("ix_disk_points_host_at",), "digest_100_hosts"),
    (("ix_runs_target_started",), "history_one_target_30d_limit_100"),
    (("ix_runs_started_at",), "history_one_target_24h"),
    (("ix_runs_target_started", "ix_runs_started_at"), "history_one_target_24h"),
    (("ix_runs_target_started", "ix_runs_started_at"), "history_one_target_30d_limit_100"),
)


def disk(i: int, h: int) -> dict[str, Any]:
    """Disk facts of host h's i-th run: / flat at 40%, /var growing."""
    size = 100_000_000
    used = int(size * (0.3 + 0.5 * i / 1000 + (h % 7) * 0.01))
    return {"filesystems": [
        {"filesystem": "/dev/vda", "type": "ext4", "mount": "/", "size_kb": size,
         "used_kb": 40_000_000, "avail_kb": 60_000_000, "use_pct": 40, "iuse_pct": 3},
        {"filesystem": "/dev/vdb", "type": "ext4", "mount": "/var", "size_kb": size,
         "used_kb": used, "avail_kb": size - used, "use_pct": used * 100 // size, "iuse_pct": 5},
    ]}  # fmt: skip


def host_rows(h: int, runs_per_host: int, first_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows for one host (datetimes aware, JSON as text)."""
    step = timedelta(days=30) / runs_per_host
    name = f"host-{h:03d}"
    out: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
    out["hosts"].append((name, "192.0.2.1", 22, "root", None, "[]", "[]", "[]", "{}", True,
                         NOW, NOW))  # fmt: skip
    for i in range(runs_per_host):
        run_id = first_id + i
        at = NOW - step * (runs_per_host - i)
        out["runs"].append((run_id, "triage", name, "ok", at, 900, "scheduler", "", None, None))
        for p in PROBES:
            facts = disk(i, h) if p == "disk" else {"n": i}
            out["probe_results"].append((run_id, p, p, name, True, json.dumps(facts), "", 10, "",
                                         False))  # fmt: skip
        # What RunRepo.save writes beside each ok disk result.
        facts = disk(i, h)
        out["disk_points"].append(
            (run_id, name, at, json.dumps(use_by_mount(facts)), json.dumps(inodes_by_mount(facts)))
        )
        if i % 5 == 0:
            out["findings"].append((run_id, "tcp.time_wait_high", "warning", "t", "", "{}", "",
                                    name))  # fmt: skip
    return out


def all_rows(results: int) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    runs_per_host = results // len(PROBES) // HOSTS
    for h in range(HOSTS):
        yield host_rows(h, runs_per_host, 1 + h * runs_per_host)


async def pg_connect(url: str) -> Any:
    import asyncpg

    u = make_url(url)
    db = u.database or "postgres"
    return await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, database=db
    )


async def load_postgres(url: str, results: int) -> None:
    conn = await pg_connect(url)
    try:
        for rows in all_rows(results):
            for table, records in rows.items():
                await conn.copy_records_to_table(table, records=records, columns=COLUMNS[table])
        await conn.execute("SELECT setval('runs_id_seq', (SELECT max(id) FROM runs))")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def sqlite_time(at: datetime) -> str:
    """A datetime as UTCDateTime stores it in SQLite: UTC, no zone, microseconds."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def load_sqlite(path: str, results: int) -> None:
    """sqlite3 executemany in one transaction, values stored the way SQLAlchemy stores them."""

    def value(v: Any) -> Any:
        if isinstance(v, datetime):
            return sqlite_time(v)
        return v

    conn = sqlite3.connect(path)
    try:
        with conn:
            for rows in all_rows(results):
                for table, records in rows.items():
                    cols = COLUMNS[table]
                    marks = ", ".join("?" * len(cols))
                    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})"  # noqa: S608
                    conn.executemany(sql, ([value(v) for v in r] for r in records))
        conn.execute("ANALYZE")
    finally:
        conn.close()


async def timed(work: Callable[[], Awaitable[None]], repeat: int) -> dict[str, float]:
    await work()  # warm: connections, plans, caches
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        await work()
        times.append((time.perf_counter() - t) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
            "max_ms": round(max(times), 1), "runs": repeat}  # fmt: skip


# The statements the digest and history send (one host's branch of each union), for the plan.
PLANS = {
    "digest: latest triage run of a host": (
        "SELECT id FROM runs WHERE target = 'host-042' AND command = 'triage' "
        "ORDER BY started_at DESC, id DESC LIMIT 1"
    ),
    "digest: disk points of a host": (
        "SELECT host, at, use_pct FROM disk_points WHERE host = 'host-042' "
        "AND at >= :since ORDER BY at DESC LIMIT 96"
    ),
    "history 24h": (
        "SELECT * FROM runs WHERE started_at >= :day AND (target = 'host-042' OR target "
        "LIKE 'host-042 %') ORDER BY started_at DESC, id DESC LIMIT 100"
    ),
}


async def plans(store: Store) -> dict[str, list[str]]:
    """The indexes each statement's plan uses (EXPLAIN / EXPLAIN QUERY PLAN)."""
    sqlite = store.engine.dialect.name == "sqlite"
    since, day = NOW - timedelta(days=14), NOW - timedelta(days=1)
    if sqlite:  # stored as UTC text without a zone
        since_v: Any = sqlite_time(since)
        day_v: Any = sqlite_time(day)
    else:
        since_v, day_v = since, day
    out = {}
    async with store.engine.connect() as conn:
        for name, sql in PLANS.items():
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = await conn.execute(text(prefix + sql), {"since": since_v, "day": day_v})
            words = " ".join(str(r[-1]) for r in rows).replace("(", " ").replace(")", " ")
            out[name] = sorted({w for w in words.split() if w.startswith("ix_")}) or ["no index"]
    return out


async def measure(url: str, repeat: int) -> dict[str, Any]:
    store = Store(url)
    try:
        schedule = await DigestRepo(store).add("C0BENCH", "0 9 * * *", "UTC", "host-*", (), "b")

        async def digest() -> None:
            d = await build(store, schedule, NOW, NOW)
            assert len(d.hosts) == HOSTS and len(d.forecasts) == 2 * HOSTS

        async def history_24h() -> None:
            await RunRepo(store).history("host-042", NOW - timedelta(hours=24))

        async def history_30d() -> None:
            await RunRepo(store).history("host-042", NOW - timedelta(days=30))

        works = {"digest_100_hosts": digest, "history_one_target_24h": history_24h,
                 "history_one_target_30d_limit_100": history_30d}  # fmt: skip
        out: dict[str, Any] = {name: await timed(w, repeat) for name, w in works.items()}
        out["plans"] = await plans(store)
        for dropped, work in ABLATIONS:
            async with store.engine.begin() as conn:
                for index in dropped:
                    await conn.execute(text(f"DROP INDEX {index}"))
            timing = await timed(works[work], max(2, repeat // 2))
            out.setdefault("without " + " + ".join(dropped), {})[work] = timing
            async with store.engine.begin() as conn:
                for index in dropped:
                    await conn.execute(text(CREATE[index]))
        return out
    finally:
        await store.close()


async def bench_postgres(base: str, results: int, repeat: int) -> dict[str, Any]:
    name = f"tb_bench_{uuid.uuid4().hex[:10]}"  # generated here, never user text
    admin = await pg_connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        store = Store(url)
        await store.upgrade()
        await store.close()
        t0 = time.perf_counter()
        await load_postgres(url, results)
        loaded = time.perf_counter() - t0
        return {"load_s": round(loaded, 1), **await measure(url, repeat)}
    finally:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


async def bench_sqlite(results: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        store = Store(url)
        await store.upgrade()
        await store.close()
        t0 = time.perf_counter()
        await asyncio.to_thread(load_sqlite, path, results)
        loaded = time.perf_counter() - t0
        return {"load_s": round(loaded, 1), **await measure(url, repeat)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--backends", nargs="+", default=["postgres", "sqlite"],
                        choices=["postgres", "sqlite"])  # fmt: skip
    args = parser.parse_args()
    base = os.environ.get("TRIAGEBOT_TEST_POSTGRES_URL")
    if "postgres" in args.backends and not base:
        raise SystemExit("set TRIAGEBOT_TEST_POSTGRES_URL (a PostgreSQL the bench may use)")
    out: dict[str, Any] = {"probe_results": args.results, "hosts": HOSTS, "budgets_ms": BUDGETS_MS}
    out["loadavg_before"] = record.loadavg()
    for backend in args.backends:
        if backend == "postgres" and base:
            out["postgres"] = asyncio.run(bench_postgres(base, args.results, args.repeat))
        else:
            out["sqlite"] = asyncio.run(bench_sqlite(args.results, args.repeat))
        print(backend, json.dumps(out[backend], indent=1), flush=True)
    out["loadavg_after"] = record.loadavg()
    print(f"recorded in {record.append('digest_queries', out)}")


if __name__ == "__main__":
    main()
