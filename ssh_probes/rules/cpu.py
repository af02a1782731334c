"""CPU rules: cpu.saturated (load or run queue per core) and cpu.iowait_high.

cpu.saturated is one finding per host. The load probe's rule decides it from both the load
average and the stat probe's run queue; the stat rule decides it only when the load probe
did not succeed. The stat rule also yields the memory findings (rules.memory).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import SEVERITY_RANK, Facts, Finding, HostTarget, Severity
from ssh_probes.rules.base import Rule, Thresholds, level
from ssh_probes.rules.memory import memory_findings

CPU_SATURATED = Code(
    "cpu.saturated",
    "host",
    "CPU saturated",
    "More runnable tasks than CPUs (load per core above the threshold): requests wait for CPU time"
    " and latency climbs.",
    "Find the busy processes (`ps -eo pid,%cpu,cmd --sort=-%cpu | head`, `top -H` for threads); "
    "scale out or cap the offender.",
)

CPU_IOWAIT_HIGH = Code(
    "cpu.iowait_high",
    "host",
    "CPU waiting on I/O",
    "CPUs idle while tasks wait for disk or network storage: a slow or saturated device.",
    "`iostat -x 1` / `vmstat 1` for the device and `iotop` for the process; check the disk's "
    "health and noisy neighbours.",
)

CODES = (CPU_SATURATED, CPU_IOWAIT_HIGH)


SHOWN = 5


def _usable(facts: Facts | None) -> Facts | None:
    return facts if facts and facts.get("available") is not False else None


def run_queue(stat: Facts) -> int | None:
    """Runnable tasks besides the probe's own reader, sustained over the window.

    The smaller of the two samples: the first is taken while triage's other probes start,
    so only what is still runnable after the window counts as the host's load.
    """
    samples = [s for s in stat.get("procs_running_samples") or [] if s is not None]
    return max(0, min(samples) - 1) if samples else None


def top_cpu(processes: Facts | None) -> tuple[list[dict[str, Any]], str]:
    """The busiest processes as evidence and as `pid 2 python3 (34.1%), ...`."""
    procs = _usable(processes)
    if procs is None:
        return [], ""
    top = [
        {"pid": p["pid"], "command": p["command"], "cpu_pct": p["cpu_pct"]}
        for p in procs.get("top_cpu", [])
        if p.get("cpu_pct")
    ][:SHOWN]
    return top, ", ".join(f"pid {p['pid']} {p['command']} ({p['cpu_pct']:g}%)" for p in top)


def saturation(
    load: Facts | None, stat: Facts | None, processes: Facts | None, host: HostTarget, t: Thresholds
) -> Finding | None:
    """The one cpu.saturated finding: the worse of load per core and run queue per core."""
    load, stat = _usable(load), _usable(stat)
    cpus = (load or {}).get("cpus") or (stat or {}).get("cpus")
    if not cpus:
        return None
    candidates: list[tuple[int, float, str, Severity]] = []
    # Compared unrounded: rounding could lift 1.995 per core over a threshold of 2.
    load_pc = load["load1"] / cpus if load else None
    queue = run_queue(stat) if stat else None
    queue_pc = queue / cpus if queue is not None else None
    for basis, value in (("load", load_pc), ("run_queue", queue_pc)):
        sev = None if value is None else level(value, t.load_per_core, t.load_per_core_critical)
        if sev is not None and value is not None:
            candidates.append((SEVERITY_RANK[sev], -value, basis, sev))
    if not candidates:
        return None
    _, _, basis, severity = min(candidates)
    if basis == "load" and load:
        title = f"load {load['load1']:.2f} on {cpus} CPU(s): {load_pc:.2f} per core"
    else:
        title = f"run queue {queue} on {cpus} CPU(s): {queue_pc:.2f} per core"
    top, named = top_cpu(processes)
    busiest = f" Busiest now: {named}." if named else ""
    pid = str(top[0]["pid"]) if top else "PID"
    return CPU_SATURATED.finding(
        severity=severity,
        title=f"{title} (threshold {t.load_per_core:g})",
        detail="More runnable tasks than CPUs: requests queue for CPU time and latency climbs.",
        evidence={
            "basis": basis,
            "cpus": cpus,
            "load1": (load or {}).get("load1"),
            "load5": (load or {}).get("load5"),
            "load15": (load or {}).get("load15"),
            "load_per_core": None if load_pc is None else round(load_pc, 3),
            "run_queue": queue,
            "run_queue_per_core": None if queue_pc is None else round(queue_pc, 3),
            "procs_running_samples": (stat or {}).get("procs_running_samples"),
            "top_cpu": top,
        },
        suggestion=(
            f"See what runs.{busiest} Inspect with `ps -o pid,ppid,cmd,%cpu,%mem -p {pid}` "
            f"and `top -H -p {pid}` for hot threads; `vmstat 1 5` tells CPU-bound (r high, "
            "wa low) from IO-bound (wa high, b high). Scale out or cap the offender "
            "(systemd CPUQuota=, docker --cpus) before restarting it."
        ),
        host=host.name,
    )


def _iowait(facts: Facts, host: HostTarget, t: Thresholds) -> Iterator[Finding]:
    pct = facts.get("iowait_pct")
    if pct is None:
        return
    severity = level(pct, t.iowait_warning_pct, t.iowait_critical_pct)
    if severity is None:
        return
    blocked = facts.get("procs_blocked")
    yield CPU_IOWAIT_HIGH.finding(
        severity=severity,
        title=(
            f"{pct:g}% of CPU time waiting on I/O over {facts.get('window_s')}s "
            f"(threshold {t.iowait_warning_pct:g}%), {blocked} task(s) blocked"
        ),
        detail="CPUs sit idle while tasks wait for a slow or saturated disk or network storage.",
        evidence={
            "iowait_pct": pct,
            "procs_blocked": blocked,
            "procs_blocked_samples": facts.get("procs_blocked_samples"),
            "window_s": facts.get("window_s"),
            "cpus": facts.get("cpus"),
        },
        suggestion=(
            "Find the device and the process: `iostat -x 1 5` (%util and await per device), "
            f"`iotop -o` (who does I/O); the {blocked} blocked (D state) task(s): "
            "`ps -eo pid,stat,wchan:20,cmd | awk '$2 ~ /D/'`. Check the disk's health "
            "(`dmesg | grep -i error`) and noisy neighbours on shared storage."
        ),
        host=host.name,
    )


def _from_load(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    found = saturation(facts, extra.get("stat"), extra.get("processes"), host, t)
    if found is not None:
        yield found


def stat_rule(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    """The stat probe's findings: saturation (without load facts), iowait, then memory."""
    if _usable(extra.get("load")) is None:
        found = saturation(None, facts, extra.get("processes"), host, t)
        if found is not None:
            yield found
    yield from _iowait(facts, host, t)
    yield from memory_findings(facts, host, t, extra)


RULES: dict[str, Rule] = {"load": _from_load, "stat": stat_rule}
