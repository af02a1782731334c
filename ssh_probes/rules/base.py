"""What every rule module shares: thresholds, the rule signature, small formatters."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget, Severity

SOURCE_UNAVAILABLE = Code(
    "source.unavailable",
    "host",
    "A source of facts is missing on the host",
    "The probe ran but the host has no such source (no systemd, no Docker, no permission to read "
    "the kernel log): that part of the routine saw nothing.",
    "Install or grant access to the source if the area matters for this host (e.g. add the bot's "
    "user to the systemd-journal or docker group).",
)

CODES = (SOURCE_UNAVAILABLE,)


@dataclass(frozen=True)
class Thresholds:
    """When a fact becomes a finding. Defaults are the documented ones (README, settings)."""

    # disk.full / disk.inodes_full: percent used.
    disk_warning_pct: float = 90.0
    disk_critical_pct: float = 95.0
    inode_warning_pct: float = 90.0
    inode_critical_pct: float = 95.0
    # cpu.saturated: 1-minute load (or runnable tasks) per CPU.
    load_per_core: float = 1.0
    load_per_core_critical: float = 2.0
    # cpu.iowait_high: percent of CPU time waiting on I/O over the sample window.
    iowait_warning_pct: float = 20.0
    iowait_critical_pct: float = 50.0
    # mem.pressure: MemAvailable as a percent of MemTotal, at or below.
    mem_available_warning_pct: float = 10.0
    mem_available_critical_pct: float = 5.0
    # mem.swapping: pages swapped in + out per second over the sample window.
    swap_pages_per_s_warning: float = 100.0
    swap_pages_per_s_critical: float = 1000.0
    # tcp.*: sockets in the state, at or above.
    time_wait_warning: int = 1000
    syn_sent_warning: int = 10
    close_wait_warning: int = 20
    # log.errors: occurrences of one normalised error message in the window, at or above.
    log_repeat_warning: int = 5
    # docker.restarting: restarts, at or above (a container in state `restarting` always is).
    docker_restarts_warning: int = 3
    # fd.exhausted: open files as a percent of the process's soft limit (or of fs.file-max).
    fd_warning_pct: float = 90.0
    fd_critical_pct: float = 98.0
    # conntrack.full: nf_conntrack_count as a percent of nf_conntrack_max.
    conntrack_warning_pct: float = 90.0
    conntrack_critical_pct: float = 98.0
    # clock.skew: seconds between the host's clock and the bot's, beyond the round trip.
    clock_skew_warning_s: float = 2.0
    clock_skew_critical_s: float = 30.0
    # service.crash_loop: NRestarts of a unit that is restarting, at or above -> critical.
    service_restarts_critical: int = 5


Rule = Callable[[Facts, HostTarget, Thresholds, Mapping[str, Facts]], Iterator[Finding]]


def level(value: float, warning: float, critical: float) -> Severity | None:
    """critical at or above `critical`, warning at or above `warning`, else None."""
    if value >= critical:
        return "critical"
    if value >= warning:
        return "warning"
    return None


def human_kb(kb: float) -> str:
    """1536 -> '1.5M' (binary units, as `df -h` prints them)."""
    size = float(kb)
    for unit in ("K", "M", "G", "T"):
        if size < 1024:
            return f"{size:.0f}{unit}" if unit == "K" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}P"
