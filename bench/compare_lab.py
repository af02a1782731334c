"""Benchmark: `triage HOST compare group=web` against lab hosts over real SSH.

Run as root from the repository root:

    .venv/bin/python -m bench.compare_lab [--hosts 5] [--runs 7]

Three figures, in-process on a temporary SQLite database (what a Slack command waits for,
storage included): the plain triage of one host, the comparison with every sibling triaged at
once (TRIAGEBOT_COMPARE_REUSE_S=0), and the comparison reusing the siblings' stored runs (only
HOST is triaged). Default settings (1 s CPU sample window, every probe). Medians over --runs,
written to bench/results/compare_lab.json and printed as a table.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.record import append, busy, loadavg, summary, table
from bot.service import triage_host
from bot.settings import Settings
from bot.store.db import Store
from bot.store.hosts import HostRepo
from commands.hosts import HostSpec
from tests.lab.netns import Lab, LabHost


async def measure(hosts: list[LabHost], runs: int, db: str) -> list[dict[str, Any]]:
    store = Store(db)
    await store.upgrade()
    try:
        await HostRepo(store).add_many(
            [
                HostSpec(f"web-{i}", h.address, key_path=h.key_path,
                         host_keys=(h.host_key_line,), labels={"group": "web"})
                for i, h in enumerate(hosts, 1)
            ]
        )  # fmt: skip
        reuse = Settings(database_url=db)
        fresh = Settings(database_url=db, compare_reuse_s=0)
        work: Sequence[tuple[str, Settings, list[str]]] = (
            ("triage web-1 (one host)", reuse, ["web-1"]),
            (f"compare, all {len(hosts)} hosts triaged at once", fresh,
             ["web-1", "compare", "group=web"]),
            (f"compare, {len(hosts) - 1} siblings' stored runs reused", reuse,
             ["web-1", "compare", "group=web"]),
        )  # fmt: skip
        rows = []
        for name, settings, words in work:
            await triage_host(store, settings, words)  # warm-up: page cache, sshd forks
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                report = await triage_host(store, settings, words)
                times.append(time.perf_counter() - t0)
                if report.status == "failed":
                    raise SystemExit(f"a lab host did not answer: {report.findings}")
            rows.append({"work": name, "hosts": len(hosts), **summary(times)})
        return rows
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=5)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    lab = Lab()
    try:
        hosts = [lab.add_host(own_pids=True) for _ in range(args.hosts)]
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            load_before = loadavg()
            rows = asyncio.run(measure(hosts, args.runs, db))
    finally:
        lab.close()
    path = append(
        "compare_lab",
        {"runs": args.runs, "loadavg_before": load_before, "busy": busy(), "rows": rows},
    )
    print(table(rows, ["work", "hosts", "median_s", "min_s", "max_s"]))
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
