"""Connection-state rules: tcp.time_wait_high, tcp.syn_sent_high, tcp.close_wait_high.

Severity: warning at the state's threshold (`time_wait_warning`, `syn_sent_warning`,
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
    "Many TIME-WAIT connections",
    "Many short-lived connections: each request opens and closes a socket.",
    "Use keep-alive and connection pooling towards the peers named.",
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
    "Fix socket closing in the named process; restart it to recover meanwhile.",
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


def _time_wait(base: Finding, state: Facts) -> Finding:
    if _concentrated(state):
        towards = " and ".join(endpoint(p["address"], p["port"]) for p in _top(state, "peers"))
        reuse = (
            f"Reuse connections towards {towards}: enable keep-alive in the HTTP client and "
            "use a connection pool for databases and caches (a DB pool rather than a "
            "connection per request)."
        )
    else:
        ports = " and ".join(str(p["port"]) for p in _top(state, "local_ports"))
        reuse = (
            f"This host closes first on local port {ports}: let its clients keep connections "
            "alive (server keep-alive timeout, client pools) instead of one per request."
        )
    return replace(
        base,
        title=f"{base.title}, most {'to' if _concentrated(state) else 'on'} {_where(state)}",
        detail="Many short-lived connections: each request opens a new TCP connection and "
        "closes it, and the side that closes first keeps the socket in TIME-WAIT for 60 s.",
        suggestion=reuse + " `sysctl -w net.ipv4.tcp_tw_reuse=1` only helps outgoing "
        "connections and hides the cause. Watch it with `ss -Htan state time-wait | wc -l`.",
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


def _close_wait(base: Finding, state: Facts, facts: Facts) -> Finding:
    owners = _processes(state)
    procs = _top(state, "processes")
    if procs:
        name, pid = procs[0]["name"], procs[0]["pid"]
        who = f"in {name} (pid {pid})"
        watch = f"`ls -l /proc/{pid}/fd | wc -l`"
        restart = f"restart {name} (pid {pid}) to recover meanwhile"
    else:
        hidden = not facts.get("processes_visible")
        who = "in the owning process" + (" (ss showed no processes: run as root)" if hidden else "")
        watch = "`ls -l /proc/PID/fd | wc -l` (PID from `ss -tanp state close-wait`)"
        restart = "restart that process to recover meanwhile"
    return replace(
        base,
        title=f"{base.title}" + (f" held by {owners}" if owners else "") + f", {_where(state)}",
        detail="The peer closed these connections but the application never closed its side: "
        "a socket leak that grows until the process runs out of file descriptors.",
        suggestion=f"Close responses and connections {who}: release every HTTP response body "
        "and DB connection in a finally/with block, on error paths too, and close a socket as "
        f"soon as a read returns EOF (the peer has closed it). Then {restart}. Watch the leak "
        f"with {watch}.",
    )


def _connections(
    facts: Facts, host: HostTarget, t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    tw, ss, cw = facts["time_wait"], facts["syn_sent"], facts["close_wait"]
    if base := _base(TCP_TIME_WAIT_HIGH, "TIME-WAIT", tw, t.time_wait_warning, facts, host):
        yield _time_wait(base, tw)
    if base := _base(TCP_SYN_SENT_HIGH, "SYN-SENT", ss, t.syn_sent_warning, facts, host):
        yield _syn_sent(base, ss)
    if base := _base(TCP_CLOSE_WAIT_HIGH, "CLOSE-WAIT", cw, t.close_wait_warning, facts, host):
        yield _close_wait(base, cw, facts)


RULES: dict[str, Rule] = {"connections": _connections}
