"""DNS rules on the zone's servers: the authoritative check and a broken --trace."""

from __future__ import annotations

from collections.abc import Iterator

from commands.dns import codes
from ssh_probes.model import Facts, Finding


def authority(facts: Facts) -> Iterator[Finding]:
    """dns.inconsistent_ns from the authoritative check (`ns`, when it ran)."""
    ns = facts.get("ns")
    if not ns or ns.get("error") or not ns.get("problems"):
        return
    zone = ns["zone"]
    yield codes.DNS_INCONSISTENT_NS.finding(
        severity="warning",
        title=f"name servers of {zone} disagree: {ns['problems'][0][:200]}",
        detail="; ".join(ns["problems"]),
        evidence={"zone": zone, "problems": ns["problems"], "servers": ns["servers"]},
        suggestion=f"Compare them: `dig @SERVER {zone} SOA +norec` for each of "
        f"{', '.join(sorted({s['address'] for s in ns['servers']}))}. Bring the out-of-date "
        "server in line: check NOTIFY and zone transfers (AXFR/IXFR) from the primary and bump "
        "the serial there; a lame server needs the zone configured or the delegation fixed at "
        "the parent.",
    )


def traced(facts: Facts) -> Iterator[Finding]:
    """The finding for a --trace that broke, naming the zone and its servers."""
    name, trace = facts["name"], facts.get("trace") or {}
    broke = trace.get("broke_at")
    if not broke:
        return
    yield codes.BY_CODE.get(broke["code"], codes.DNS_SERVFAIL).finding(
        severity="critical",
        title=f"resolution of {name} breaks at zone {broke['zone']}: {broke['reason'][:200]}",
        detail=broke["reason"],
        evidence={"zone": broke["zone"], "steps": len(trace["steps"])},
        suggestion=f"Fix the name servers of {broke['zone']} (they must answer authoritatively "
        "for it) or the delegation to them in the parent zone; `dig +trace "
        f"{name}` from another network confirms.",
    )
