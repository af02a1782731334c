"""Names the host itself resolves: `getent ahosts NAME` for the names in its `resolve` label.

The host's view can differ from the bot's (its own resolv.conf, /etc/hosts, search domains,
a split horizon): the question behind "works from my laptop, not from the server". Names come
from the registry label `resolve=a.example.com,b.internal`, validated as domain names, and
reach the fixed script as separate arguments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, HostTarget, Probe

# Each name between markers, with getent's exit status: 0 found, 2 not found.
SCRIPT = 'for n do echo "@@name $n"; getent ahosts "$n"; echo "@@rc $?"; done'
_NAME = re.compile(r"^(?!-)[A-Za-z0-9._-]{1,253}$")
MAX_NAMES = 10


def names(host: HostTarget) -> list[str]:
    """The names to resolve on `host` (at most MAX_NAMES; anything not a plain name skipped)."""
    raw = host.labels.get("resolve", "")
    return [n for n in dict.fromkeys(raw.split(",")) if _NAME.fullmatch(n)][:MAX_NAMES]


def parse(result: CommandResult) -> Facts:
    """Per name: the addresses (in getent's order) or why there are none."""
    found: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in result.stdout.splitlines():
        if line.startswith("@@name "):
            current = {"name": line[7:], "addresses": [], "status": None}
            found.append(current)
        elif line.startswith("@@rc ") and current is not None:
            rc = int(line[5:])
            current["status"] = {0: "ok", 2: "not_found"}.get(rc, f"error {rc}")
        elif current is not None and line.strip():
            address, _, kind = line.partition(" ")
            if "STREAM" in kind and address not in current["addresses"]:
                current["addresses"].append(address)
    if not found:
        return {"available": False, "why": "no `resolve` label on this host", "names": []}
    if any(n["status"] is None for n in found):
        raise ValueError("getent output ended early")
    return {"names": found}


def probe_args(host: HostTarget) -> Sequence[str]:
    """The label's names as separate argv elements after the script."""
    return names(host)


RESOLVE = Probe(
    name="resolve",
    area="dns",
    command=("sh", "-c", SCRIPT, "sh"),
    parse=parse,
    timeout_s=QUICK_LIMIT_S,
    args=probe_args,
    applies=lambda host: bool(names(host)),
)
