"""Digest and history queries over 1,000,000 stored probe results on PostgreSQL.

    TRIAGEBOT_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m bench.digest_queries [--results 1000000]

Creates a database of its own (dropped at the end), migrates it, bulk-loads 100 hosts x N/10
triage runs x 10 probe results (COPY), then times building one digest for the 100 hosts
(budget 300 ms) and `history HOST` (budget 50 ms), each the median of several warm runs, and
again without the index that serves it, to show which index makes it so. Writes
bench/results/digest_queries.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bot.digests.build import build
from bot.store.db import Store
from bot.store.digests import DigestRepo
from bot.store.runs import RunRepo

HOSTS = 100
PROBES = (
    "load",
    "stat",
    "processes",
    "disk",
    "sockets",
    "connections",
    "docker",
    "kernel",
    "services",
    "logs",
)
RESULTS = Path(__file__).parent / "results" / "digest_queries.json"
NOW = datetime.now(UTC).replace(microsecond=0)


def disk(i: int, h: int) -> str:
    size = 100_000_000
    used = int(size * (0.3 + 0.5 * i / 1000 + (h % 7) * 0.01))
    fs = [
        {
            "filesystem": "/dev/vda",
            "type": "ext4",
            "mount": "/",
            "size_kb": size,
            "used_kb": 40_000_000,
            "avail_kb": 60_000_000,
            "use_pct": 40,
            "iuse_pct": 3,
        },
        {
            "filesystem": "/dev/vdb",
            "type": "ext4",
            "mount": "/var",
            "size_kb": size,
            "used_kb": used,
            "avail_kb": size - used,
            "use_pct": used * 100 // size,
            "iuse_pct": 5,
        },
    ]
    return json.dumps({"filesystems": fs})


async def admin(url: str, sql: str) -> None:
    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host,
        port=u.port or 5432,
        user=u.username,
        password=u.password,
        database=u.database or "postgres",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def load(url: str, results: int) -> dict[str, float]:
    """COPY hosts, runs, probe_results and findings; returns timings."""
    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host,
        port=u.port or 5432,
        user=u.username,
        password=u.password,
        database=u.database,
    )
    runs_per_host = results // len(PROBES) // HOSTS
    step = timedelta(days=30) / runs_per_host
    t0 = time.perf_counter()
    try:
        await conn.copy_records_to_table(
            "hosts",
            records=[
                (
                    f"host-{h:03d}",
                    "192.0.2.1",
                    22,
                    "root",
                    None,
                    "[]",
                    "[]",
                    "[]",
                    "{}",
                    True,
                    NOW,
                    NOW,
                )
                for h in range(HOSTS)
            ],
            columns=[
                "name",
                "address",
                "port",
                "user",
                "key_path",
                "host_keys",
                "expect_ports",
                "logs",
                "labels",
                "watched",
                "created_at",
                "updated_at",
            ],
        )
        run_id = 0
        for h in range(HOSTS):
            runs, res, finds = [], [], []
            for i in range(runs_per_host):
                run_id += 1
                at = NOW - step * (runs_per_host - i)
                runs.append(
                    (run_id, "triage", f"host-{h:03d}", "ok", at, 900, "scheduler", "", None, None)
                )
                for p in PROBES:
                    facts = disk(i, h) if p == "disk" else json.dumps({"n": i})
                    res.append((run_id, p, "host", f"host-{h:03d}", True, facts, "", 10, "", False))
                if i % 5 == 0:
                    finds.append(
                        (
                            run_id,
                            "tcp.time_wait_high",
                            "warning",
                            "t",
                            "",
                            "{}",
                            "",
                            f"host-{h:03d}",
                        )
                    )
            await conn.copy_records_to_table(
                "runs",
                records=runs,
                columns=[
                    "id",
                    "command",
                    "target",
                    "status",
                    "started_at",
                    "duration_ms",
                    "source",
                    "error",
                    "requested_by",
                    "channel",
                ],
            )
            await conn.copy_records_to_table(
                "probe_results",
                records=res,
                columns=[
                    "run_id",
                    "probe",
                    "area",
                    "host",
                    "ok",
                    "facts",
                    "error",
                    "duration_ms",
                    "raw",
                    "truncated",
                ],
            )
            await conn.copy_records_to_table(
                "findings",
                records=finds,
                columns=[
                    "run_id",
                    "code",
                    "severity",
                    "title",
                    "detail",
                    "evidence",
                    "suggestion",
                    "host",
                ],
            )
        await conn.execute("SELECT setval('runs_id_seq', (SELECT max(id) FROM runs))")
        loaded = time.perf_counter() - t0
        await conn.execute("ANALYZE")
        count = await conn.fetchval("SELECT count(*) FROM probe_results")
    finally:
        await conn.close()
    return {"load_s": round(loaded, 1), "probe_results": float(count), "runs": float(run_id)}


async def timed(work: Any, repeat: int) -> dict[str, float]:
    await work()  # warm: connections, plans, caches
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        await work()
        times.append((time.perf_counter() - t) * 1000)
    return {
        "median_ms": round(statistics.median(times), 1),
        "min_ms": round(min(times), 1),
        "max_ms": round(max(times), 1),
        "runs": repeat,
    }


async def explain(url: str, sql: str) -> list[str]:
    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, database=u.database
    )
    try:
        rows = await conn.fetch("EXPLAIN " + sql)
    finally:
        await conn.close()
    return sorted({w.strip("(),") for r in rows for w in r[0].split() if w.startswith("ix_")})


async def measure(url: str, repeat: int) -> dict[str, Any]:
    store = Store(url)
    try:
        repo = DigestRepo(store)
        schedule = await repo.add("C0BENCH", "0 9 * * *", "UTC", "host-*", (), "bench")

        async def digest() -> None:
            d = await build(store, schedule, NOW, NOW)
            assert len(d.hosts) == HOSTS and d.forecasts

        async def history() -> None:
            await RunRepo(store).history("host-042", NOW - timedelta(hours=24))

        async def history_30d() -> None:
            await RunRepo(store).history("host-042", NOW - timedelta(days=30))

        out = {
            "digest_100_hosts": await timed(digest, repeat),
            "history_one_target_24h": await timed(history, repeat * 2),
            "history_one_target_30d_limit_100": await timed(history_30d, repeat * 2),
        }
        out["indexes"] = {
            "history": await explain(
                url,
                "SELECT * FROM runs WHERE started_at >= now() - interval '1 day' AND "
                "(target = 'host-042' OR target LIKE 'host-042 port %') "
                "ORDER BY started_at DESC, id DESC LIMIT 100",
            ),
            "latest_run_per_host": await explain(
                url,
                "SELECT id FROM runs WHERE target = 'host-042' AND command = 'triage' "
                "ORDER BY started_at DESC, id DESC LIMIT 1",
            ),
            "disk_series": await explain(
                url,
                "SELECT r.started_at, p.facts FROM probe_results p JOIN runs r ON "
                "r.id = p.run_id WHERE p.host = 'host-042' AND p.probe = 'disk' AND p.ok "
                "AND r.started_at >= now() - interval '14 days' ORDER BY p.run_id DESC LIMIT 96",
            ),
        }
        await admin(url, "DROP INDEX ix_runs_target_started")
        out["without_ix_runs_target_started"] = {
            "digest_100_hosts": await timed(digest, max(2, repeat // 2)),
            "history_one_target_24h": await timed(history, repeat),
        }
        return out
    finally:
        await store.close()


async def main(base: str, results: int, repeat: int) -> dict[str, Any]:
    name = f"tb_bench_{uuid.uuid4().hex[:10]}"
    await admin(base, f'CREATE DATABASE "{name}"')
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        store = Store(url)
        await store.upgrade()
        await store.close()
        loaded = await load(url, results)
        figures = await measure(url, repeat)
    finally:
        # `name` is generated above, never user text.
        kill = f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"  # noqa: S608
        await admin(base, kill)
        await admin(base, f'DROP DATABASE IF EXISTS "{name}"')
    return {
        "when": NOW.isoformat(),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "loadavg_1m": float(Path("/proc/loadavg").read_text().split()[0]),
        "budgets_ms": {"digest_100_hosts": 300, "history_one_target": 50},
        "data": loaded,
        **figures,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    base = os.environ.get("TRIAGEBOT_TEST_POSTGRES_URL")
    if not base:
        raise SystemExit("set TRIAGEBOT_TEST_POSTGRES_URL (a PostgreSQL the bench may use)")
    record = asyncio.run(main(base, args.results, args.repeat))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
