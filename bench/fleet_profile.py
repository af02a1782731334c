"""Where the time of a large fleet triage goes (a diagnosis for `bench.fleet`, not a figure).

Run as root from the repository root:

    .venv/bin/python -m bench.fleet_profile [--hosts 50] [--runs 3] [--cprofile] [--own-pids]

For one fleet size: wall time and machine CPU (all cores, from /proc/stat) of the default
triage, of the same triage with more SSH channels per host (all probes at once), and of
parallel ssh; the step breakdown of bench.fleet.profile; optionally a cProfile of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import record
from bench.fleet import profile
from bench.fleet_tools import Tools, probe_commands, remote_script
from commands import triage
from ssh_probes.executor import SSHOptions
from ssh_probes.model import HostTarget
from ssh_probes.probes import DEFAULT_PROBES
from tests.lab.fixtures import target_for
from tests.lab.netns import Lab


def cpu_busy_s() -> float:
    """CPU-seconds spent busy by all cores since boot (/proc/stat, everything but idle)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed(work: Callable[[], object]) -> dict[str, float]:
    """Wall, machine CPU and this process's CPU for one call of `work`."""
    busy0, cpu0, t0 = cpu_busy_s(), time.process_time(), time.perf_counter()
    work()
    return {
        "wall_s": time.perf_counter() - t0,
        "machine_cpu_s": cpu_busy_s() - busy0,
        "bench_process_cpu_s": time.process_time() - cpu0,
    }


async def _fleet(targets: list[HostTarget], channels: int) -> None:
    opts = triage.TriageOptions(ssh=SSHOptions(max_channels=channels))
    reports = await asyncio.gather(*(triage.run(t, opts) for t in targets))
    if any(r.status != "ok" for r in reports):
        raise RuntimeError("a host did not answer cleanly")


def main() -> None:
    """Build the lab, time each variant --runs times, print and save the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument(
        "--own-pids", action="store_true", help="lab hosts with their own PID namespace"
    )
    args = parser.parse_args()
    lab = Lab()
    tools: Tools | None = None
    out: dict[str, Any] = {
        "hosts": args.hosts,
        "runs": args.runs,
        "own_pids": args.own_pids,
        "loadavg_before": record.loadavg(),
    }
    try:
        hosts = [lab.add_host(own_pids=args.own_pids) for _ in range(args.hosts)]
        targets = [target_for(h) for h in hosts]
        both = tools = Tools(hosts)
        script = remote_script(probe_commands(targets[0]))
        variants: dict[str, Callable[[], object]] = {
            "triagebot (max_channels 8, default)": lambda: asyncio.run(_fleet(targets, 8)),
            "triagebot (max_channels 10)": lambda: asyncio.run(_fleet(targets, 10)),
            "parallel ssh": lambda: both.parallel_ssh(hosts, script, len(DEFAULT_PROBES)),
        }
        for name, work in variants.items():
            work()
            runs = [timed(work) for _ in range(args.runs)]
            out[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(name, out[name], flush=True)
        out["steps"] = asyncio.run(profile(targets))
        if args.cprofile:
            prof = cProfile.Profile()
            prof.runcall(lambda: asyncio.run(_fleet(targets, 8)))
            text = io.StringIO()
            pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(15)
            out["cprofile_top_tottime"] = text.getvalue()[-4000:]
    finally:
        if tools is not None:
            tools.close()
        lab.close()
    path = record.append("fleet_profile", out)
    print(json.dumps({k: v for k, v in out.items() if k != "cprofile_top_tottime"}, indent=1))
    print(out.get("cprofile_top_tottime", ""))
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
