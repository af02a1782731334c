"""Addresses a dig or http report saw, to offer "Triage host" for the registered ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from commands.report import Report


def seen_addresses(report: Report) -> set[str]:
    """Every A/AAAA answer of a dig report and every address an http check connected to."""
    return seen_in(result.facts for result in report.results)


def seen_in(all_facts: Iterable[Mapping[str, Any]]) -> set[str]:
    """The same, from results' facts (a stored run's, for its Triage buttons)."""
    found: set[str] = set()
    for facts in all_facts:
        for answer in facts.get("answers", []) or []:
            if isinstance(answer, dict) and answer.get("type") in ("A", "AAAA"):
                found.add(str(answer.get("value")))
        for hop in facts.get("hops", []) or []:
            if isinstance(hop, dict) and hop.get("ip"):
                found.add(str(hop["ip"]))
        if facts.get("ip"):
            found.add(str(facts["ip"]))
    return found


def hosts_behind(report: Report, registry: Iterable[tuple[str, str]]) -> list[str]:
    """Registered host names whose address the report saw (dig and http reports only)."""
    if report.command not in ("dig", "http"):
        return []
    seen = seen_addresses(report)
    return sorted({name for name, address in registry if address in seen})


def triage_buttons(names: Sequence[str], run_id: int, limit: int = 3) -> list[dict[str, object]]:
    """One "Triage NAME" button per host (a few at most: a summary is not a host list)."""
    return [
        {
            "type": "button",
            "action_id": f"triage_host:{name}",
            "text": {"type": "plain_text", "text": f"Triage {name}"[:75]},
            "value": str(run_id),  # the bot checks NAME against what that run saw
        }
        for name in names[:limit]
    ]
