"""What changed since the previous run of the same command and target.

Findings are compared by (code, host). Areas are compared fact by fact where a change
means something to the person on call: listening ports opened or closed, disk and inode use
that moved, the run's status. Each area differ is a pure function of (before, now) facts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bot.runs.differs import connections_diff, dns_diff
from bot.store.runs import PastRun
from commands.report import Changes, Report

Facts = dict[str, Any]


def _codes(pairs: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(sorted({code for code, _host in pairs}))


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


# probe name -> differ; areas without one are not compared (their findings still are).
DIFFERS: dict[str, Callable[[Facts, Facts], dict[str, Any]]] = {
    "sockets": sockets_diff,
    "disk": disk_diff,
    "connections": connections_diff,
    "dig": dns_diff,  # every dig:TYPE@resolver result (looked up by the part before ":")
}


def diff(report: Report, previous: PastRun | None) -> Changes:
    """Findings new, resolved and still present, and per-area changes, since `previous`."""
    now = {(f.code, f.host) for f in report.findings}
    if previous is None:
        return Changes(since=None, previous_run_id=None, new=_codes(now))
    before = set(previous.finding_codes)
    areas: dict[str, Any] = {}
    if previous.status != report.status:
        areas["status"] = {"before": previous.status, "now": report.status}
    for result in report.results:
        differ = DIFFERS.get(result.probe) or DIFFERS.get(result.probe.split(":", 1)[0])
        old = previous.facts.get(result.probe)
        if differ is None or old is None or not result.ok:
            continue
        change = differ(old, result.facts)
        if change:
            areas[result.probe] = change
    return Changes(
        since=previous.started_at,
        previous_run_id=previous.run_id,
        new=_codes(now - before),
        resolved=_codes(before - now),
        still=_codes(now & before),
        areas=areas,
    )
