"""Connection-state rules: tcp.time_wait_high, tcp.syn_sent_high, tcp.close_wait_high.

TIME-WAIT is judged per destination: each TIME-WAIT socket towards one peer ip:port holds one
local ephemeral port for 60 s, so the harm is running out of the range
(`ip_local_port_range`) towards one upstream. Warning when the busiest destination holds
`time_wait_port_share_warning_pct` (50) of the range, critical at `..._critical_pct` (80).
Thousands of TIME-WAIT spread over many clients (a proxy that closes first) are normal.
SYN-SENT and CLOSE-WAIT: warning at the state's threshold (`syn_sent_warning`,
`close_wait_warning`), critical at CRITICAL_FACTOR (5) times it. Each finding names where
the sockets go: the top peers (address:port) when they concentrate on a few, else, as on
the server side of a connection whose clients use ephemeral ports, the local port and the
peer addresses. It names the owning processes with their pids when ss could see them, and
the suggestion fills those values into the commands to run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.rules.base import Rule, Thresholds, level

TCP_TIME_WAIT_HIGH = Code(
    "tcp.time_wait_high",
    "host",
    "TIME-WAIT exhausting the ports towards one upstream",
    "Short-lived outgoing connections to one destination hold so many local ports in TIME-WAIT "
    "(50% of ip_local_port_range warning, 80% critical) that new connects to it will fail with "
    "EADDRNOTAVAIL. Many TIME-WAIT spread over many clients are normal.",
    "Use keep-alive and connection pooling towards the upstream named; widen "
    "net.ipv4.ip_local_port_range meanwhile.",
)

TCP_SYN_SENT_HIGH = Code(
    "tcp.syn_sent_high",
    "host",
    "Many SYN-SENT connections",
    "Connection attempts get no answer: the peer is down or a firewall drops packets.",
    "Test the named peer (`nc -vz -w 3 PEER PORT`), its security groups and routes.",
)

TCP_CLOSE_WAIT_HIGH = Code(
    "tcp.close_wait_high",
    "host",
    "Many CLOSE-WAIT connections",
    "The peer closed but the application never closed its socket: a leak.",
    "Fix socket closing in the named process; to recover meanwhile drain its traffic, then "
    "restart it (never a database blindly: end the stuck sessions instead).",
)

CODES = (TCP_TIME_WAIT_HIGH, TCP_SYN_SENT_HIGH, TCP_CLOSE_WAIT_HIGH)


CRITICAL_FACTOR = 5
SHOWN = 3  # peers / ports / processes named in titles and suggestions


def endpoint(address: str, port: int) -> str:
    """`10.0.0.5:5432`, `[2001:db8::1]:443`."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _top(state: Facts, key: str) -> list[dict[str, Any]]:
    return list(state.get(key, []))[:SHOWN]


def _concentrated(state: Facts) -> bool:
    """True when sockets share peer address:port (a client's view of its upstreams)."""
    peers = _top(state, "peers")
    return bool(peers) and int(peers[0]["count"]) >= 2


def _where(state: Facts, *, peers: bool = False) -> str:
    """`127.0.0.1:8080 (300)`, or `local port 8080 (25) from 10.0.0.7 (25)`."""
    if peers or _concentrated(state):
        return ", ".join(
            f"{endpoint(p['address'], p['port'])} ({p['count']})" for p in _top(state, "peers")
        )
    ports = ", ".join(f"{p['port']} ({p['count']})" for p in _top(state, "local_ports"))
    froms = ", ".join(f"{a['address']} ({a['count']})" for a in _top(state, "peer_addresses"))
    return f"local port {ports} from {froms}" if ports else "no peer"


def _processes(state: Facts) -> str:
    return ", ".join(
        f"{p['name']} (pid {p['pid']}, {p['count']})" for p in _top(state, "processes")
    )


def _base(
    code: Code, label: str, state: Facts, warning: int, facts: Facts, host: HostTarget
) -> Finding | None:
    """The finding without its advice, or None under the threshold."""
    count = int(state["count"])
    severity = level(count, warning, warning * CRITICAL_FACTOR)
    if severity is None:
        return None
    at_least = "at least " if facts.get("truncated") else ""
    return code.finding(
        severity=severity,
        title=f"{at_least}{count} {label} sockets (threshold {warning})",
        evidence={
            "count": count,
            "threshold": warning,
            "critical_at": warning * CRITICAL_FACTOR,
            "peers": list(state.get("peers", [])),
            "peer_addresses": list(state.get("peer_addresses", [])),
            "local_ports": list(state.get("local_ports", [])),
            "processes": list(state.get("processes", [])),
            "truncated": bool(facts.get("truncated")),
        },
        host=host.name,
    )


