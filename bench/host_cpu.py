"""Benchmark: the CPU one triage costs the host it examines (user + system, every process).

Run as root from the repository root:

    .venv/bin/python -m bench.host_cpu [--runs 10] [--own-pids]

A lab host's sshd is put in a cgroup of its own (cgroup v1 `cpuacct`), so every process a
triage starts on the host (sshd's session processes, the login shell, the probes' commands)
is accounted there by the kernel; the figure is the cgroup's `cpuacct.usage` delta per run.
Measured for: the default triage with every probe in one batched session (today), the same
with one session per probe (as before the batch), and two by-hand references with one `ssh`
each: the seed's routine (`bench.fleet_tools.SEED_ROUTINE`: top, free, vmstat 1, ps aux,
journalctl, ss, df, docker ps) and triagebot's own probe commands in one shell; and the
floor of any remote routine: one connection, as triage opens it, running `true`; and the
batch's own cost: no-op probe scripts in one session, with the default probes' limits
before issue 18's last pass (7 distinct: 7 host-side `timeout` groups) and now (2).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
from pathlib import Path
from typing import Any

from bench import record
from bench.fleet_tools import SEED_ROUTINE, probe_commands, remote_script
from commands import triage
from ssh_probes.checks import DEFAULT_PROBES
from ssh_probes.executor import SSHExecutor
from ssh_probes.probes import build
from ssh_probes.runner import made_from_others
from tests.lab.fixtures import target_for
from tests.lab.netns import Lab, LabHost

CGROUP = Path("/sys/fs/cgroup/cpuacct")


def usage_ms(group: Path) -> float:
    """CPU time of every task in the cgroup so far, ms."""
    return int((group / "cpuacct.usage").read_text()) / 1e6


def triage_once(host: LabHost, batched: bool) -> None:
    saved = SSHExecutor.run_many
    if not batched:
        SSHExecutor.run_many = None  # type: ignore[assignment,method-assign]
    try:
        report = asyncio.run(triage.run(target_for(host)))
    finally:
        SSHExecutor.run_many = saved  # type: ignore[method-assign]
    if report.status != "ok":
        raise SystemExit(f"triage not ok: {[(r.probe, r.error) for r in report.results]}")


def by_hand_once(host: LabHost, seed: bool) -> None:
    commands = list(SEED_ROUTINE) if seed else probe_commands(target_for(host))
    script = remote_script(commands)
    subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", host.key_path, "-p", str(host.port),
         "-o", f"UserKnownHostsFile={host.workdir / 'known_hosts'}",
         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
         f"{host.user}@{host.address}", script],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def session_true_once(host: LabHost) -> None:
    """The floor of any remote routine: one connection (as triage opens it) running `true`."""

    async def go() -> None:
        async with SSHExecutor(target_for(host)) as executor:
            if not (await executor.run(["true"])).ok:
                raise SystemExit("`true` failed on the lab host")

    asyncio.run(go())


def noop_batch_once(host: LabHost, limits: list[float]) -> None:
    """The batch's own cost: one session running len(limits) no-op probe scripts, with one
    host-side `timeout` per distinct limit (issue 18: 7 distinct limits before, 2 now)."""

    async def go() -> None:
        async with SSHExecutor(target_for(host)) as executor:
            outs = await executor.run_many([["sh", "-c", ":"]] * len(limits), limits)
            if not all(out.ok for out in outs):
                raise SystemExit("a no-op batch failed on the lab host")

    asyncio.run(go())


# The default probes' limits before issue 18's last pass (14 commands; 5, 6, 7, 10, 11, 15
# and 20 s), and now: the commands a default triage sends (sockets reuses connections' ss).
LIMITS_BEFORE = [5.0, 6.0, 11.0, 10.0, 5.0, 10.0, 20.0, 10.0, 11.0, 7.0, 10.0, 15.0, 10.0, 5.0]
_PROBES = [build(name) for name in DEFAULT_PROBES]
_MADE = made_from_others(_PROBES)
LIMITS_NOW = [p.timeout_s for p in _PROBES if p.name not in _MADE]


def measure(group: Path, runs: int, once: Any) -> dict[str, float]:
    once()  # warm-up
    costs = []
    for _ in range(runs):
        before = usage_ms(group)
        once()
        costs.append(usage_ms(group) - before)
    return {"median_ms": statistics.median(costs), "min_ms": min(costs), "max_ms": max(costs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--own-pids", action="store_true")
    args = parser.parse_args()
    lab = Lab()
    group = CGROUP / f"tb-host-cpu-{os.getpid()}"
    try:
        host = lab.add_host(own_pids=args.own_pids)
        known = f"{host.address} {host.host_key_line}\n"
        (host.workdir / "known_hosts").write_text(known)
        group.mkdir(exist_ok=True)
        (group / "tasks").write_text(str(host.namespace_pid()))
        rows = {
            "batched": measure(group, args.runs, lambda: triage_once(host, True)),
            "one_session_per_probe": measure(group, args.runs, lambda: triage_once(host, False)),
            "seed_routine_one_ssh": measure(group, args.runs, lambda: by_hand_once(host, True)),
            "own_commands_one_ssh": measure(group, args.runs, lambda: by_hand_once(host, False)),
            "connection_running_true": measure(group, args.runs, lambda: session_true_once(host)),
            "noop_batch_7_limits": measure(
                group, args.runs, lambda: noop_batch_once(host, LIMITS_BEFORE)
            ),
            "noop_batch_2_limits": measure(
                group, args.runs, lambda: noop_batch_once(host, LIMITS_NOW)
            ),
        }
    finally:
        lab.close()
        with contextlib.suppress(OSError):
            group.rmdir()
    result = {"runs": args.runs, "own_pids": args.own_pids, "rows": rows,
              "loadavg": record.loadavg(), "busy": record.busy()}  # fmt: skip
    out = record.append("host_cpu", result)
    table = [{"case": k, **v} for k, v in rows.items()]
    print(record.table(table, ["case", "median_ms", "min_ms", "max_ms"]))
    print(f"recorded in {out}")


if __name__ == "__main__":
    main()
