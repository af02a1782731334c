"""Limit rules: fd.exhausted, conntrack.full, tcp.listen_queue_full and fs.readonly.

They read the live state (the limits probe, the sockets probe's accept queues) and quote the
kernel log's lines of the same incident (the kernel probe's `signals`) as evidence, so each
incident is one finding. The kernel rule reports those lines alone only when `live` is false.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.rules.base import Rule, Thresholds, level

FD_EXHAUSTED = Code(
    "fd.exhausted",
    "host",
    "Open files at the limit",
    "A process holds nearly as many descriptors as its open-files limit allows (or the host "
    "nears fs.file-max): new connections and files fail with 'Too many open files' (EMFILE).",
    "Find the leak or raise the limit: `ls /proc/PID/fd | wc -l`, `LimitNOFILE=` in the unit "
    "(or `ulimit -n`), `sysctl fs.file-max` for the host.",
)

CONNTRACK_FULL = Code(
    "conntrack.full",
    "host",
    "Connection-tracking table full",
    "nf_conntrack_count is at nf_conntrack_max: the kernel drops packets of new flows, which "
    "looks like random connect timeouts.",
    "Raise net.netfilter.nf_conntrack_max (and its hash size); find who opens so many flows "
    "with `conntrack -S` / `conntrack -L`.",
)

TCP_LISTEN_QUEUE_FULL = Code(
    "tcp.listen_queue_full",
    "host",
    "Listener's accept queue full",
    "The port listens but the application does not accept() fast enough (workers busy, event "
    "loop blocked): the kernel drops new connections, clients time out.",
    "Check the application's workers and threads (`ss -lnt`: Recv-Q at Send-Q), its slow "
    "dependencies; raise the backlog and net.core.somaxconn only if the load is legitimate.",
)

FS_READONLY = Code(
    "fs.readonly",
    "host",
    "Filesystem read-only",
    "A local filesystem is mounted read-only though fstab does not ask for it: the kernel "
    "remounted it after an I/O error or corruption; every write fails.",
    "`dmesg -T | grep -i -B5 read-only` for the cause; check the disk; unmount, fsck / "
    "xfs_repair, then remount read-write.",
)

CODES = (FD_EXHAUSTED, CONNTRACK_FULL, TCP_LISTEN_QUEUE_FULL, FS_READONLY)


def live(extra: Mapping[str, Facts]) -> bool:
    """True when the limits probe read the live state (its rule reports these codes)."""
    facts = extra.get("limits")
    return facts is not None and facts.get("available") is not False


def readonly_devices(extra: Mapping[str, Facts]) -> set[str]:
    """Short names (`sdb1`) of devices the limits probe found unexpectedly read-only."""
    facts = extra.get("limits") or {}
    rows = (facts.get("mounts") or {}).get("readonly") or []
    return {str(r["device"]).rsplit("/", 1)[-1] for r in rows}


def _kernel(extra: Mapping[str, Facts], kind: str) -> dict[str, Any] | None:
    kernel = extra.get("kernel") or {}
    signal: dict[str, Any] | None = (kernel.get("signals") or {}).get(kind)
    return signal


def _recent(signal: dict[str, Any] | None) -> bool:
    age = (signal or {}).get("age_s")
    return age is not None and age <= 3600


def _emfile_in_logs(extra: Mapping[str, Facts]) -> list[dict[str, Any]]:
    """Log groups (the logs probe) whose message says 'Too many open files' (EMFILE)."""
    groups = (extra.get("logs") or {}).get("groups") or []
    return [
        {k: g.get(k) for k in ("source", "count", "example", "last_seen")}
        for g in groups
        if "too many open files" in str(g.get("message", "")).lower()
    ]


def _fds(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    logs = _emfile_in_logs(extra)
    said = False
    for p in (facts.get("fds") or {}).get("processes") or []:
        sev = level(p["pct"], t.fd_warning_pct, t.fd_critical_pct) if p["pct"] else None
        if sev is None:
            continue
        said = True
        pid = p["pid"]
        yield FD_EXHAUSTED.finding(
            sev,
            f"{p['command']} (pid {pid}) has {p['open']} of {p['limit']} open files "
            f"({p['pct']:g} %)",
            detail="At the limit, accept() and open() fail with EMFILE ('Too many open "
            "files'): new connections are refused or reset while the port still listens.",
            evidence={**p, "logs": logs},
            suggestion=(
                f"See what it holds: `ls -l /proc/{pid}/fd | awk '{{print $NF}}' | sed "
                f"'s/:.*//' | sort | uniq -c | sort -n` (sockets growing: a connection leak; "
                f"files: unclosed handles). Raise the limit if the load is legitimate: "
                f"`LimitNOFILE=` in its systemd unit (`systemctl show -p LimitNOFILE UNIT`) or "
                f"`prlimit --pid {pid} --nofile=N:N` for now; a leak needs a fix and a restart."
            ),
            host=host.name,
        )
    file_nr = facts.get("file_nr")
    kernel = _kernel(extra, "file_max")
    pct = round(100.0 * file_nr["allocated"] / file_nr["max"], 1) if file_nr else None
    sev = level(pct, t.fd_warning_pct, t.fd_critical_pct) if pct is not None else None
    if kernel and sev != "critical":
        sev = "critical" if _recent(kernel) else sev or "warning"
    if sev is not None:
        said = True
        now = (
            f"host has {file_nr['allocated']} of fs.file-max {file_nr['max']} file handles "
            f"({pct:g} %)"
            if file_nr
            else ""
        )
        yield FD_EXHAUSTED.finding(
            sev,
            "; ".join(x for x in (now, "the kernel hit fs.file-max" if kernel else "") if x),
            detail="When the host runs out, every process fails to open files and "
            "sockets ('VFS: file-max limit reached').",
            evidence={"file_nr": file_nr, "pct": pct, "kernel": kernel, "logs": logs},
            suggestion="Raise it now with `sysctl -w fs.file-max=N` (and in "
            "/etc/sysctl.d/), then find the holder: `for p in /proc/[0-9]*; do echo "
            "$(ls $p/fd 2>/dev/null | wc -l) $p; done | sort -n | tail`.",
            host=host.name,
        )
    if logs and not said:
        where = ", ".join(f"{g['source']} ({g['count']})" for g in logs[:3])
        yield FD_EXHAUSTED.finding(
            "warning",
            f"logs say 'Too many open files': {where}; no process is at its limit right now",
            detail="A process hit its open-files limit within the log window (EMFILE): it "
            "dropped connections or failed to open files then, and will again under the "
            "same load; it may have restarted or closed descriptors since.",
            evidence={"logs": logs, "counted": (facts.get("fds") or {}).get("counted")},
            suggestion="Find the process that logged it and compare its open files with its "
            "limit: `ls /proc/PID/fd | wc -l` and `grep 'open files' /proc/PID/limits`; raise "
            "`LimitNOFILE=` (systemd) or `ulimit -n` if the load is legitimate, or fix the "
            "descriptor leak.",
            host=host.name,
        )


def _conntrack(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    table = facts.get("conntrack")
    kernel = _kernel(extra, "conntrack_full")
    pct = round(100.0 * table["count"] / table["max"], 1) if table and table["max"] else None
    sev = level(pct, t.conntrack_warning_pct, t.conntrack_critical_pct) if pct is not None else None
    if kernel and sev != "critical":
        sev = "critical" if _recent(kernel) else sev or "warning"
    if sev is None:
        return
    now = f"{table['count']} of {table['max']} tracked flows ({pct:g} %)" if table else ""
    dropped = f"kernel dropped packets ({kernel['count']} line(s))" if kernel else ""
    yield CONNTRACK_FULL.finding(
        sev,
        "conntrack table: " + "; ".join(x for x in (now, dropped) if x),
        detail="With the table full the kernel drops the first packet of every new flow: "
        "clients see connect timeouts at random, established traffic still flows.",
        evidence={"table": table, "pct": pct, "kernel": kernel},
        suggestion="Raise it now: `sysctl -w net.netfilter.nf_conntrack_max=N` (about 2x "
        "the peak; also in /etc/sysctl.d/, and nf_conntrack hashsize to N/4), then find who "
        "opens the flows: `conntrack -S`, `conntrack -L -o extended | awk '{print $3,$7}' | "
        "sort | uniq -c | sort -n | tail`; short-lived flows to one upstream want keep-alive.",
        host=host.name,
    )


def listen_queue(listen: Facts, host: HostTarget, extra: Mapping[str, Facts]) -> Iterator[Finding]:
    """tcp.listen_queue_full from the accept queues (sockets), the overflow counters over the
    window (`listen`, from the limits probe; empty without it) and the kernel's SYN floods."""
    sockets = extra.get("sockets") or {}
    full = [
        s
        for s in sockets.get("listeners") or []
        if s.get("queued", 0) > 0 and s["queued"] >= s.get("backlog", 0)
    ]
    grew = max(listen.get("overflows") or 0, listen.get("drops") or 0)
    kernel = _kernel(extra, "syn_flood")
    if not full and not grew and not kernel:
        return
    where = ", ".join(
        f"{s['local_address']}:{s['port']}"
        + (f" ({s['process'][0]['name']})" if s.get("process") else "")
        + f" {s['queued']}/{s['backlog']}"
        for s in full
    )
    parts = [f"accept queue full on {where}" if full else ""]
    if grew:
        parts.append(
            f"{grew} connection(s) dropped at full accept queues in {listen['window_s']:g}s"
        )
    if kernel:
        parts.append(f"kernel: SYN flooding on {', '.join(kernel.get('subjects') or ['a port'])}")
    port = full[0]["port"] if full else "PORT"
    yield TCP_LISTEN_QUEUE_FULL.finding(
        "critical" if full or grew or _recent(kernel) else "warning",
        "; ".join(p for p in parts if p),
        detail="The port listens but the application stopped accepting: the kernel queues new "
        "connections up to the backlog, then drops them, so clients time out while `ss -lnt` "
        "still shows the listener (Recv-Q is the queue, Send-Q the backlog).",
        evidence={"full": full, "listen": listen, "kernel": kernel},
        suggestion=(
            f"See the queue: `ss -lnt 'sport = :{port}'` (Recv-Q vs Send-Q) and `nstat -az "
            "TcpExtListenOverflows`. The owner is stuck or out of workers: its threads "
            "(`top -H -p PID`, a thread dump: `py-spy dump`, `jstack`), its slow dependencies "
            "(database, upstream), its worker count. Restart only after taking the dump; raise "
            "the backlog (and net.core.somaxconn) only for legitimate bursts."
        ),
        host=host.name,
    )


