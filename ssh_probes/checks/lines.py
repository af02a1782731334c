"""Short human lines for each host probe's facts (pure), registered per check."""

from __future__ import annotations

from ssh_probes.model import Facts
from ssh_probes.rules.clock import skew_s


def _kb(kb: float) -> str:
    size = float(kb) * 1024
    for unit in ("B", "K", "M", "G", "T"):
        if size < 1024 or unit == "T":
            return f"{size:.0f}{unit}" if unit in ("B", "K") else f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}P"  # pragma: no cover


def load_lines(facts: Facts) -> list[str]:
    """Load averages against the CPU count."""
    cpus = facts.get("cpus") or 1
    return [
        f"load {facts['load1']:.2f} {facts['load5']:.2f} {facts['load15']:.2f} on {cpus} CPUs "
        f"({facts['load1'] / cpus:.2f} per core), {facts.get('running', '?')} running of "
        f"{facts.get('total_tasks', '?')} tasks"
    ]


def disk_lines(facts: Facts) -> list[str]:
    """One line per filesystem: space and inodes."""
    lines = []
    for fs in facts.get("filesystems", []):
        inodes = f", inodes {fs['iuse_pct']}%" if fs.get("iuse_pct") is not None else ""
        lines.append(
            f"{fs['mount']}: {fs['use_pct']}% used, {_kb(fs['avail_kb'])} free of "
            f"{_kb(fs['size_kb'])}{inodes} ({fs['filesystem']})"
        )
    return lines


def sockets_lines(facts: Facts) -> list[str]:
    """Listening TCP sockets with their processes."""
    lines = []
    for sock in facts.get("listeners", []):
        procs = ", ".join(f"{p['name']}[{p['pid']}]" for p in sock.get("process", []))
        addr = sock["local_address"]
        shown = f"[{addr}]" if ":" in addr else addr
        lines.append(f"{shown}:{sock['port']}" + (f"  {procs}" if procs else ""))
    return lines or ["no TCP listeners"]


def usage_lines(facts: Facts) -> list[str]:
    """The biggest directories of one filesystem (sizes in KiB, or inode counts)."""
    lines = [f"{e['path']}: {e['size']:,}" for e in facts.get("entries", [])]
    if facts.get("partial"):
        lines.append("(du ran out of time: partial)")
    return lines


def docker_lines(facts: Facts) -> list[str]:
    """One line per container: state, restarts, networks, ports, proxied hostnames."""
    if facts.get("available") is False:
        return [str(facts.get("why", "docker not available"))]
    lines = []
    for c in facts.get("containers", []):
        extra = [c.get("status") or c["state"]]
        if c.get("health"):
            extra.append(c["health"])
        if c["restart_count"]:
            extra.append(f"{c['restart_count']} restarts")
        if c["oom_killed"]:
            extra.append("OOMKilled")
        nets = ", ".join(n["name"] for n in c["networks"]) or "no network"
        hosts = ", ".join(h["host"] for h in c["proxy_hosts"])
        lines.append(
            f"{c['name']}: {'; '.join(extra)}; networks {nets}"
            + (f"; ports {', '.join(c['published'][:3])}" if c["published"] else "")
            + (f"; serves {hosts}" if hosts else "")
        )
    shown = len(lines)
    if facts.get("total", shown) > shown:
        lines.append(f"(and {facts['total'] - shown} more containers)")
    return lines or ["no containers"]


def docker_detail_lines(facts: Facts) -> list[str]:
    """The names containers call as the host resolves them, and each container's log groups."""
    providers = facts.get("providers", {})
    lines = []
    for name, addresses in facts.get("names", {}).items():
        owners = sorted({providers[a]["name"] for a in addresses if a in providers})
        lines.append(
            f"{name} -> {', '.join(addresses) or 'does not resolve'}"
            + (f" ({', '.join(owners)})" if owners else "")
        )
    for cid, logs in facts.get("logs", {}).items():
        groups = "; ".join(f"{g['example']} (x{g['count']})" for g in logs.get("groups", [])[:3])
        lines.append(
            f"logs of {cid}: {logs.get('lines', 0)} lines" + (f": {groups}" if groups else "")
        )
    if facts.get("host_addresses"):
        lines.append(f"host addresses: {', '.join(facts['host_addresses'][:6])}")
    return lines


def connections_lines(facts: Facts) -> list[str]:
    """TCP connections per state, then the top peers of the states the rules watch."""
    counts = ", ".join(f"{n} {state}" for state, n in facts.get("states", {}).items() if n)
    more = " (output capped: at least)" if facts.get("truncated") else ""
    lines = [f"{facts['total']} TCP connections{more}: {counts or 'none'}"]
    for key, label in (
        ("time_wait", "TIME-WAIT"),
        ("syn_sent", "SYN-SENT"),
        ("close_wait", "CLOSE-WAIT"),
    ):
        entry = facts.get(key) or {}
        if not entry.get("count"):
            continue
        peers = ", ".join(
            f"{p['address']}:{p['port']} ({p['count']})" for p in entry.get("peers", [])[:3]
        )
        procs = ", ".join(f"{p['name']}[{p['pid']}]" for p in entry.get("processes", [])[:3])
        lines.append(f"{label} {entry['count']}: {peers}" + (f"  {procs}" if procs else ""))
    return lines


