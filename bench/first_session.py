"""Benchmark: how long the first session of a new SSH connection takes to open, with and
without ssh_probes.quickack (the host's packets ACKed at once).

Run as root from the repository root:

    .venv/bin/python -m bench.first_session [--runs 15]

One lab host (own PID namespace, real sshd). Each run opens a new connection with the
executor's own settings, then times `create_process("true")` (channel open + exec request,
until the host confirms) on it, and the second session for reference. "plain" removes the
quick-ACK wrapper again right after connecting, so the only difference is the wrapper.
Runs alternate between the two modes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench import record
from ssh_probes.executor import SSHExecutor, SSHOptions
from tests.lab.fixtures import target_for
from tests.lab.netns import Lab, LabHost


async def once(host: LabHost, quick: bool) -> tuple[float, float]:
    """(first session ms, second session ms) on a new connection."""
    executor = SSHExecutor(target_for(host), SSHOptions(connect_timeout_s=5.0))
    try:
        await executor.connect()
        conn = executor._conn
        assert conn is not None
        if not quick:
            del conn.data_received  # the class's own method again: no quick ACKs
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            process = await conn.create_process("true")
            times.append((time.perf_counter() - t0) * 1000)
            await process.wait()
        return times[0], times[1]
    finally:
        await executor.close()


def main() -> None:
    """Alternate both modes over --runs new connections each; record medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    load0 = record.loadavg()
    lab = Lab()
    try:
        host = lab.add_host(own_pids=True)
        got: dict[str, list[tuple[float, float]]] = {"quickack": [], "plain": []}
        asyncio.run(once(host, True))  # warm-up
        for _ in range(args.runs):
            for mode in got:
                got[mode].append(asyncio.run(once(host, mode == "quickack")))
    finally:
        lab.close()
    rows = {
        mode: {
            "first_median_ms": round(statistics.median(t[0] for t in runs), 2),
            "first_max_ms": round(max(t[0] for t in runs), 2),
            "second_median_ms": round(statistics.median(t[1] for t in runs), 2),
        }
        for mode, runs in got.items()
    }
    out = record.append(
        "first_session",
        {"runs": args.runs, "rows": rows, "loadavg_before": load0,
         "loadavg_after": record.loadavg()},
    )  # fmt: skip
    table = [{"mode": mode, **row} for mode, row in rows.items()]
    columns = ["mode", "first_median_ms", "first_max_ms", "second_median_ms"]
    print(record.table(table, columns))
    print(f"load average {load0:.2f} -> {record.loadavg():.2f}; recorded in {out}")


if __name__ == "__main__":
    main()
