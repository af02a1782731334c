"""dig's facts: each query's, the results a Report shows, and the bot's side of --from."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from commands.dns.query import Reply, cname_chain
from commands.dns.ranges import attribute, attribute_name
from ssh_probes.model import LOCAL_HOST, Facts, ProbeResult


def query_facts(reply: Reply, display: str, system: bool, ranges_dir: Path) -> Facts:
    """One query's facts, each address and CNAME attributed to its provider (CDN, cloud)."""
    facts = reply.facts()
    for answer in facts["answers"]:
        if answer["type"] in ("A", "AAAA"):
            answer["provider"] = attribute(answer["value"], ranges_dir)
        elif answer["type"] == "CNAME":
            answer["provider"] = attribute_name(answer["value"])
    chain = cname_chain(reply.name, reply.answers)
    facts.update(
        kind="query", display=display, system=system, cname_chain=chain if len(chain) > 1 else []
    )
    return facts


def _result(
    probe: str, host: str, facts: Facts, error: str | None, ms: float | None
) -> ProbeResult:
    return ProbeResult(
        probe,
        host,
        error is None,
        facts=facts,
        error=error or "",
        duration_ms=int(ms or 0),
        area="dns",
    )


def bot_addresses(queries: Sequence[Facts], first: str) -> list[str]:
    """The addresses the bot got from its first resolver, to compare with the --from host's."""
    return sorted(
        {
            a["value"]
            for q in queries
            if q["resolver"] == first
            for a in q["answers"]
            if a["type"] in ("A", "AAAA") and q["type"] == a["type"]
        }
    )


def results(facts: Facts) -> list[ProbeResult]:
    """One ProbeResult per query, and for the NS check, the trace and the --from host."""
    results = [
        _result(f"dig:{q['type']}@{q['resolver']}", LOCAL_HOST, q, q["error"], q["time_ms"])
        for q in facts["queries"]
    ]
    if (ns := facts["ns"]) is not None:
        results.append(_result("dig:ns-check", LOCAL_HOST, ns, ns.get("error"), None))
    if (traced := facts["trace"]) is not None:
        results.append(_result("dig:trace", LOCAL_HOST, traced, None, None))
    if (there := facts["from"]) is not None:
        host = there["host"]
        results.append(_result(f"dig:from {host}", host, there, there.get("error"), None))
    return results
