"""Pure rules: parsed facts -> Findings with severity, evidence and a suggested fix.

Each rule reads the facts of one probe (and, for disk, the follow-up du results) and knows
nothing of executors, Slack or the database. Thresholds are a value object so settings can
change them; their defaults are the documented ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ssh_probes.model import Facts, Finding, HostTarget, ProbeResult, Severity


@dataclass(frozen=True)
class Thresholds:
    """When a fact becomes a finding (percent; load per core)."""

    disk_warning_pct: float = 90.0
    disk_critical_pct: float = 95.0
    inode_warning_pct: float = 90.0
    inode_critical_pct: float = 95.0
    load_per_core: float = 1.0
    load_per_core_critical: float = 2.0


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


def _cpu(
    facts: Facts, host: HostTarget, t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    per_core = facts["load1"] / facts["cpus"]
    severity = level(per_core, t.load_per_core, t.load_per_core_critical)
    if severity is None:
        return
    yield Finding(
        code="cpu.saturated",
        severity=severity,
        title=(
            f"load {facts['load1']:.2f} on {facts['cpus']} CPU(s): {per_core:.2f} per core "
            f"(threshold {t.load_per_core:g})"
        ),
        detail="More runnable (or uninterruptible) tasks than CPUs: requests queue for CPU time.",
        evidence={k: facts[k] for k in ("load1", "load5", "load15", "cpus", "running")},
        suggestion=(
            "See what runs: `ps -eo pid,ppid,user,%cpu,%mem,cmd --sort=-%cpu | head -15` and "
            "`top -H` for hot threads; `vmstat 1 5` tells CPU-bound (r high, wa low) from "
            "IO-bound (wa high, b high). Scale out or cap the offender before restarting it."
        ),
        host=host.name,
    )


def _top_dirs(usage: Facts | None, unit: str) -> tuple[list[dict[str, Any]], str]:
    if not usage:
        return [], ""
    shown = [
        f"{e['path']} {human_kb(e['size']) if unit == 'kb' else format(e['size'], ',')}"
        for e in usage["entries"]
    ]
    note = " (du ran out of time; partial)" if usage.get("partial") else ""
    return list(usage["entries"]), ", ".join(shown) + note


def _disk(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    for fs in facts["filesystems"]:
        mount = fs["mount"]
        pct = fs["use_pct"]
        severity = None if pct is None else level(pct, t.disk_warning_pct, t.disk_critical_pct)
        if severity is not None:
            entries, biggest = _top_dirs(extra.get(f"disk_usage:{mount}"), "kb")
            where = f" Biggest under {mount}: {biggest}." if biggest else ""
            yield Finding(
                code="disk.full",
                severity=severity,
                title=f"{mount} is {pct}% full ({human_kb(fs['avail_kb'])} free of "
                f"{human_kb(fs['size_kb'])})",
                detail="Writes start failing when a filesystem fills: logs, uploads, databases.",
                evidence={
                    "mount": mount,
                    "use_pct": pct,
                    "avail_kb": fs["avail_kb"],
                    "filesystem": fs["filesystem"],
                    "biggest": entries,
                },
                suggestion=(
                    f"Free space on {mount}.{where} Look deeper with "
                    f"`du -xh -d 2 {mount} | sort -h | tail -20`; trim logs "
                    "(`journalctl --vacuum-size=500M`, old rotated files in /var/log), "
                    "`docker system prune` if /var/lib/docker is big, and check for deleted "
                    "files still held open (`lsof +L1`), which free nothing until restarted."
                ),
                host=host.name,
            )
        ipct = fs["iuse_pct"]
        isev = None if ipct is None else level(ipct, t.inode_warning_pct, t.inode_critical_pct)
        if isev is not None:
            entries, biggest = _top_dirs(extra.get(f"inode_usage:{mount}"), "inodes")
            where = f" Most inodes under {mount}: {biggest}." if biggest else ""
            yield Finding(
                code="disk.inodes_full",
                severity=isev,
                title=f"{mount} has used {ipct}% of its inodes ({fs['ifree']:,} left)",
                detail="No inodes means no new files even with free space: 'No space left on "
                "device' while df -h shows room.",
                evidence={
                    "mount": mount,
                    "iuse_pct": ipct,
                    "ifree": fs["ifree"],
                    "filesystem": fs["filesystem"],
                    "biggest": entries,
                },
                suggestion=(
                    f"Find the many small files.{where} Count with "
                    f"`du -x --inodes -d 2 {mount} | sort -n | tail -20`; usual culprits are "
                    "session or cache directories, mail queues and unrotated tiny logs. Delete "
                    "or archive them; a filesystem's inode count is fixed at mkfs time."
                ),
                host=host.name,
            )


_BIND_HINT = {
    "postgres": "set listen_addresses = '*' (or the interface address) in postgresql.conf",
    "redis-server": "set `bind 0.0.0.0` (with protected-mode and a password) in redis.conf",
    "mysqld": "set bind-address = 0.0.0.0 in my.cnf",
    "mariadbd": "set bind-address = 0.0.0.0 in my.cnf",
    "nginx": "use `listen PORT;` rather than `listen 127.0.0.1:PORT;`",
    "node": "listen on 0.0.0.0 (e.g. `server.listen(PORT, '0.0.0.0')` or HOST=0.0.0.0)",
    "gunicorn": "start with `--bind 0.0.0.0:PORT`",
    "uvicorn": "start with `--host 0.0.0.0`",
    "python3": "bind to 0.0.0.0 instead of 127.0.0.1 (e.g. `--host 0.0.0.0`)",
}


def _sockets(
    facts: Facts, host: HostTarget, _t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    by_port: dict[int, list[dict[str, Any]]] = {}
    for sock in facts["listeners"]:
        by_port.setdefault(sock["port"], []).append(sock)
    for port in host.expect_ports:
        socks = by_port.get(port, [])
        if not socks:
            yield Finding(
                code="port.not_listening",
                severity="critical",
                title=f"nothing listens on TCP port {port}",
                detail="Clients get 'connection refused': the service is down, crashed at "
                "start, or listens on another port.",
                evidence={"port": port, "listening_ports": sorted(by_port)},
                suggestion=(
                    f"Check the service that should own port {port}: `systemctl --failed`, "
                    "`journalctl -u SERVICE -n 200`, its configured port, and "
                    f"`ss -lntp 'sport = :{port}'` after restarting it."
                ),
                host=host.name,
            )
        elif all(s["loopback"] for s in socks):
            names = sorted({p["name"] for s in socks for p in s["process"]})
            hint = next((_BIND_HINT[n] for n in names if n in _BIND_HINT), "")
            owner = f" ({', '.join(names)})" if names else ""
            yield Finding(
                code="port.loopback_only",
                severity="critical",
                title=f"port {port} listens on loopback only{owner}: "
                + ", ".join(f"{s['local_address']}:{port}" for s in socks),
                detail="Local clients work; every other host gets 'connection refused'.",
                evidence={
                    "port": port,
                    "addresses": [s["local_address"] for s in socks],
                    "processes": names,
                },
                suggestion=(
                    "Bind the service to 0.0.0.0 or the host's interface address"
                    + (f": {hint}" if hint else "")
                    + f", restart it, and confirm with `ss -lntp 'sport = :{port}'`."
                ),
                host=host.name,
            )


Rule = Callable[[Facts, HostTarget, Thresholds, Mapping[str, Facts]], Iterator[Finding]]
RULES: dict[str, Rule] = {"load": _cpu, "disk": _disk, "sockets": _sockets}


def evaluate(
    results: Sequence[ProbeResult], host: HostTarget, thresholds: Thresholds | None = None
) -> list[Finding]:
    """Every finding the facts support; a failed probe yields none (its error is reported)."""
    t = thresholds or Thresholds()
    ok = {r.probe: r.facts for r in results if r.ok}
    findings: list[Finding] = []
    for probe, facts in ok.items():
        rule = RULES.get(probe)
        if rule is not None:
            findings.extend(rule(facts, host, t, ok))
    return findings


def over_threshold(disk_facts: Facts, thresholds: Thresholds) -> tuple[list[str], list[str]]:
    """Mount points worth a du: (over the space warning, over the inode warning)."""
    space = [
        f["mount"]
        for f in disk_facts["filesystems"]
        if f["use_pct"] is not None and f["use_pct"] >= thresholds.disk_warning_pct
    ]
    inodes = [
        f["mount"]
        for f in disk_facts["filesystems"]
        if f["iuse_pct"] is not None and f["iuse_pct"] >= thresholds.inode_warning_pct
    ]
    return space, inodes
