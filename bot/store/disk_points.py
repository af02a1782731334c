"""Disk use per mount, taken from a disk probe's facts when a run is saved.

Digests forecast from these small rows (one per host and run) instead of reading every
stored disk result's full facts, which made a 100-host digest over a million stored results
cost about a second on PostgreSQL.
"""

from __future__ import annotations

from typing import Any


def use_by_mount(facts: dict[str, Any]) -> dict[str, float]:
    """mount -> use %, computed as df does (used / (used + available)), 2 decimals.

    Falls back to the probe's own `use_pct` when the sizes are missing; filesystems with
    neither (or without a mount) are left out.
    """
    out: dict[str, float] = {}
    for fs in facts.get("filesystems") or []:
        if not isinstance(fs, dict) or not isinstance(fs.get("mount"), str):
            continue
        used, avail = fs.get("used_kb"), fs.get("avail_kb")
        if isinstance(used, int) and isinstance(avail, int) and used >= 0 and used + avail > 0:
            pct = 100.0 * used / (used + avail)
        elif isinstance(fs.get("use_pct"), int | float) and not isinstance(fs["use_pct"], bool):
            pct = float(fs["use_pct"])
        else:
            continue
        out[fs["mount"]] = round(pct, 2)
    return out
