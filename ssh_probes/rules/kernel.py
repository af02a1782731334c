"""Kernel rules: mem.oom_kill, kernel.hung_task, kernel.soft_lockup, disk.io_error and the
kernel's side of fs.readonly, conntrack.full, tcp.listen_queue_full and fd.exhausted.

Critical when the newest line is within RECENT_MIN minutes (it is likely part of the incident
at hand), warning when it is older but within the probe's 24 h lookback, or of unknown age.
The last four codes belong to the limits rule, which sees the live state (a mount that is
`ro` now, the conntrack count, listen-queue overflows, open files) and quotes these lines as
evidence; this rule reports them only when the limits probe did not run or could not look.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget, Severity
from ssh_probes.rules.base import Rule, Thresholds, human_kb
from ssh_probes.rules.limits import (
    CONNTRACK_FULL,
    FD_EXHAUSTED,
    FS_READONLY,
    TCP_LISTEN_QUEUE_FULL,
    live,
    readonly_devices,
)

MEM_OOM_KILL = Code(
    "mem.oom_kill",
    "host",
    "Process killed by the OOM killer",
    "The kernel killed a process to free memory; the service restarted or died.",
    "`journalctl -k | grep -i oom` names the victim; raise its limit or fix its growth.",
)

KERNEL_HUNG_TASK = Code(
    "kernel.hung_task",
    "host",
    "Tasks hung in uninterruptible sleep",
    "The kernel saw a task blocked (state D) for over hung_task_timeout_secs, usually on I/O "
    "that never completes: a dying disk, a stuck NFS/iSCSI server, a frozen filesystem.",
    "`dmesg -T | grep -A20 'blocked for more than'` shows the stack: find the device or mount it "
    "waits on; `cat /proc/PID/stack` for tasks still in D state.",
)

KERNEL_SOFT_LOCKUP = Code(
    "kernel.soft_lockup",
    "host",
    "CPU soft lockup",
    "A CPU ran kernel code for over 20 s without scheduling: a kernel or driver bug, or a "
    "hypervisor that starved the VM (steal).",
    "Read the stack after 'soft lockup' in `dmesg -T`; check steal time and the hypervisor; "
    "update the kernel or driver named in the stack; plan a reboot if it repeats.",
)

DISK_IO_ERROR = Code(
    "disk.io_error",
    "host",
    "Block device I/O errors",
    "The kernel could not read or write a block device: a failing disk, cable, controller, or "
    "a detached cloud volume. Filesystems on it may go read-only next.",
    "`dmesg -T | grep -i 'I/O error'` names the device; `smartctl -a /dev/DEV`; move data off, "
    "replace the disk or re-attach the volume.",
)

CODES = (MEM_OOM_KILL, KERNEL_HUNG_TASK, KERNEL_SOFT_LOCKUP, DISK_IO_ERROR)


RECENT_MIN = 60


def _ago(age_s: int | None) -> str:
    if age_s is None:
        return "at an unknown time"
    if age_s < 120:
        return f"{age_s}s ago"
    if age_s < 7200:
        return f"{age_s // 60} min ago"
    return f"{age_s // 3600} h ago"


def _fix(event: dict[str, Any]) -> str:
    name, pid = event["process"], event["pid"]
    see = (
        f"See what grew: `journalctl -k --no-pager | grep -i -B1 -A1 'killed process {pid}'`, "
        f"`ps -o pid,rss,vsz,cmd -C {name}` now that it restarted, and its memory over time."
    )
    if event.get("container"):
        where = (
            f" It ran in container {event['container']} (cgroup {event['cgroup']}): read its "
            f"limit (`docker inspect -f '{{{{.HostConfig.Memory}}}}' {event['container']}`) and "
            "what it used (`docker stats --no-stream`), then raise the limit above that peak "
            f"(`docker update --memory NEW --memory-swap NEW {event['container']}`, or the "
            "compose/k8s limit) or fix the leak; `docker inspect -f '{{.State.OOMKilled}}' "
            f"{event['container']}` confirms."
        )
    elif event.get("scope") == "cgroup" and event.get("cgroup"):
        where = (
            f" The limit of cgroup {event['cgroup']} was hit: raise MemoryMax= for that unit "
            "(`systemctl set-property UNIT MemoryMax=...`) or fix the growth."
        )
    else:
        where = (
            " The whole host ran out of memory: cap the offender (systemd MemoryMax=, a "
            "container limit), add memory or swap, or reduce its workers/caches."
        )
    return see + where


def _oom(
    facts: Facts, host: HostTarget, _t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    events = facts.get("events") or []
    if not events:
        return
    recent = [e for e in events if e["age_s"] is not None and e["age_s"] <= RECENT_MIN * 60]
    latest = (recent or events)[-1]
    victims = sorted({f"{e['process']} (pid {e['pid']})" for e in events})
    rss = latest.get("anon_rss_kb")
    size = f", {human_kb(rss)} resident" if rss else ""
    yield MEM_OOM_KILL.finding(
        severity="critical" if recent else "warning",
        title=(
            f"OOM killer killed {latest['process']} (pid {latest['pid']}{size}) "
            f"{_ago(latest['age_s'])}; {facts.get('total', len(events))} kill(s) in "
            f"{facts.get('lookback_h', 24)} h"
        ),
        detail=(
            "The kernel killed a process to free memory"
            + (f" (limit of {latest['cgroup']})" if latest.get("scope") == "cgroup" else "")
            + ": the service restarted or died and lost its in-flight work."
        ),
        evidence={
            "source": facts.get("source"),
            "victims": victims[:10],
            "latest": {
                k: latest.get(k)
                for k in (
                    "time",
                    "age_s",
                    "process",
                    "pid",
                    "scope",
                    "cgroup",
                    "container",
                    "anon_rss_kb",
                    "total_vm_kb",
                )
            },
            "recent_min": RECENT_MIN,
        },
        suggestion=_fix(latest),
        host=host.name,
    )


def severity_for(signal: dict[str, Any]) -> Severity:
    """critical when the newest line is within RECENT_MIN minutes, else warning."""
    age = signal.get("age_s")
    return "critical" if age is not None and age <= RECENT_MIN * 60 else "warning"


def _said(signal: dict[str, Any], what: str) -> str:
    subjects = signal.get("subjects") or []
    about = f" ({', '.join(subjects[:5])})" if subjects else ""
    return f"{what}{about}: {signal['count']} line(s), newest {_ago(signal.get('age_s'))}"


_ADVICE: dict[str, tuple[Code, str, str, str]] = {
    "hung_task": (
        KERNEL_HUNG_TASK,
        "kernel reports hung tasks",
        "Tasks sat in uninterruptible sleep past hung_task_timeout_secs: they wait on I/O that "
        "does not complete (disk, NFS, iSCSI, a frozen filesystem).",
        "Read the stacks: `dmesg -T | grep -A25 'blocked for more than'`; the functions name "
        "what they wait on (jbd2/ext4 or xfs: the disk; nfs/rpc: the NFS server). List tasks "
        "still stuck: `ps -eo pid,stat,wchan:30,cmd | awk '$2 ~ /D/'`; check the device with "
        "`iostat -x 1 3` and `smartctl -a`.",
    ),
    "soft_lockup": (
        KERNEL_SOFT_LOCKUP,
        "kernel reports CPU soft lockups",
        "A CPU was stuck in kernel code for over 20 s without scheduling; everything on it "
        "stalled (timeouts, missed heartbeats).",
        "Read the stack after 'soft lockup' in `dmesg -T` for the driver or subsystem; on a VM "
        "check steal time (`vmstat 1 5`, column st) and the hypervisor; update the kernel or "
        "driver it names; a repeat means planning a reboot onto a fixed kernel.",
    ),
    "io_error": (
        DISK_IO_ERROR,
        "kernel reports block I/O errors",
        "Reads or writes to a block device failed: data on it may be lost, and filesystems on "
        "it may be remounted read-only.",
        "Name the device: `dmesg -T | grep -i 'I/O error'`; check its health with `smartctl -a "
        "/dev/DEV` (a cloud volume: its attachment and status in the console); move data off "
        "and replace it; do not restart services on it until it is healthy.",
    ),
}

# Kinds whose code the limits rule owns when it could look at the live state.
_LIMITS: dict[str, tuple[Code, str, str]] = {
    "conntrack_full": (
        CONNTRACK_FULL,
        "kernel dropped packets: conntrack table full",
        "Raise net.netfilter.nf_conntrack_max (`sysctl -w net.netfilter.nf_conntrack_max=N`, "
        "and in /etc/sysctl.d) and find who opens so many flows: `conntrack -S`, `conntrack -L "
        "| awk '{print $3}' | sort | uniq -c`.",
    ),
    "syn_flood": (
        TCP_LISTEN_QUEUE_FULL,
        "kernel reports SYN flooding (listen queue overflow)",
        "The listener does not accept() fast enough (or it is an attack): check the "
        "application's workers and `ss -lnt` Recv-Q vs Send-Q; raise its backlog and "
        "net.core.somaxconn if the load is legitimate.",
    ),
    "file_max": (
        FD_EXHAUSTED,
        "kernel hit the system-wide file-max limit",
        "Raise fs.file-max (`sysctl -w fs.file-max=N`, and in /etc/sysctl.d) and find the "
        "process holding most descriptors: `for p in /proc/[0-9]*; do echo $(ls $p/fd | wc -l) "
        "$p; done | sort -n | tail`.",
    ),
}


def _signals(
    facts: Facts, host: HostTarget, _t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    signals: dict[str, dict[str, Any]] = facts.get("signals") or {}
    common = {"source": facts.get("source"), "recent_min": RECENT_MIN}
    for kind, (code, what, detail, fix) in _ADVICE.items():
        if kind in signals:
            sig = signals[kind]
            yield code.finding(
                severity_for(sig),
                _said(sig, what),
                detail=detail,
                evidence={**common, **sig},
                suggestion=fix,
                host=host.name,
            )
    if "fs_readonly" in signals:
        sig = signals["fs_readonly"]
        # A device the limits rule finds mounted `ro` right now is reported there, once.
        shown = readonly_devices(extra) if live(extra) else set()
        left = [s for s in sig.get("subjects") or [] if s not in shown]
        if left or (not sig.get("subjects") and not shown):
            yield FS_READONLY.finding(
                severity_for(sig),
                _said({**sig, "subjects": left}, "kernel remounted a filesystem read-only"),
                detail="The filesystem hit an error (I/O or corruption) and the kernel stopped "
                "writes to protect it; it may have been remounted read-write since, with the "
                "damage still there.",
                evidence={**common, **sig},
                suggestion="`dmesg -T | grep -B5 'read-only'` shows the error that caused it; "
                "check the device (`smartctl -a`), then unmount and `fsck` (ext4) or "
                "`xfs_repair` before remounting read-write.",
                host=host.name,
            )
    if live(extra):
        return
    for kind, (code, what, fix) in _LIMITS.items():
        if kind in signals:
            sig = signals[kind]
            yield code.finding(
                severity_for(sig),
                _said(sig, what),
                detail="Seen in the kernel log; the live counters were not read on this host.",
                evidence={**common, **sig},
                suggestion=fix,
                host=host.name,
            )


def _kernel(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    yield from _oom(facts, host, t, extra)
    yield from _signals(facts, host, t, extra)


RULES: dict[str, Rule] = {"kernel": _kernel}
