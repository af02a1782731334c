"""DNS rules on the answers: failures (timeout, servfail, nxdomain) and records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from commands.dns import codes
from ssh_probes.model import Facts, Finding

ADDRESS_TYPES = ("A", "AAAA")


def owned(q: Facts, rdtype: str | None = None) -> list[str]:
    """Sorted values of the asked type (or `rdtype`) anywhere in the answer (CNAME followed)."""
    want = rdtype or q["type"]
    return sorted({a["value"] for a in q["answers"] if a["type"] == want})


def by_type(queries: Sequence[Facts], rdtype: str) -> list[Facts]:
    """The queries of `rdtype` that got an answer (no transport error)."""
    return [q for q in queries if q["type"] == rdtype and not q["error"]]


def failures(facts: Facts) -> Iterator[Finding]:
    """dns.timeout per resolver, dns.servfail and dns.nxdomain across resolvers."""
    name, queries = facts["name"], facts["queries"]
    yield from _timeouts(name, queries)
    yield from _refused(name, queries)
    yield from _nxdomain(name, queries)


def _timeouts(name: str, queries: Sequence[Facts]) -> Iterator[Finding]:
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


def _refused(name: str, queries: Sequence[Facts]) -> Iterator[Finding]:
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


def _nxdomain(name: str, queries: Sequence[Facts]) -> Iterator[Finding]:
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


def records(facts: Facts) -> Iterator[Finding]:
    """dns.no_answer, dns.multiple_a, dns.ipv6_present, dns.cdn_proxied."""
    name, queries, explicit = facts["name"], facts["queries"], facts.get("explicit", False)
    ok = [q for q in queries if not q["error"] and q["rcode"] == "NOERROR"]
    yield from _no_answer(name, ok, explicit)
    yield from _addresses(name, queries)
    yield from _cdn(name, ok)


def _no_answer(name: str, ok: Sequence[Facts], explicit: bool) -> Iterator[Finding]:
    by_res: dict[str, list[Facts]] = {}
    for q in ok:
        by_res.setdefault(q["resolver"], []).append(q)
    empty = []
    for res, mine in sorted(by_res.items()):
        asked = {q["type"] for q in mine}
        if asked & set(ADDRESS_TYPES) and not any(owned(q, t) for q in mine for t in ADDRESS_TYPES):
            empty.append((res, "A/AAAA"))
        if explicit:
            empty += [
                (res, q["type"]) for q in mine if q["type"] not in ADDRESS_TYPES and not owned(q)
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


def _addresses(name: str, queries: Sequence[Facts]) -> Iterator[Finding]:
    # Per resolver: two resolvers that disagree are a mismatch, not a round-robin pool.
    v4 = max((owned(q) for q in by_type(queries, "A")), key=len, default=[])
    v6 = sorted({v for q in by_type(queries, "AAAA") for v in owned(q)})
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
