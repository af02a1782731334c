"""Listening-socket rules: port.not_listening, port.loopback_only, and a full accept queue
(tcp.listen_queue_full) when the limits rule, which also reads the overflow counters, did not
run."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.rules.base import Rule, Thresholds
from ssh_probes.rules.docker_calls import published_by
from ssh_probes.rules.limits import listen_queue, live

PORT_NOT_LISTENING = Code(
    "port.not_listening",
    "host",
    "Expected port not listening",
    "A port the host should serve has no listener: clients get 'connection refused'.",
    "Check the service (`systemctl status`, `journalctl -u SVC -n 200`) and its configured port; "
    "confirm with `ss -lntp`.",
)

PORT_LOOPBACK_ONLY = Code(
    "port.loopback_only",
    "host",
    "Port listens on loopback only",
    "The service binds 127.0.0.1 or ::1: local checks pass, remote clients are refused.",
    "Bind to 0.0.0.0 or the interface address in the service's configuration.",
)

CODES = (PORT_NOT_LISTENING, PORT_LOOPBACK_ONLY)


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
    facts: Facts, host: HostTarget, _t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    if not live(extra):
        # The accept queues and the kernel's SYN floods, without the limits probe's counters.
        yield from listen_queue({}, host, {"sockets": facts, "kernel": extra.get("kernel") or {}})
    by_port: dict[int, list[dict[str, Any]]] = {}
    for sock in facts["listeners"]:
        by_port.setdefault(sock["port"], []).append(sock)
    for port in host.expect_ports:
        socks = by_port.get(port, [])
        # A port Docker publishes by iptables DNAT (userland-proxy off) has no LISTEN socket.
        if not socks and published_by(extra.get("docker") or {}, port):
            continue
        if not socks:
            yield PORT_NOT_LISTENING.finding(
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
            yield PORT_LOOPBACK_ONLY.finding(
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


RULES: dict[str, Rule] = {"sockets": _sockets}
