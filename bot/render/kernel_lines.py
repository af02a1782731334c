"""Summary lines of the kernel-side probes: limits, clock, the bot's TLS handshakes (pure)."""

from __future__ import annotations

from ssh_probes.model import Facts
from ssh_probes.rules.clock import skew_s


def limits_lines(facts: Facts) -> list[str]:
    """Open files (host and the busiest processes), conntrack, listen overflows, ro mounts."""
    if facts.get("available") is False:
        return [str(facts.get("why", "/proc not readable"))]
    lines = []
    nr = facts.get("file_nr")
    if nr:
        lines.append(f"file handles: {nr['allocated']} of fs.file-max {nr['max']}")
    fds = facts.get("fds") or {}
    for p in (fds.get("processes") or [])[:3]:
        pct = f" ({p['pct']:g}%)" if p.get("pct") is not None else ""
        lines.append(f"open files: {p['command']}[{p['pid']}] {p['open']} of {p['limit']}{pct}")
    if fds.get("unreadable"):
        lines.append(f"open files of {fds['unreadable']} processes not readable (not root)")
    table = facts.get("conntrack")
    lines.append(
        f"conntrack: {table['count']} of {table['max']}" if table else "conntrack: not loaded"
    )
    listen = facts.get("listen")
    if listen:
        lines.append(
            f"listen overflows: +{listen['overflows']} in {listen['window_s']:g}s "
            f"(since boot {listen['overflows_total']})"
        )
    ro = (facts.get("mounts") or {}).get("readonly") or []
    lines += [f"read-only: {m['mount']} ({m['device']}, {m['fstype']})" for m in ro]
    return lines


def clock_lines(facts: Facts) -> list[str]:
    """The host clock against the bot's, and NTP."""
    skew = skew_s(facts)
    ntp = facts.get("ntp") or {}
    synced = {True: "synchronised", False: "NOT synchronised", None: "unknown"}
    state = synced[ntp.get("synchronized")]
    why = f" ({ntp['why']})" if ntp.get("why") else ""
    clock = f"clock {skew:+.1f}s vs the bot's" if skew is not None else "clock read"
    return [f"{clock}; NTP {state}{why}"]


def tls_lines(facts: Facts) -> list[str]:
    """The certificate the bot saw on an expected TLS port."""
    where = f"{facts.get('address')}:{facts.get('port')}"
    cert = facts.get("certificate")
    if not cert:
        return [f"{where}: {facts.get('outcome')} {facts.get('detail', '')}".rstrip()]
    return [
        f"{where}: {cert['subject']} (issuer {cert['issuer']}), expires {cert['not_after']} "
        f"({cert['days_left']:g} days left)"
    ]
