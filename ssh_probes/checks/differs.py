"""Area differs of the host checks: pure functions of (before, now) facts of one probe.

Each returns {} when nothing worth saying changed.
"""

from __future__ import annotations

from typing import Any

Facts = dict[str, Any]

# A state count moves by at least this many sockets and this share before it is news;
# ESTAB going from 41 to 43 between two runs is normal traffic, not a change.
MIN_STATE_DELTA = 5
MIN_STATE_SHARE = 0.2


def _listeners(facts: Facts) -> set[str]:
    out = set()
    for s in facts.get("listeners", []):
        addr = s["local_address"]
        out.add(f"[{addr}]:{s['port']}" if ":" in addr else f"{addr}:{s['port']}")
    return out


def sockets_diff(before: Facts, now: Facts) -> dict[str, Any]:
    """Listening sockets opened and closed."""
    b, n = _listeners(before), _listeners(now)
    if b == n:
        return {}
    return {"opened": sorted(n - b), "closed": sorted(b - n)}


def disk_diff(before: Facts, now: Facts) -> dict[str, Any]:
    """Per mount: use and inode use that moved, filesystems that appeared or went away."""
    b = {f["mount"]: f for f in before.get("filesystems", [])}
    n = {f["mount"]: f for f in now.get("filesystems", [])}
    changed = {}
    for mount in sorted(b.keys() & n.keys()):
        delta = {}
        for key in ("use_pct", "iuse_pct"):
            old, new = b[mount].get(key), n[mount].get(key)
            if old is not None and new is not None and old != new:
                delta[key] = {"before": old, "now": new, "delta": new - old}
        if delta:
            changed[mount] = delta
    out: dict[str, Any] = {}
    if changed:
        out["changed"] = changed
    if n.keys() - b.keys():
        out["mounted"] = sorted(n.keys() - b.keys())
    if b.keys() - n.keys():
        out["unmounted"] = sorted(b.keys() - n.keys())
    return out


def connections_diff(before: Facts, now: Facts) -> dict[str, Any]:
    """TCP states whose socket count moved markedly (by MIN_STATE_DELTA and MIN_STATE_SHARE)."""
    b, n = before.get("states") or {}, now.get("states") or {}
    changed = {}
    for state in sorted(b.keys() | n.keys()):
        old, new = int(b.get(state, 0)), int(n.get(state, 0))
        delta = new - old
        if abs(delta) >= MIN_STATE_DELTA and abs(delta) >= MIN_STATE_SHARE * max(old, new):
            changed[state] = {"before": old, "now": new, "delta": delta}
    return {"states": changed} if changed else {}
