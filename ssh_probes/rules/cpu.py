"""CPU rules: cpu.saturated, cpu.iowait_high, cpu.steal_high and proc.blocked_io.

Saturation is judged on what the stat probe sampled over its window: CPU busy time (user,
nice, system, irq, softirq) and the run queue (procs_running at the start, middle and end, minus the
probe's own reader). The load average is context with its trend, never the basis: it counts
tasks blocked on I/O (D state) and lags minutes behind a burst that has ended. D-state tasks
point to storage: cpu.iowait_high, or proc.blocked_io when they block without iowait (NFS).
The stat rule also yields the memory findings (rules.memory).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.rules.base import Rule, Thresholds, level
from ssh_probes.rules.memory import memory_findings

CPU_SATURATED = Code(
    "cpu.saturated",
    "host",
    "CPU saturated",
    "The CPUs were busy through the sample window and more tasks were runnable than there are "
    "CPUs: requests wait for CPU time and latency climbs. A high load average alone is not "
    "this (it counts tasks waiting on disk and lags behind a burst).",
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

CPU_STEAL_HIGH = Code(
    "cpu.steal_high",
    "host",
    "CPU time stolen by the hypervisor",
    "The virtual machine was ready to run but the hypervisor ran someone else: at 10% of the "
    "window (warning) or 25% (critical) the host is slow although its own CPU use looks modest.",
    "Compare with the provider's CPU credit / noisy-neighbour metrics; move to a dedicated or "
    "larger instance class, or migrate the VM.",
)

PROC_BLOCKED_IO = Code(
    "proc.blocked_io",
    "host",
    "Tasks blocked on I/O",
    "Tasks stay in uninterruptible sleep (D state) without the CPUs waiting on a local disk: "
    "typically a hung NFS/network mount or a failing device. They raise the load average but "
    "are not CPU work.",
    "List them with `ps -eo pid,stat,wchan:32,cmd | awk '$2 ~ /D/'`, read `cat /proc/PID/stack`, "
    "and check network mounts (`mount -t nfs,nfs4,cifs`) and `dmesg` for I/O errors.",
)

CODES = (CPU_SATURATED, CPU_IOWAIT_HIGH, CPU_STEAL_HIGH, PROC_BLOCKED_IO)


SHOWN = 5


def _usable(facts: Facts | None) -> Facts | None:
    return facts if facts and facts.get("available") is not False else None


def run_queue(stat: Facts) -> int | None:
    """Runnable tasks besides the probe's own reader, sustained over the window.

    The smallest of the samples (start, middle, end): the ends coincide with triage's other
    probes starting and sampling, so only what stays runnable throughout counts.
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


def load_trend(load: Facts | None) -> str:
    """`rising`, `falling` or `steady`: the 1-minute load against the 5- and 15-minute ones."""
    if not load:
        return "unknown"
    one, five, fifteen = load["load1"], load["load5"], load["load15"]
    if one > 1.2 * five and one > fifteen:
        return "rising"
    if one < 0.8 * five:
        return "falling"
    return "steady"


def load_context(load: Facts | None) -> str:
    """`load 9.10/6.02/3.20 (1/5/15 min, rising)`, or an empty string without load facts."""
    if not load:
        return ""
    return (
        f"load {load['load1']:.2f}/{load['load5']:.2f}/{load['load15']:.2f} "
        f"(1/5/15 min, {load_trend(load)})"
    )


def saturation(
    stat: Facts | None, load: Facts | None, processes: Facts | None, host: HostTarget, t: Thresholds
) -> Finding | None:
    """The one cpu.saturated finding: busy CPUs and a run queue over the threshold per core."""
    stat, load = _usable(stat), _usable(load)
    if stat is None:
        return None  # the load average alone cannot tell CPU work from I/O waits or a past burst
    cpus, busy, queue = stat.get("cpus"), stat.get("busy_pct"), run_queue(stat)
    if not cpus or busy is None or queue is None or busy < t.cpu_busy_pct:
        return None
    # Compared unrounded: rounding could lift 1.995 per core over a threshold of 2.
    per_core = queue / cpus
    severity = level(per_core, t.load_per_core, t.load_per_core_critical)
    if severity is None:
        return None
    context = load_context(load)
    top, named = top_cpu(processes)
    busiest = f" Busiest now: {named}." if named else ""
    pid = str(top[0]["pid"]) if top else "PID"
    return CPU_SATURATED.finding(
        severity=severity,
        title=(
            f"CPU {busy:g}% busy over {stat.get('window_s')}s with {queue} runnable task(s) on "
            f"{cpus} CPU(s): {per_core:.2f} per core (threshold {t.load_per_core:g})"
            + (f"; {context}" if context else "")
        ),
        detail="More runnable tasks than CPUs while the CPUs are busy: requests queue for CPU "
        "time and latency climbs.",
        evidence={
            "basis": "run_queue",
            "cpus": cpus,
            "busy_pct": busy,
            "window_s": stat.get("window_s"),
            "run_queue": queue,
            "run_queue_per_core": round(per_core, 3),
            "procs_running_samples": stat.get("procs_running_samples"),
            "load1": (load or {}).get("load1"),
            "load5": (load or {}).get("load5"),
            "load15": (load or {}).get("load15"),
            "load_trend": load_trend(load),
            "top_cpu": top,
        },
        suggestion=(
            f"See what runs.{busiest} Inspect with `ps -o pid,ppid,cmd,%cpu,%mem -p {pid}` "
            f"and `top -H -p {pid}` for hot threads; `vmstat 1 5` tells CPU-bound (r high, "
            "wa low) from IO-bound (wa high, b high). Scale out or cap the offender "
            "(systemd CPUQuota=, docker --cpus); restart it only after draining its traffic, "
            "since a restart drops the requests in flight."
        ),
        host=host.name,
    )


