"""Area differ for DNS answers (registered in bot.runs.history); the host checks' are in
ssh_probes.checks.differs (not imported here: a dig's diff needs none of the host checks).

Each is a pure function of (before, now) facts of one probe and returns {} when nothing
worth saying changed.
"""

from __future__ import annotations

from typing import Any

Facts = dict[str, Any]

__all__ = ["dns_diff", "dns_text"]


def _answers(facts: Facts) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for a in facts.get("answers") or []:
        out[(str(a["type"]), str(a["value"]))] = int(a.get("ttl") or 0)
    return out


def dns_diff(before: Facts, now: Facts) -> dict[str, Any]:
    """Answers added and removed; TTL changes when both answers are authoritative.

    A recursive resolver's cache counts TTLs down between runs, so its TTLs differ every
    time; only an authoritative answer's TTL is the configured one.
    """
    if before.get("kind") != "query" or now.get("kind") != "query":
        return {}
    b, n = _answers(before), _answers(now)
    out: dict[str, Any] = {}
    added = sorted(f"{t} {v}" for t, v in n.keys() - b.keys())
    removed = sorted(f"{t} {v}" for t, v in b.keys() - n.keys())
    if added:
        out["added"] = added
    if removed:
        out["removed"] = removed
    if before.get("rcode") != now.get("rcode") and before.get("rcode") and now.get("rcode"):
        out["rcode"] = {"before": before["rcode"], "now": now["rcode"]}
    if before.get("authoritative") and now.get("authoritative"):
        ttl = {
            f"{t} {v}": {"before": b[(t, v)], "now": n[(t, v)]}
            for t, v in sorted(b.keys() & n.keys())
            if b[(t, v)] != n[(t, v)]
        }
        if ttl:
            out["ttl"] = ttl
    return out


def dns_text(domain: str, probe: str, change: dict[str, Any]) -> str:
    """One line for a digest: `example.com A@1.1.1.1: +A 192.0.2.9, -A 192.0.2.7, TTL ...`."""
    parts = [f"+{a}" for a in change.get("added", [])]
    parts += [f"-{r}" for r in change.get("removed", [])]
    if "rcode" in change:
        parts.append(f"rcode {change['rcode']['before']} -> {change['rcode']['now']}")
    for answer, ttl in change.get("ttl", {}).items():
        parts.append(f"TTL of {answer} {ttl['before']} -> {ttl['now']}")
    where = probe.removeprefix("dig:")
    return f"{domain} {where}: " + ", ".join(parts)
