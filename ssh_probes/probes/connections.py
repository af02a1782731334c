"""TCP connection states with peers and owning processes: `ss -H -tanp`, TIME-WAIT aggregated.

The script prints the ephemeral port range (`ip_local_port_range`, what TIME-WAIT towards
one destination uses up), every socket but TIME-WAIT with its process (`ss -H -tanp exclude
time-wait`), then TIME-WAIT counted per peer endpoint, peer address and local port by awk on
the host: a proxy holds tens of thousands of them, which would not fit the output cap line by
line, and they have no owning process anyway. Where the kernel counts fewer than
TW_LISTED_MAX TIME-WAIT sockets, one `ss -H -tanp` lists them with the rest instead (the same
facts for less of the host's CPU). Output without the markers (a bare `ss -H -tanp`, older
captures) is parsed as before.

Process columns appear only for sockets the SSH user may inspect (all of them as root);
without permission they are simply absent, which is not an error. Facts stay bounded
whatever the socket count: per-state counts plus, for the states the rules watch, the
top peers (address:port, and address alone, since a server's peers use ephemeral
ports), local ports and owning processes (at most TOP of each).

The executor caps output (1 MB, about ten thousand sockets): then `truncated` is set,
the cut last line is dropped and every count is a lower bound.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, Probe
from ssh_probes.probes.sockets import is_loopback, split_endpoint

TOP = 10
STATES = (
    "ESTAB",
    "SYN-SENT",
    "SYN-RECV",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
    "CLOSE-WAIT",
    "LAST-ACK",
    "CLOSING",
)
# The states a rule looks at, with their facts key prefix.
WATCHED = {"TIME-WAIT": "time_wait", "SYN-SENT": "syn_sent", "CLOSE-WAIT": "close_wait"}

MARK = "@@tb "
# Linux's default when the range cannot be read (net.ipv4.ip_local_port_range).
DEFAULT_PORT_RANGE = (32768, 60999)
# Host CPU (issue 18): the second ss and its awk | sort | head (~14 ms of the host's CPU) pay
# off only where TIME-WAIT sockets are too many to list. The kernel's own count (the `tw` of
# /proc/net/sockstat: every TIME-WAIT of this network namespace, IPv6 too, read by the
# shell) decides: under TW_LISTED_MAX ("$1") one `ss -H -tanp` lists them with the rest and
# the parser counts them line by line, which gives the same facts as the aggregation (the
# fallback for an ss too old for `exclude` already does so). The count and the threshold are
# printed (`@@tb tw`) so the output says which way was taken.
TW_LISTED_MAX = 1000  # ~150 KB of ss lines, well under the executor's 1 MB output cap
# The range is read with `cat`, not the shell's `read`: dash and busybox read a byte at a
# time, and an integer sysctl file answers a read at a non-zero offset with end of file, so
# `read` gets "3" of "32768\t60999" (seen here).
SCRIPT = r"""
r=$(cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) && echo "@@tb range $r"
tw=
if [ -r /proc/net/sockstat ]; then
  while read -r k rest; do
    case "$k $rest " in "TCP: "*" tw "*) tw=${rest#* tw }; tw=${tw%% *};; esac
  done </proc/net/sockstat
fi
case $tw in ''|*[!0-9]*) tw=;; esac
[ -n "$tw" ] && echo "@@tb tw $tw $1"
if [ -n "$tw" ] && [ "$tw" -lt "$1" ]; then
  echo "@@tb sockets"
  ss -H -tanp
elif out=$(ss -H -tanp exclude time-wait 2>/dev/null); then
  echo "@@tb sockets"
  printf '%s\n' "$out"
  echo "@@tb time-wait"
  ss -H -tn state time-wait | awk '
    { n++; p[$NF]++; a = $NF; sub(/:[^:]*$/, "", a); h[a]++
      l = $(NF-1); sub(/.*:/, "", l); o[l]++ }
    END { print n + 0, "total", "-"
          for (k in p) print p[k], "peer", k
          for (k in h) print h[k], "address", k
          for (k in o) print o[k], "lport", k }' | sort -rn | head -n 400
else
  echo "@@tb sockets"
  ss -H -tanp
