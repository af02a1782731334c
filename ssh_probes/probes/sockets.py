"""Listening TCP sockets with their owning processes: `ss -H -lntp`.

In a triage the connections probe's `ss -H -tanp` already lists every listening socket, in
the same columns; there this probe's output is made from that one's (`from_connections`)
and the host runs one `ss`, not two (issue 18: ~14 ms of the host's CPU each).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, Probe

_PROC = re.compile(r'\("([^"]*)",pid=(\d+),fd=(\d+)\)')


def split_endpoint(text: str) -> tuple[str, int]:
    """`[::1]:5432`, `127.0.0.53%lo:53`, `*:22` -> (address, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"not an address:port: {text!r}")
    host = host.removeprefix("[").removesuffix("]")
    host = host.split("%", 1)[0]  # scope / interface suffix
    return host, int(port)


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for wildcards and others."""
    if address in ("*", ""):
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def parse(result: CommandResult) -> Facts:
    """One entry per listening socket: address, port, loopback flag, processes (if visible)."""
    if result.exit_status not in (0, None) and not result.stdout.strip():
        raise ValueError(result.stderr.strip() or f"ss exited {result.exit_status}")
    listeners = []
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        if fields[0] != "LISTEN":
            raise ValueError(f"unexpected ss line: {line[:80]!r}")
        address, port = split_endpoint(fields[3])
        rest = " ".join(fields[5:])
        listeners.append(
            {
                "local_address": address,
                "port": port,
                "loopback": is_loopback(address),
                "backlog": int(fields[2]),
                "queued": int(fields[1]),
                "process": [
                    {"name": name, "pid": int(pid)} for name, pid, _fd in _PROC.findall(rest)
                ],
            }
        )
    listeners.sort(key=lambda s: (s["port"], s["local_address"]))
    return {"listeners": listeners}


def from_connections(result: CommandResult) -> CommandResult:
    """What `ss -H -lntp` prints, from the connections probe's output: its LISTEN lines.

    The connections script's other lines (its `@@tb` markers and the TIME-WAIT tallies,
    `COUNT KIND VALUE`) never start with a state name. A line cut by the output cap is
    dropped (a cut address would name a wrong port); the result stays `truncated`, since
    listeners after the cut are missing. Errors, exit status and timeouts carry over.
    """
    text = result.stdout
    if result.truncated and not text.endswith("\n"):
        text = text.rpartition("\n")[0]
    lines = [line for line in text.splitlines() if line.split(None, 1)[:1] == ["LISTEN"]]
    return replace(result, stdout="".join(f"{line}\n" for line in lines))


SOCKETS = Probe(
    name="sockets",
    area="network",
    command=("ss", "-H", "-lntp"),
    parse=parse,
    timeout_s=QUICK_LIMIT_S,
    reuses=("connections", from_connections),
)
