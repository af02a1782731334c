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
    # cpu.saturated: runnable tasks per CPU in every sample of the window (the load average
    # is context only), and only while the CPUs were at least cpu_busy_pct busy.
    load_per_core: float = 1.0
    load_per_core_critical: float = 2.0
    cpu_busy_pct: float = 90.0
    # cpu.steal_high: percent of CPU time stolen by the hypervisor over the window.
    steal_warning_pct: float = 10.0
    steal_critical_pct: float = 25.0
    # proc.blocked_io: tasks in D state in every sample while iowait stays under its warning.
    blocked_tasks_warning: int = 4
    blocked_tasks_critical: int = 16
    # cpu.iowait_high: percent of CPU time waiting on I/O over the sample window.
    iowait_warning_pct: float = 20.0
    iowait_critical_pct: float = 50.0
    # mem.pressure: MemAvailable as a percent of MemTotal, at or below.
    mem_available_warning_pct: float = 10.0
    mem_available_critical_pct: float = 5.0
    # mem.swapping: pages swapped in + out per second over the sample window (256 pages/s is
    # 1 MiB/s with 4 KiB pages), and at least swap_min_pages moved in the window: a few pages
    # in one short window are the kernel tidying up, not swapping.
    swap_pages_per_s_warning: float = 256.0
    swap_pages_per_s_critical: float = 2560.0
    swap_min_pages: int = 512
    # tcp.time_wait_high: TIME-WAIT towards one destination (ip:port) as a percent of the
    # ephemeral port range (ip_local_port_range): each holds a local port for 60 s.
    time_wait_port_share_warning_pct: float = 50.0
    time_wait_port_share_critical_pct: float = 80.0
    # tcp.syn_sent_high / tcp.close_wait_high: sockets in the state, at or above.
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
    # host.rebooted: the host has been up less than this many minutes.
    reboot_recent_min: float = 15.0


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
