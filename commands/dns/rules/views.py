"""DNS rules comparing views: resolvers with each other, with the zone, with a host."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from commands.dns import codes, explain
from commands.dns.rules.answers import by_type, owned
from ssh_probes.model import Facts, Finding


def resolver_views(facts: Facts) -> Iterator[Finding]:
    """dns.resolver_mismatch between resolvers, or between a resolver and the zone's servers."""
    name, queries, ns = facts["name"], facts["queries"], facts.get("ns")
    diffs = _between_resolvers(queries) + _against_zone(queries, ns)
    if not diffs:
        return
    severity, why, fix = explain.mismatch(name, diffs, ns)
    yield codes.DNS_RESOLVER_MISMATCH.finding(
        severity=severity,
        title=f"{name}: answers differ ({_shown(diffs)[:300]})",
        detail=why,
        evidence={"differences": diffs},
        suggestion=fix,
    )


def _between_resolvers(queries: Sequence[Facts]) -> list[dict[str, Any]]:
    diffs: list[dict[str, Any]] = []
    for rdtype in sorted({q["type"] for q in queries}):
        answered = by_type(queries, rdtype)
        views = {(q["rcode"], tuple(owned(q))) for q in answered}
        if len(answered) > 1 and len(views) > 1:
            diffs.append({"type": rdtype, "views": [_view(q) for q in answered]})
    return diffs


def _against_zone(queries: Sequence[Facts], ns: Facts | None) -> list[dict[str, Any]]:
    consensus = (ns or {}).get("consensus")
    # A CNAME's target may live in another zone: then the zone's servers hold only the CNAME.
    chained = any(v.startswith("CNAME ") for v in (consensus or {}).get("answers", []))
    if not (consensus and ns and ns.get("consistent")) or chained:
        return []
    auth_values = sorted(
        v.split(" ", 1)[1] for v in consensus["answers"] if v.split(" ", 1)[0] == ns["type"]
    )
    authority = {
        "rcode": consensus["rcode"],
        "values": auth_values,
        "ttl": consensus["ttl"],
        "servers": [s["address"] for s in ns["servers"]],
    }
    return [
        {"type": ns["type"], "views": [_view(q)], "authority": dict(authority)}
        for q in by_type(queries, ns["type"])
        if (q["rcode"], owned(q)) != (consensus["rcode"], auth_values)
    ]


def _shown(diffs: Sequence[dict[str, Any]]) -> str:
    parts = []
    for d in diffs:
        shown = [f"{v['resolver']} {' '.join(v['values']) or v['rcode']}" for v in d["views"]]
        if "authority" in d:
            a = d["authority"]
            shown.append(f"zone's servers {' '.join(a['values']) or a['rcode']}")
        parts.append(f"{d['type']}: " + " vs ".join(shown))
    return "; ".join(parts)


def _view(q: Facts) -> dict[str, Any]:
    ttls = [a["ttl"] for a in q["answers"] if a["type"] == q["type"]]
    providers = sorted({a["provider"]["name"] for a in q["answers"] if a.get("provider")})
    return {
        "resolver": q["resolver"],
        "rcode": q["rcode"],
        "values": owned(q),
        "ttl": min(ttls) if ttls else None,
        "authoritative": q["authoritative"],
        "providers": providers,
    }


def from_host(facts: Facts) -> Iterator[Finding]:
    """dns.resolver_mismatch when the host's view (getent, dig) differs from the bot's."""
    name, remote = facts["name"], facts.get("from")
    if not remote or remote.get("error"):
        return  # not asked, or the host was unreachable (reported as such)
    bot = remote["bot_addresses"]
    verdict = explain.from_host(name, remote, bot)
    if verdict is None:
        return
    severity, title, why, fix = verdict
    yield codes.DNS_RESOLVER_MISMATCH.finding(
        severity=severity,
        title=title,
        detail=why,
        evidence={
            "from": remote["host"],
            "host_getent": remote["getent"]["addresses"],
            "host_dig": remote["dig"].get("addresses"),
            "bot": list(bot),
        },
        suggestion=fix,
        host=remote["host"],
    )
