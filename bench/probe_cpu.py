"""Benchmark: the host CPU each probe's own command costs (user + system, every process).

Run as root from the repository root:

    .venv/bin/python -m bench.probe_cpu [--runs 10] [--label TEXT]

One lab host with its own PID and mount namespaces (bench.host_cpu measures the whole
triage over SSH on the same kind of host). Each default probe's argv, exactly as the batch
runs it (less the SSH session and the host-side `timeout`), is started inside the host's
namespaces from a process placed in a cgroup v1 `cpuacct` of its own, so the kernel
accounts every process the command starts; the figure is the cgroup's usage delta, less the
same delta for `true` (nsenter's own cost). Medians of --runs after one warm-up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
from pathlib import Path

from bench import record
from bench.fleet_tools import _enter
from ssh_probes.model import ProbeConfig
from ssh_probes.probes import DEFAULT_PROBES, build
from ssh_probes.runner import made_from_others
from tests.lab.fixtures import target_for
from tests.lab.netns import Lab, LabHost

CGROUP = Path("/sys/fs/cgroup/cpuacct")


def usage_ms(group: Path) -> float:
    """CPU time of every task in the cgroup so far, ms."""
    return int((group / "cpuacct.usage").read_text()) / 1e6


def run_in(group: Path, host: LabHost, argv: list[str]) -> float:
    """CPU ms of one run of argv in the host's namespaces, accounted in `group`."""

    def join() -> None:
        (group / "tasks").write_text(str(os.getpid()))

    before = usage_ms(group)
    subprocess.run(
        [*_enter(host), "env", "LC_ALL=C", *argv], preexec_fn=join, check=False,
        capture_output=True, timeout=60,
    )  # fmt: skip
    return usage_ms(group) - before


def measure(group: Path, host: LabHost, runs: int, window: float) -> dict[str, dict[str, float]]:
    """Per probe: median, min, max CPU ms less the `true` baseline."""
    config = ProbeConfig(sample_window_s=window)
    target = target_for(host)
    argvs = {name: list(build(name, config).argv(target)) for name in DEFAULT_PROBES}
    argvs["(nsenter + env + true)"] = ["true"]
    costs: dict[str, list[float]] = {name: [] for name in argvs}
    for argv in argvs.values():
        run_in(group, host, argv)  # warm-up: page cache
    for _ in range(runs):
        for name, argv in argvs.items():
            costs[name].append(run_in(group, host, argv))
    base = statistics.median(costs.pop("(nsenter + env + true)"))
    rows = {
        name: {
            "median_ms": statistics.median(c) - base,
            "min_ms": min(c) - base,
            "max_ms": max(c) - base,
        }
        for name, c in costs.items()
    }
    # A probe that reuses another's output in a triage (sockets: connections' ss) runs alone
    # here, to show what it costs when it does; a triage does not pay it.
    reused = made_from_others([build(n) for n in DEFAULT_PROBES])
    rows["sum of medians (what a triage runs)"] = {
        "median_ms": sum(r["median_ms"] for n, r in rows.items() if n not in reused),
        "min_ms": 0.0,
        "max_ms": 0.0,
    }
    rows["baseline (nsenter + env + true)"] = {"median_ms": base, "min_ms": 0.0, "max_ms": 0.0}
    return rows


def main() -> None:
    """Start one own-PID lab host, measure every probe, record, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--window", type=float, default=0.2, help="sample window, s")
    parser.add_argument("--label", default="", help="what code this run measured")
    args = parser.parse_args()
    load0 = record.loadavg()
    lab = Lab()
    group = CGROUP / f"tb-probe-cpu-{os.getpid()}"
    try:
        host = lab.add_host(own_pids=True)
        group.mkdir(exist_ok=True)
        rows = measure(group, host, args.runs, args.window)
    finally:
        lab.close()
        with contextlib.suppress(OSError):
            group.rmdir()
    result = {"runs": args.runs, "window_s": args.window, "label": args.label, "rows": rows,
              "loadavg_before": load0, "loadavg_after": record.loadavg()}  # fmt: skip
    out = record.append("probe_cpu", result)
    table = [{"probe": k, **v} for k, v in rows.items()]
    print(record.table(table, ["probe", "median_ms", "min_ms", "max_ms"]))
    print(f"recorded in {out}")


if __name__ == "__main__":
    main()
