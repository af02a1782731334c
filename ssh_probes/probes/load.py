"""CPU load: `/proc/loadavg` and the number of online CPUs."""

from __future__ import annotations

from ssh_probes.model import CommandResult, Facts, Probe


def parse(result: CommandResult) -> Facts:
    """`0.44 0.23 0.09 1/139 7053` then the CPU count on its own line."""
    lines = result.stdout.split()
    if len(lines) < 6:
        raise ValueError(f"expected /proc/loadavg and a CPU count, got {result.stdout[:80]!r}")
    load1, load5, load15 = (float(x) for x in lines[:3])
    running, _, total = lines[3].partition("/")
    cpus = int(lines[5])
    if cpus < 1:
        raise ValueError(f"CPU count {cpus} is not positive")
    return {
        "load1": load1,
        "load5": load5,
        "load15": load15,
        "running": int(running),
        "total_tasks": int(total),
        "cpus": cpus,
        "load1_per_core": round(load1 / cpus, 3),
    }


LOAD = Probe(
    name="load",
    area="cpu",
    command=("sh", "-c", "cat /proc/loadavg && getconf _NPROCESSORS_ONLN"),
    parse=parse,
    timeout_s=5.0,
)
