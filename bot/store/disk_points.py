"""Disk use per mount, taken from a disk probe's facts when a run is saved.

Digests forecast from these small rows (one per host and run) instead of reading every
stored disk result's full facts, which made a 100-host digest over a million stored results
cost about a second on PostgreSQL.
"""

from __future__ import annotations

from typing import Any


def use_by_mount(facts: dict[str, Any]) -> dict[str, float]:
    """mount -> space use %, computed as df does (used / (used + available)), 2 decimals.

    Falls back to the probe's own `use_pct` when the sizes are missing; filesystems with
    neither (or without a mount) are left out.
    """
    return _by_mount(facts, "used_kb", "avail_kb", "use_pct")


def inodes_by_mount(facts: dict[str, Any]) -> dict[str, float]:
    """mount -> inode use % (iused / (iused + ifree)), like use_by_mount; filesystems that
    report no inodes (df shows "-" for some) are left out."""
    return _by_mount(facts, "iused", "ifree", "iuse_pct")


def _by_mount(
    facts: dict[str, Any], used_key: str, free_key: str, pct_key: str
) -> dict[str, float]:
    out: dict[str, float] = {}
    for fs in facts.get("filesystems") or []:
        if not isinstance(fs, dict) or not isinstance(fs.get("mount"), str):
            continue
        used, free = _count(fs.get(used_key)), _count(fs.get(free_key))
        if used is not None and free is not None and used + free > 0:
            pct = 100.0 * used / (used + free)
        elif isinstance(fs.get(pct_key), int | float) and not isinstance(fs[pct_key], bool):
            pct = float(fs[pct_key])
        else:
            continue
        out[fs["mount"]] = round(pct, 2)
    return out


def _count(value: Any) -> int | None:
    """A non-negative integer count, or None."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else None