def _time_wait(facts: Facts, t: Thresholds, host: HostTarget) -> Finding | None:
    """TIME-WAIT towards the busiest destination against the ephemeral port range."""
    state = facts["time_wait"]
    peers = _top(state, "peers")
    size = int(facts.get("port_range_size") or 28232)
    if not peers or size <= 0:
        return None
    top = peers[0]
    share = 100.0 * int(top["count"]) / size
    severity = level(share, t.time_wait_port_share_warning_pct, t.time_wait_port_share_critical_pct)
    if severity is None:
        return None
    upstream = endpoint(top["address"], top["port"])
    low, high = facts.get("port_range") or (32768, 60999)
    assumed = " (assumed: the range could not be read)" if facts.get("port_range_assumed") else ""
    at_least = "at least " if facts.get("truncated") else ""
    return TCP_TIME_WAIT_HIGH.finding(
        severity=severity,
        title=(
            f"{at_least}{top['count']:,} TIME-WAIT towards {upstream}: {share:.0f}% of the "
            f"{size:,} ephemeral ports ({low}-{high}){assumed}; "
            f"{int(state['count']):,} TIME-WAIT in all "
            f"(threshold {t.time_wait_port_share_warning_pct:g}%)"
        ),
        detail=f"This host opens a new connection to {upstream} for each request and closes it "
        "first: every closed one keeps a local port for 60 s, and when the range is used up "
        "connects to that upstream fail (EADDRNOTAVAIL, 'Cannot assign requested address').",
        evidence={
            "upstream": {"address": top["address"], "port": top["port"]},
            "count": int(top["count"]),
            "share_pct": round(share, 1),
            "port_range": [low, high],
            "port_range_size": size,
            "port_range_assumed": bool(facts.get("port_range_assumed")),
            "total": int(state["count"]),
            "peers": list(state.get("peers", [])),
            "threshold_pct": t.time_wait_port_share_warning_pct,
            "critical_pct": t.time_wait_port_share_critical_pct,
        },
        suggestion=(
            f"Reuse connections towards {upstream}: enable keep-alive in the HTTP client or "
            "proxy (nginx: `keepalive` in the upstream block with `proxy_http_version 1.1` and "
            "an empty Connection header) and use a connection pool for databases and caches. "
            "Meanwhile widen the range (`sysctl -w net.ipv4.ip_local_port_range='1024 65535'`) "
            "or enable `net.ipv4.tcp_tw_reuse=1` (outgoing only). Watch it with "
            f"`ss -Htn state time-wait dst {top['address']} | wc -l`."
        ),
        host=host.name,
    )


def _syn_sent(base: Finding, state: Facts) -> Finding:
    callers = _processes(state)
    peers = _top(state, "peers")
    route = peers[0]["address"] if peers else "PEER"
    checks = [
        f"`nc -vz -w 3 {p['address']} {p['port']}` and "
        f"`traceroute -T -p {p['port']} {p['address']}`"
        for p in peers
    ]
    return replace(
        base,
        title=f"{base.title}, no answer from {_where(state, peers=True)}",
        detail="Connection attempts get no answer: the peer is down, the address is wrong, or "
        "a firewall or security group drops the packets on the way."
        + (f" Callers: {callers}." if callers else ""),
        suggestion="Test the peer from this host: "
        + ("; ".join(checks) or "`nc -vz -w 3 PEER PORT`")
        + ". Then check the firewalls on both ends (`iptables -L -n -v`, `nft list ruleset`), "
        "the security groups / network ACLs for that port, and the route "
        f"(`ip route get {route}`).",
    )


DATABASES = ("postgres", "postmaster", "mysqld", "mariadbd", "mongod", "redis-server")


# Plain text for the reader to run in psql / mysql; nothing here is ever executed.
DB_SESSIONS = (
    "find the stuck sessions (PostgreSQL: `pg_stat_activity` ordered by state_change; "
    "MySQL: `SHOW PROCESSLIST`), end them (`pg_terminate_backend(pid)`, `KILL id`) and fix "
    "the client that leaves them; fail over to a replica if it must be restarted"
)


def _restart(who: str, name: str) -> str:
    """How to recover meanwhile: drain, then restart; a database is not restarted blindly."""
    if name.startswith(DATABASES):
        return f"do not restart {who} blindly, it is the database: {DB_SESSIONS}"
    return (
        "to recover meanwhile, drain its traffic first (take it out of the load balancer or "
        "stop sending it work), since a restart drops the requests in flight, then restart "
        f"{who}"
    )


def _close_wait(base: Finding, state: Facts, facts: Facts) -> Finding:
    owners = _processes(state)
    procs = _top(state, "processes")
    if procs:
        name, pid = procs[0]["name"], procs[0]["pid"]
        who = f"in {name} (pid {pid})"
        watch = f"`ls -l /proc/{pid}/fd | wc -l`"
        restart = _restart(f"{name} (pid {pid})", name)
    else:
        hidden = not facts.get("processes_visible")
        who = "in the owning process" + (" (ss showed no processes: run as root)" if hidden else "")
        watch = "`ls -l /proc/PID/fd | wc -l` (PID from `ss -tanp state close-wait`)"
        restart = _restart("that process", "")
    fix = (
        f"Close responses and connections {who}: release every HTTP response body and DB "
        "connection in a finally/with block, on error paths too, and close a socket as soon as "
        "a read returns EOF (the peer has closed it)."
    )
    if procs and str(procs[0]["name"]).startswith(DATABASES):
        fix = (
            f"The database's sessions {who} outlive clients that have gone (a pool that "
            "dropped them, backends busy in long queries or waiting on locks)."
        )
    return replace(
        base,
        title=f"{base.title}" + (f" held by {owners}" if owners else "") + f", {_where(state)}",
        detail="The peer closed these connections but the application never closed its side: "
        "a socket leak that grows until the process runs out of file descriptors.",
        suggestion=f"{fix} {restart[:1].upper()}{restart[1:]}. Watch the leak with {watch}.",
    )


def _connections(
    facts: Facts, host: HostTarget, t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    ss, cw = facts["syn_sent"], facts["close_wait"]
    if found := _time_wait(facts, t, host):
        yield found
    if base := _base(TCP_SYN_SENT_HIGH, "SYN-SENT", ss, t.syn_sent_warning, facts, host):
        yield _syn_sent(base, ss)
    if base := _base(TCP_CLOSE_WAIT_HIGH, "CLOSE-WAIT", cw, t.close_wait_warning, facts, host):
        yield _close_wait(base, cw, facts)


RULES: dict[str, Rule] = {"connections": _connections}