fi
"""

_STATE = re.compile(r"^[A-Z][A-Z0-9-]*$")
_PROC = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)')


def parse_line(line: str) -> dict[str, Any]:
    """One ss line -> state, queues, local and peer endpoints, processes (name, pid)."""
    fields = line.split(None, 5)
    if len(fields) < 5 or not _STATE.match(fields[0]):
        raise ValueError(f"unexpected ss line: {line[:80]!r}")
    state, recv_q, send_q, local, peer = fields[:5]
    rest = fields[5] if len(fields) > 5 else ""
    local_address, local_port = split_endpoint(local)
    if peer.endswith(":*"):  # LISTEN: no peer yet
        peer_address, peer_port = peer[:-2].strip("[]"), 0
    else:
        peer_address, peer_port = split_endpoint(peer)
    return {
        "state": state,
        "recv_q": int(recv_q),
        "send_q": int(send_q),
        "local_address": local_address,
        "local_port": local_port,
        "peer_address": peer_address,
        "peer_port": peer_port,
        "processes": [(name, int(pid)) for name, pid, _fd in _PROC.findall(rest)],
    }


def _top_peers(counter: Counter[tuple[str, int]]) -> list[dict[str, Any]]:
    return [
        {"address": a, "port": p, "loopback": is_loopback(a), "count": n}
        for (a, p), n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    ]


def _top_addresses(counter: Counter[str]) -> list[dict[str, Any]]:
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return [{"address": a, "loopback": is_loopback(a), "count": n} for a, n in ranked]


def _top_ports(counter: Counter[int]) -> list[dict[str, int]]:
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return [{"port": p, "count": n} for p, n in ranked]


def _top_processes(counter: Counter[tuple[str, int]]) -> list[dict[str, Any]]:
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return [{"name": name, "pid": pid, "count": n} for (name, pid), n in ranked]


def _sections(stdout: str) -> dict[str, tuple[str, list[str]]]:
    """Marker -> (argument, lines); a bare ss output is one `sockets` section."""
    if not stdout.startswith(MARK) and f"\n{MARK}" not in stdout:
        return {"sockets": ("", stdout.splitlines())}
    found: dict[str, tuple[str, list[str]]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        if line.startswith(MARK):
            kind, _, arg = line[len(MARK) :].partition(" ")
            current = []
            found[kind] = (arg, current)
        elif current is not None:
            current.append(line)
    return found


def _port_range(arg: str | None) -> tuple[int, int] | None:
    fields = (arg or "").split()
    if len(fields) == 2 and all(f.isdigit() for f in fields):
        return int(fields[0]), int(fields[1])
    return None


def _time_wait(lines: list[str]) -> Facts:
    """The aggregated TIME-WAIT section -> the same shape as the other watched states."""
    total = 0
    peers: Counter[tuple[str, int]] = Counter()
    hosts: Counter[str] = Counter()
    ports: Counter[int] = Counter()
    for line in lines:
        fields = line.split()
        if len(fields) != 3 or not fields[0].isdigit():
            continue
        count, kind, key = int(fields[0]), fields[1], fields[2]
        if kind == "total":
            total = count
        elif kind == "peer":
            peers[split_endpoint(key)] += count
        elif kind == "address":
            hosts[key.removeprefix("[").removesuffix("]").split("%", 1)[0]] += count
        elif kind == "lport" and key.isdigit():
            ports[int(key)] += count
    return {
        "count": total,
        "peers": _top_peers(peers),
        "peer_addresses": _top_addresses(hosts),
        "local_ports": _top_ports(ports),
        "processes": [],
    }


def parse(result: CommandResult) -> Facts:
    """Counts per state, and top peers / local ports / processes for the watched states."""
    if result.exit_status not in (0, None) and not result.stdout.strip():
        raise ValueError(result.stderr.strip() or f"ss exited {result.exit_status}")
    sections = _sections(result.stdout)
    if "sockets" not in sections or (
        result.exit_status not in (0, None) and not any(sections["sockets"][1])
    ):
        raise ValueError(result.stderr.strip() or f"no ss output in {result.stdout[:80]!r}")
    lines = sections["sockets"][1]
    if result.truncated and "time-wait" not in sections and not result.stdout.endswith("\n"):
        lines = lines[:-1]  # cut by the output cap mid-line
    states: Counter[str] = Counter({s: 0 for s in STATES})
    listening = 0
    with_process = 0
    peers = {s: Counter[tuple[str, int]]() for s in WATCHED}
    hosts = {s: Counter[str]() for s in WATCHED}
    ports = {s: Counter[int]() for s in WATCHED}
    procs = {s: Counter[tuple[str, int]]() for s in WATCHED}
    for line in lines:
        if not line.strip():
            continue
        sock = parse_line(line)
        if sock["processes"]:
            with_process += 1
        if sock["state"] == "LISTEN":
            listening += 1
            continue
        state = sock["state"]
        states[state] += 1
        if state in WATCHED:
            peers[state][(sock["peer_address"], sock["peer_port"])] += 1
            hosts[state][sock["peer_address"]] += 1
            ports[state][sock["local_port"]] += 1
            for proc in set(sock["processes"]):  # a forked fd is listed once per process
                procs[state][proc] += 1
    watched: Facts = {}
    for state, key in WATCHED.items():
        watched[key] = {
            "count": states[state],
            "peers": _top_peers(peers[state]),
            "peer_addresses": _top_addresses(hosts[state]),
            "local_ports": _top_ports(ports[state]),
            "processes": _top_processes(procs[state]),
        }
    if "time-wait" in sections:
        watched["time_wait"] = _time_wait(sections["time-wait"][1])
        states["TIME-WAIT"] = watched["time_wait"]["count"]
    port_range = _port_range(sections.get("range", ("", []))[0])
    low, high = port_range or DEFAULT_PORT_RANGE
    return {
        "total": sum(states.values()),
        "listening": listening,
        "states": dict(states),
        "processes_visible": with_process > 0,
        "truncated": result.truncated,
        "port_range": [low, high],
        "port_range_size": high - low + 1,
        "port_range_assumed": port_range is None,
        **watched,
    }


CONNECTIONS = Probe(
    name="connections",
    area="network",
    command=("sh", "-c", SCRIPT, "sh", str(TW_LISTED_MAX)),
    parse=parse,
    timeout_s=QUICK_LIMIT_S,
)
