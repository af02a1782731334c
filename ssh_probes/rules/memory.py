"""Memory rules on the stat probe's facts: mem.pressure and mem.swapping.

They name the largest processes by RSS from the processes probe when it ran. The stat probe
has one rule entry (cpu.stat_rule), which yields these after the CPU findings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget, Severity
from ssh_probes.rules.base import Thresholds, human_kb, level

MEM_PRESSURE = Code(
    "mem.pressure",
    "host",
    "Memory pressure",
    "Little memory available: the kernel reclaims cache aggressively and may OOM-kill.",
    "Find the largest RSS (`ps -eo pid,rss,cmd --sort=-rss | head`); fix the leak or add memory; "
    "set container memory limits deliberately; drain traffic before restarting anything, and "
    "never restart a database to free memory (tune it or fail over).",
)

MEM_SWAPPING = Code(
    "mem.swapping",
    "host",
    "Swapping",
    "Pages move to and from swap at a rate that matters (256 pages/s and 512 pages in the window "
    "by default): everything touching them slows down. A few pages in one window are not this.",
    "Reduce memory use or add RAM; `vmstat 1` (si/so) confirms; lower vm.swappiness only after the"
    " cause is known.",
)

CODES = (MEM_PRESSURE, MEM_SWAPPING)


SHOWN = 5


def at_or_below(value: float, warning: float, critical: float) -> Severity | None:
    """critical at or below `critical`, warning at or below `warning`, else None."""
    if value <= critical:
        return "critical"
    if value <= warning:
        return "warning"
    return None


def top_rss(processes: Facts | None) -> tuple[list[dict[str, Any]], str]:
    """The largest processes by RSS as evidence and as `pid 8 java 1.2G, ...`."""
    if not processes or processes.get("available") is False:
        return [], ""
    top = [
        {"pid": p["pid"], "command": p["command"], "rss_kb": p["rss_kb"]}
        for p in processes.get("top_mem", [])[:SHOWN]
    ]
    return top, ", ".join(f"pid {p['pid']} {p['command']} {human_kb(p['rss_kb'])}" for p in top)


def _pressure(
    facts: Facts, host: HostTarget, t: Thresholds, procs: Facts | None
) -> Iterator[Finding]:
    pct = facts.get("mem_available_pct")
    if pct is None:
        return
    severity = at_or_below(pct, t.mem_available_warning_pct, t.mem_available_critical_pct)
    if severity is None:
        return
    top, named = top_rss(procs)
    biggest = f" Largest RSS: {named}." if named else ""
    first = f"-p {top[0]['pid']}" if top else "-p PID"
    yield MEM_PRESSURE.finding(
        severity=severity,
        title=(
            f"only {pct:g}% of memory available ({human_kb(facts['mem_available_kb'])} of "
            f"{human_kb(facts['mem_total_kb'])}; threshold {t.mem_available_warning_pct:g}%)"
        ),
        detail="The kernel is reclaiming cache hard; the next allocation spike may OOM-kill.",
        evidence={
            "mem_total_kb": facts["mem_total_kb"],
            "mem_available_kb": facts["mem_available_kb"],
            "mem_available_pct": pct,
            "mem_available_estimated": facts.get("mem_available_estimated", False),
            "zfs_arc_reclaimable_kb": facts.get("zfs_arc_reclaimable_kb"),
            "swap_total_kb": facts.get("swap_total_kb"),
            "swap_free_kb": facts.get("swap_free_kb"),
            "top_rss": top,
        },
        suggestion=(
            f"Find what holds the memory.{biggest} Inspect with "
            f"`ps -o pid,ppid,cmd,%cpu,%mem,rss {first}` and `free -h`; check "
            "`journalctl -k | grep -i oom` for kills so far. Fix the leak, add memory, or cap "
            "the offender (systemd MemoryMax=, docker --memory). Before restarting it, drain "
            "its traffic (take it out of the load balancer) since a restart drops the requests "
            "in flight. If the offender is the database, do not restart it: lower its memory "
            "settings (shared_buffers, work_mem x connections, innodb_buffer_pool_size), end "
            "runaway sessions, or fail over to a replica first."
        ),
        host=host.name,
    )


def _swapping(
    facts: Facts, host: HostTarget, t: Thresholds, procs: Facts | None
) -> Iterator[Finding]:
    rates = [facts.get("swap_in_pages_per_s"), facts.get("swap_out_pages_per_s")]
    if all(r is None for r in rates):
        return
    swap_in, swap_out = (r or 0.0 for r in rates)
    total = swap_in + swap_out
    moved = total * float(facts.get("window_s") or 0.0)
    severity = level(total, t.swap_pages_per_s_warning, t.swap_pages_per_s_critical)
    if severity is None or moved < t.swap_min_pages:
        return
    top, named = top_rss(procs)
    biggest = f" Largest RSS: {named}." if named else ""
    used = None
    if facts.get("swap_total_kb") is not None and facts.get("swap_free_kb") is not None:
        used = facts["swap_total_kb"] - facts["swap_free_kb"]
    yield MEM_SWAPPING.finding(
        severity=severity,
        title=(
            f"swapping {total:g} pages/s (in {swap_in:g}, out {swap_out:g}; threshold "
            f"{t.swap_pages_per_s_warning:g})"
            + (f", {human_kb(used)} of swap in use" if used is not None else "")
        ),
        detail="Pages move to and from swap while the host runs: every access to them waits "
        "on the disk.",
        evidence={
            "swap_in_pages_per_s": swap_in,
            "pages_moved": round(moved),
            "swap_out_pages_per_s": swap_out,
            "major_faults_per_s": facts.get("major_faults_per_s"),
            "swap_used_kb": used,
            "mem_available_pct": facts.get("mem_available_pct"),
            "window_s": facts.get("window_s"),
            "top_rss": top,
        },
        suggestion=(
            f"Memory is overcommitted.{biggest} Confirm with `vmstat 1 5` (si/so columns) "
            "and find who is swapped out with "
            "`grep VmSwap /proc/[0-9]*/status | sort -k2 -n | tail`; reduce or cap the "
            "largest consumer or add RAM. Lower vm.swappiness only once the cause is known."
        ),
        host=host.name,
    )


def memory_findings(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    """mem.pressure and mem.swapping from the stat probe's facts."""
    procs = extra.get("processes")
    yield from _pressure(facts, host, t, procs)
    yield from _swapping(facts, host, t, procs)
