"""Follow-up of the docker probe: how the host resolves the names containers call, the
host's own addresses, and the last log lines of the containers that matter.

It runs after `docker` and only when that found something to look at. Names come from
container environments and ids from docker's own output: both are validated (a strict host
name; 12-64 hex digits) and passed as argv elements of a fixed script, never as shell text.
`getent ahosts NAME` resolves as the host does (/etc/hosts, then its resolvers), which is
what a container on the default DNS path sees too. Log lines are redacted and grouped like
the host's logs (ssh_probes/probes/logtext.py); Node's happy-eyeballs timeout
(`AggregateError [ETIMEDOUT]` ... `internalConnectMultiple`) is counted per container.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence
from typing import Any

from ssh_probes.model import SLOW_LIMIT_S, CommandResult, Facts, Probe
from ssh_probes.probes import logtext
from ssh_probes.probes.docker_refs import is_hostname
from ssh_probes.redact import redact

MAX_NAMES = 10
MAX_LOGS = 8
LOG_TAIL = 50
TOP_GROUPS = 5

# Log lines are prefixed with `|` so no line a container prints can pass for a marker.
SCRIPT = f"""\
# Per-call deadlines; busybox before 1.30 (`timeout -t N`) runs them bare.
if timeout 5 true 2>/dev/null; then to() {{ timeout "$@"; }}; else to() {{ shift; "$@"; }}; fi
mode=""
for a; do
  case "$a" in
    --names) mode=names; continue ;;
    --logs) mode=logs; continue ;;
  esac
  if [ "$mode" = names ]; then
    echo "@@name $a"
    to 5 getent ahosts "$a" 2>&1 | head -n 40
  elif [ "$mode" = logs ]; then
    echo "@@logs $a"
    to 10 docker logs --tail {LOG_TAIL} "$a" 2>&1 | head -n {LOG_TAIL * 2} | sed 's/^/|/'
  fi
done
echo "@@addr"
ip -j addr 2>/dev/null
"""

_ID = re.compile(r"[0-9a-f]{12,64}")
# Node's connect over several addresses (happy eyeballs) that all timed out.
HAPPY_EYEBALLS = re.compile(r"AggregateError\s*\[?\(?ETIMEDOUT|internalConnectMultiple")
_ETIMEDOUT = re.compile(r"ETIMEDOUT")


def happy_eyeballs(lines: Sequence[str]) -> dict[str, Any] | None:
    """{count, example} of Node's happy-eyeballs ETIMEDOUT in these lines, or None."""
    hits = [line for line in lines if HAPPY_EYEBALLS.search(line)]
    if not hits or not any(_ETIMEDOUT.search(line) for line in lines):
        return None
    # Count the errors, not the stack frames: AggregateError lines, else frame lines.
    heads = [line for line in hits if "AggregateError" in line] or hits
    fetch = "TypeError: fetch failed; " if any("fetch failed" in x for x in lines) else ""
    frame = "" if "internalConnectMultiple" in heads[0] else " at internalConnectMultiple"
    example = f"{fetch}{heads[0].strip().rstrip(':')}{frame if fetch else ''}"
    return {"count": len(heads), "example": redact(example)[:300]}


def probe(names: Sequence[str], ids: Sequence[str]) -> Probe:
    """The follow-up for these host names and container ids (invalid ones are dropped)."""
    names = [n for n in dict.fromkeys(names) if is_hostname(n)][:MAX_NAMES]
    ids = [i for i in dict.fromkeys(ids) if _ID.fullmatch(i)][:MAX_LOGS]
    return Probe(
        name="docker_detail",
        area="docker",
        command=("sh", "-c", SCRIPT, "sh", "--names", *names, "--logs", *ids),
        parse=parse,
        timeout_s=SLOW_LIMIT_S,
    )


def _addresses(lines: list[str]) -> list[str]:
    """Global addresses of the host's interfaces, from `ip -j addr`."""
    try:
        links = json.loads("\n".join(lines) or "[]")
    except json.JSONDecodeError:
        return []
    out = []
    for link in links if isinstance(links, list) else []:
        for info in link.get("addr_info") or []:
            local = str(info.get("local", ""))
            if info.get("scope") == "global" and local:
                out.append(local)
    return list(dict.fromkeys(out))


def _resolved(lines: list[str]) -> list[str]:
    """Addresses from `getent ahosts` lines (`ADDR STREAM name`), in order, once each."""
    out = []
    for line in lines:
        word = line.split()[0] if line.split() else ""
        try:
            out.append(str(ipaddress.ip_address(word)))
        except ValueError:
            continue
    return list(dict.fromkeys(out))


def _logs(lines: list[str]) -> dict[str, Any]:
    text = [redact(line[1:]) for line in lines if line.startswith("|")]
    groups = logtext.Groups()
    for entry in logtext.entries([(None, line) for line in text]):
        body = [line for _, line in entry]
        stamp, message = logtext.split_stamp(logtext.headline(body))
        groups.add("container", stamp, message, "\n".join(body))
    return {
        "lines": len(text),
        "last": text[-5:],
        "groups": groups.top(TOP_GROUPS),
        "happy_eyeballs": happy_eyeballs(text),
    }


def parse(result: CommandResult) -> Facts:
    """{names: {name: [addresses]}, host_addresses: [...], logs: {id: {...}}}."""
    names: dict[str, list[str]] = {}
    logs: dict[str, dict[str, Any]] = {}
    addr: list[str] = []
    kind = ""
    body: list[str] = []
    sections: list[tuple[str, str, list[str]]] = []
    for line in result.stdout.splitlines():
        if line.startswith("@@"):
            kind, _, arg = line[2:].partition(" ")
            body = []
            sections.append((kind, arg, body))
        elif kind:
            body.append(line)
    if not sections or sections[-1][0] != "addr":
        raise ValueError("docker_detail output ends before its @@addr section")
    for kind, arg, lines in sections:
        if kind == "name":
            names[arg] = _resolved(lines)
        elif kind == "logs":
            logs[arg] = _logs(lines)
        elif kind == "addr":
            addr = _addresses(lines)
    return {"names": names, "host_addresses": addr, "logs": logs}