def _steal(facts: Facts, host: HostTarget, t: Thresholds) -> Iterator[Finding]:
    pct = facts.get("steal_pct")
    severity = None if pct is None else level(pct, t.steal_warning_pct, t.steal_critical_pct)
    if severity is None:
        return
    yield CPU_STEAL_HIGH.finding(
        severity=severity,
        title=(
            f"{pct:g}% of CPU time stolen by the hypervisor over {facts.get('window_s')}s "
            f"(threshold {t.steal_warning_pct:g}%)"
        ),
        detail="The VM was ready to run but its host ran other guests: everything is slower "
        "than the VM's own CPU use suggests, and restarting services changes nothing.",
        evidence={
            "steal_pct": pct,
            "busy_pct": facts.get("busy_pct"),
            "window_s": facts.get("window_s"),
            "cpus": facts.get("cpus"),
        },
        suggestion=(
            "Confirm with `vmstat 1 5` (the `st` column) or `mpstat -P ALL 1 5`; check the "
            "provider's metrics (CPU credits on burstable instances, noisy neighbours). Move "
            "to a larger or dedicated instance class, or migrate the VM to another host."
        ),
        host=host.name,
    )


def blocked_tasks(stat: Facts) -> int | None:
    """Tasks in D state in every sample (the smallest count): sustained, not a passing read."""
    samples = [s for s in stat.get("procs_blocked_samples") or [] if s is not None]
    return min(samples) if samples else None


def _blocked(
    facts: Facts, host: HostTarget, t: Thresholds, load: Facts | None
) -> Iterator[Finding]:
    blocked = blocked_tasks(facts)
    iowait = facts.get("iowait_pct")
    if blocked is None or (iowait is not None and iowait >= t.iowait_warning_pct):
        return  # cpu.iowait_high already names them
    severity = level(blocked, t.blocked_tasks_warning, t.blocked_tasks_critical)
    if severity is None:
        return
    context = load_context(_usable(load))
    yield PROC_BLOCKED_IO.finding(
        severity=severity,
        title=(
            f"{blocked} task(s) blocked in uninterruptible I/O (D state) with {iowait}% iowait "
            f"(threshold {t.blocked_tasks_warning})" + (f"; {context}" if context else "")
        ),
        detail="Tasks wait on storage that does not answer (a hung NFS or network mount, a "
        "failing disk): they raise the load average without using CPU, and whatever touches "
        "that storage hangs.",
        evidence={
            "procs_blocked": blocked,
            "procs_blocked_samples": facts.get("procs_blocked_samples"),
            "iowait_pct": iowait,
            "busy_pct": facts.get("busy_pct"),
            "load1": (load or {}).get("load1"),
        },
        suggestion=(
            "List them and where they wait: `ps -eo pid,stat,wchan:32,cmd | awk '$2 ~ /D/'` "
            "and `cat /proc/PID/stack`; check network mounts (`mount -t nfs,nfs4,cifs`, "
            "`timeout 5 stat -f MOUNT`) and `dmesg | grep -iE 'blocked for|I/O error|nfs'`. "
            "Killing them does not help (D state ignores signals): fix the storage or its path."
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


def stat_rule(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    """The stat probe's findings: saturation, iowait, steal, blocked tasks, then memory."""
    found = saturation(facts, extra.get("load"), extra.get("processes"), host, t)
    if found is not None:
        yield found
    yield from _iowait(facts, host, t)
    yield from _steal(facts, host, t)
    yield from _blocked(facts, host, t, extra.get("load"))
    yield from memory_findings(facts, host, t, extra)


RULES: dict[str, Rule] = {"stat": stat_rule}
