"""Pure rules: dig's facts -> Findings with evidence and the fix.

Severities (a healthy name gets no warning or critical):
  critical  dns.nxdomain (every resolver says so), dns.servfail, dns.timeout (a resolver gave
            no answer at all), a --trace that breaks
  warning   dns.timeout (some queries only), dns.nxdomain (some resolvers only),
            dns.no_answer, dns.resolver_mismatch, dns.inconsistent_ns
  info      dns.cdn_proxied, dns.multiple_a, dns.ipv6_present, and dns.resolver_mismatch
            when every differing answer belongs to the same CDN (edge selection, expected)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from commands.dns import codes
from commands.dns.explain import from_host, mismatch
from ssh_probes.model import Facts, Finding

ADDRESS_TYPES = ("A", "AAAA")


def _owned(q: Facts, rdtype: str | None = None) -> list[str]:
    """Sorted values of the asked type (or `rdtype`) anywhere in the answer (CNAME followed)."""
    want = rdtype or q["type"]
    return sorted({a["value"] for a in q["answers"] if a["type"] == want})


def _by_type(queries: Sequence[Facts], rdtype: str) -> list[Facts]:
    return [q for q in queries if q["type"] == rdtype and not q["error"]]


def failures(name: str, queries: Sequence[Facts]) -> Iterator[Finding]:
    """dns.timeout per resolver, dns.servfail and dns.nxdomain across resolvers."""
    resolvers = sorted({q["resolver"] for q in queries})
    for res in resolvers:
        mine = [q for q in queries if q["resolver"] == res]
        failed = [q for q in mine if q["error"]]
        if failed:
            addr, _, port = res.rpartition(":")
            all_failed = len(failed) == len(mine)
            yield codes.DNS_TIMEOUT.finding(
                severity="critical" if all_failed else "warning",
                title=f"{res} did not answer {len(failed)} of {len(mine)} queries for {name}"
                + (" (" + ", ".join(q["type"] for q in failed) + ")" if not all_failed else ""),
                detail=failed[0]["error"],
                evidence={
                    "resolver": res,
                    "types": [q["type"] for q in failed],
                    "error": failed[0]["error"],
                },
                suggestion=f"Check that {res} is up and reachable over UDP and TCP "
                f"(`dig @{addr.strip('[]')} -p {port} {name}`); try another resolver "
                "(`@1.1.1.1`); on the host, check /etc/resolv.conf and the firewall.",
            )
    bad = [q for q in queries if q["rcode"] in ("SERVFAIL", "REFUSED")]
    if bad:
        where = sorted({f"{q['resolver']} {q['rcode']}" for q in bad})
        yield codes.DNS_SERVFAIL.finding(
            severity="critical",
            title=f"{name}: {', '.join(where)}",
            detail="The resolver could not get an answer (SERVFAIL) or would not ask (REFUSED).",
            evidence={"resolvers": where, "types": sorted({q["type"] for q in bad})},
            suggestion=f"`triagebot dig {name} --trace` shows the zone where resolution breaks: "
            "a dead or lame name server, a zone that failed to load, or DNSSEC (if `dig +cd "
            f"{name}` answers, validation fails). REFUSED: that server does not recurse for you.",
        )
    answered = [q for q in queries if not q["error"]]
    nx = sorted({q["resolver"] for q in answered if q["rcode"] == "NXDOMAIN"})
    if nx:
        everywhere = all(q["rcode"] == "NXDOMAIN" for q in answered)
        yield codes.DNS_NXDOMAIN.finding(
            severity="critical" if everywhere else "warning",
            title=f"{name} does not exist (NXDOMAIN from {', '.join(nx)})",
            evidence={"resolvers": nx, "everywhere": everywhere},
            suggestion=f"Check the spelling and that the record exists in its zone (`dig NS "
            f"{name.partition('.')[2] or name}`); a record created minutes ago may be hidden by "
            "negative caching for up to the zone's SOA minimum TTL.",
        )


def records(name: str, queries: Sequence[Facts], explicit: bool) -> Iterator[Finding]:
    """dns.no_answer, dns.multiple_a, dns.ipv6_present, dns.cdn_proxied."""
    ok = [q for q in queries if not q["error"] and q["rcode"] == "NOERROR"]
    by_res: dict[str, list[Facts]] = {}
    for q in ok:
        by_res.setdefault(q["resolver"], []).append(q)
    empty = []
    for res, mine in sorted(by_res.items()):
        asked = {q["type"] for q in mine}
        if asked & set(ADDRESS_TYPES) and not any(
            _owned(q, t) for q in mine for t in ADDRESS_TYPES
        ):
            empty.append((res, "A/AAAA"))
        if explicit:
            empty += [
                (res, q["type"]) for q in mine if q["type"] not in ADDRESS_TYPES and not _owned(q)
            ]
    if empty:
        types = sorted({t for _, t in empty})
        yield codes.DNS_NO_ANSWER.finding(
            severity="warning",
            title=f"{name} exists but has no {' or '.join(types)} record",
            evidence={"missing": [f"{r} {t}" for r, t in empty]},
            suggestion=f"Add the record, or ask for the type the client really uses "
            f"(`triagebot dig {name} A AAAA CNAME`).",
        )
    # Per resolver: two resolvers that disagree are a mismatch, not a round-robin pool.
    v4 = max((_owned(q) for q in _by_type(queries, "A")), key=len, default=[])
    v6 = sorted({v for q in _by_type(queries, "AAAA") for v in _owned(q)})
    if len(v4) > 1:
        yield codes.DNS_MULTIPLE_A.finding(
            severity="info",
            title=f"{name} has {len(v4)} A records (round-robin): {', '.join(v4[:8])}",
            evidence={"addresses": v4},
            suggestion="Clients spread over these; an intermittent failure can be one bad "
            "backend. Test each: "
            + "; ".join(f"`curl -sv --resolve {name}:443:{ip} https://{name}/`" for ip in v4[:3]),
        )
    if v6:
        yield codes.DNS_IPV6_PRESENT.finding(
            severity="info",
            title=f"{name} has IPv6 addresses: {', '.join(v6[:4])}",
            evidence={"addresses": v6, "ipv4": v4},
            suggestion="Clients try IPv6 and IPv4 (Happy Eyeballs); a broken IPv6 path shows up as "
            f"timeouts. Test `curl -6 -sv https://{name}/`; to rule IPv6 out for Node.js, run with "
            "`NODE_OPTIONS=--dns-result-order=ipv4first`.",
        )
    yield from _cdn(name, ok)


def _cdn(name: str, ok: Sequence[Facts]) -> Iterator[Finding]:
    seen: dict[str, dict[str, Any]] = {}
    for q in ok:
        for a in q["answers"]:
            p = a.get("provider")
            if p and p["kind"] == "cdn":
                entry = seen.setdefault(
                    p["name"], {"addresses": set(), "ranges": set(), "cnames": set()}
                )
                if a["type"] in ADDRESS_TYPES:
                    entry["addresses"].add(a["value"])
                    entry["ranges"].add(p.get("range", ""))
                else:
                    entry["cnames"].add(a["value"].rstrip("."))
    for provider, e in sorted(seen.items()):
        shown = sorted(e["addresses"]) or sorted(e["cnames"])
        yield codes.DNS_CDN_PROXIED.finding(
            severity="info",
            title=f"{name} is proxied by {provider} ({', '.join(shown[:4])})",
            detail=f"Requests to {name} go to {provider}'s edge, not to the origin server.",
            evidence={
                "provider": provider,
                "addresses": sorted(e["addresses"]),
                "ranges": sorted(r for r in e["ranges"] if r),
                "cnames": sorted(e["cnames"]),
            },
            suggestion=f"For a service on the same server (e.g. a container calling {name}), "
            "use the internal address on a shared Docker network (e.g. `http://service:PORT`) "
            f"or make the record DNS-only: otherwise the request goes out through {provider} and "
            f"back. Compare with the origin: `curl -sv --resolve {name}:443:ORIGIN_IP https://{name}/`.",
        )


def resolver_views(name: str, queries: Sequence[Facts], ns: Facts | None) -> Iterator[Finding]:
    """dns.resolver_mismatch between resolvers, or between a resolver and the zone's servers."""
    diffs: list[dict[str, Any]] = []
    for rdtype in sorted({q["type"] for q in queries}):
        answered = _by_type(queries, rdtype)
        views = {(q["rcode"], tuple(_owned(q))) for q in answered}
        if len(answered) > 1 and len(views) > 1:
            diffs.append({"type": rdtype, "views": [_view(q) for q in answered]})
    consensus = (ns or {}).get("consensus")
    # A CNAME's target may live in another zone: then the zone's servers hold only the CNAME.
    chained = any(v.startswith("CNAME ") for v in (consensus or {}).get("answers", []))
    if consensus and ns and ns.get("consistent") and not chained:
        auth_values = sorted(
            v.split(" ", 1)[1] for v in consensus["answers"] if v.split(" ", 1)[0] == ns["type"]
        )
        for q in _by_type(queries, ns["type"]):
            if (q["rcode"], _owned(q)) != (consensus["rcode"], auth_values):
                diffs.append(
                    {
                        "type": ns["type"],
                        "views": [_view(q)],
                        "authority": {
                            "rcode": consensus["rcode"],
                            "values": auth_values,
                            "ttl": consensus["ttl"],
                            "servers": [s["address"] for s in ns["servers"]],
                        },
                    }
                )
    if not diffs:
        return
    severity, why, fix = mismatch(name, diffs, ns)
    parts = []
    for d in diffs:
        shown = [f"{v['resolver']} {' '.join(v['values']) or v['rcode']}" for v in d["views"]]
        if "authority" in d:
            a = d["authority"]
            shown.append(f"zone's servers {' '.join(a['values']) or a['rcode']}")
        parts.append(f"{d['type']}: " + " vs ".join(shown))
    yield codes.DNS_RESOLVER_MISMATCH.finding(
        severity=severity,
        title=f"{name}: answers differ ({'; '.join(parts)[:300]})",
        detail=why,
        evidence={"differences": diffs},
        suggestion=fix,
    )


def _view(q: Facts) -> dict[str, Any]:
    ttls = [a["ttl"] for a in q["answers"] if a["type"] == q["type"]]
    providers = sorted({a["provider"]["name"] for a in q["answers"] if a.get("provider")})
    return {
        "resolver": q["resolver"],
        "rcode": q["rcode"],
        "values": _owned(q),
        "ttl": min(ttls) if ttls else None,
        "authoritative": q["authoritative"],
        "providers": providers,
    }


def authority(name: str, ns: Facts) -> Iterator[Finding]:
    """dns.inconsistent_ns from the authoritative check."""
    if ns.get("error") or not ns.get("problems"):
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


def traced(name: str, trace: Facts) -> Iterator[Finding]:
    """The finding for a --trace that broke, naming the zone and its servers."""
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


def from_finding(name: str, remote: Facts, bot: Sequence[str]) -> Iterator[Finding]:
    """dns.resolver_mismatch when the host's view (getent, dig) differs from the bot's."""
    verdict = from_host(name, remote, bot)
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