def _listen(
    facts: Facts, host: HostTarget, _t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    yield from listen_queue(facts.get("listen") or {}, host, extra)


def _readonly(
    facts: Facts, host: HostTarget, _t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    kernel = _kernel(extra, "fs_readonly")
    for m in (facts.get("mounts") or {}).get("readonly") or []:
        dev = str(m["device"]).rsplit("/", 1)[-1]
        said = kernel if kernel and dev in (kernel.get("subjects") or []) else None
        yield FS_READONLY.finding(
            "critical",
            f"{m['mount']} ({m['device']}, {m['fstype']}) is mounted read-only"
            + (" after a kernel error" if said else "; fstab does not ask for it"),
            detail="Every write to it fails (EROFS): databases stop, logs and uploads are lost. "
            "The kernel does this after an I/O error or filesystem corruption.",
            evidence={**m, "kernel": said},
            suggestion=(
                f"Find why: `dmesg -T | grep -i -B5 -e 'read-only' -e 'I/O error' | grep "
                f"{dev}`; check the disk (`smartctl -a {m['device']}`). Then stop what writes "
                f"there, `umount {m['mount']}`, repair (`fsck -f {m['device']}` for ext4, "
                f"`xfs_repair {m['device']}` for xfs), and `mount -o remount,rw {m['mount']}` "
                "only once it is clean."
            ),
            host=host.name,
        )


def _limits(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    yield from _fds(facts, host, t, extra)
    yield from _conntrack(facts, host, t, extra)
    yield from _listen(facts, host, t, extra)
    yield from _readonly(facts, host, t, extra)


RULES: dict[str, Rule] = {"limits": _limits}