def stat_lines(facts: Facts) -> list[str]:
    """CPU split over the window, run queue, swap activity and available memory."""
    pct = {k: facts.get(f"{k}_pct") for k in ("user", "system", "iowait", "steal", "idle")}
    cpu = ", ".join(f"{k} {v:g}%" for k, v in pct.items() if v is not None)
    lines = [
        f"CPU over {facts.get('window_s')}s on {facts.get('cpus')} CPUs: {cpu or 'no ticks'}",
        f"runnable {facts.get('procs_running_samples')}, blocked on I/O "
        f"{facts.get('procs_blocked_samples')}, major faults {facts.get('major_faults_per_s')}/s",
    ]
    if facts.get("mem_total_kb"):
        lines.append(
            f"memory: {_kb(facts['mem_available_kb'])} available of {_kb(facts['mem_total_kb'])} "
            f"({facts.get('mem_available_pct')}%)"
        )
    if facts.get("swap_total_kb"):
        used = facts["swap_total_kb"] - (facts.get("swap_free_kb") or 0)
        lines.append(
            f"swap: {_kb(used)} used of {_kb(facts['swap_total_kb'])}, in "
            f"{facts.get('swap_in_pages_per_s')}/s out {facts.get('swap_out_pages_per_s')}/s pages"
        )
    return lines


def processes_lines(facts: Facts) -> list[str]:
    """Totals, then the top three by CPU and by memory."""
    threads = facts.get("total_threads")
    lines = [
        f"{facts.get('total_processes')} processes"
        + (f", {threads} threads" if threads is not None else "")
        + f" (CPU over {facts.get('window_s')}s)"
    ]
    for p in facts.get("top_cpu", [])[:3]:
        lines.append(f"cpu {p['cpu_pct']:g}%  pid {p['pid']} {p['user']}  {p['args'][:80]}")
    for p in facts.get("top_mem", [])[:3]:
        lines.append(f"rss {_kb(p['rss_kb'])}  pid {p['pid']} {p['user']}  {p['args'][:80]}")
    return lines


def kernel_lines(facts: Facts) -> list[str]:
    """OOM kills in the lookback, newest last, and the source read."""
    if facts.get("available") is False:
        return [str(facts.get("why", "kernel log not readable"))]
    events = facts.get("events", [])
    head = f"{facts.get('total', len(events))} OOM kill(s) in {facts.get('lookback_h')} h"
    lines = [f"{head} (from {facts.get('source')})"]
    for e in events[-3:]:
        where = f" in {e['container'] or e['cgroup']}" if e.get("cgroup") else ""
        when = e.get("time") or "time unknown"
        rss = f", {_kb(e['anon_rss_kb'])} anon RSS" if e.get("anon_rss_kb") else ""
        lines.append(f"{when}: {e['process']}[{e['pid']}]{where}{rss}")
    for kind, sig in (facts.get("signals") or {}).items():
        lines.append(f"{kind}: {sig['count']} line(s), newest {sig.get('time') or 'time unknown'}")
    return lines


def services_lines(facts: Facts) -> list[str]:
    """Failed systemd units, or why there is no systemd to ask."""
    if facts.get("available") is False:
        return [str(facts.get("why", "systemd not available"))]
    units = [*facts.get("failed", []), *facts.get("restarting", [])]
    return [
        f"{u['unit']}: {u['active']}/{u['sub']} {u.get('description', '')}".rstrip()
        + (f" ({u['restarts']} restarts)" if u.get("restarts") else "")
        for u in units
    ] or ["no failed units"]


def logs_lines(facts: Facts) -> list[str]:
    """Error totals per source, then the top groups with counts."""
    if facts.get("available") is False:
        return [str(facts.get("why", "no logs readable"))]
    journal = facts.get("journal") or {}
    sources = [
        f"journal: {journal['entries']} entries at err"
        if journal.get("available")
        else f"journal: {journal.get('why', 'not read')}"
    ]
    for f in facts.get("files", []):
        if f.get("status") == "read":
            sources.append(f"{f['path']}: {f['errors']} errors in {f['lines']} lines")
        else:
            sources.append(f"{f['path']}: {f['status']}")
    traces = f"{facts.get('stack_traces', 0)} stack traces"
    kind = "timeouts only" if facts.get("only_timeouts") else traces
    lines = [
        f"{facts.get('errors_total', 0)} errors in {facts.get('groups_total', 0)} groups "
        f"({kind}); " + "; ".join(sources)
    ]
    for g in facts.get("groups", [])[:5]:
        lines.append(f"{g['count']}x {g['source']}: {g['example'][:120]}")
    return lines


def resolve_lines(facts: Facts) -> list[str]:
    """What the host itself resolves each of its names to."""
    return [
        f"{n['name']}: {', '.join(n['addresses']) or n['status']}" for n in facts.get("names", [])
    ]


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
