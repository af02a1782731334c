"""The authoritative check: ask every name server of the zone directly for its SOA serial
and for the name, and say whether they agree (`dns.inconsistent_ns`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.nameserver

from commands.dns.query import Reply, Server, ask, show


def stub(resolvers: Sequence[Server], wait_s: float) -> dns.asyncresolver.Resolver:
    """A dnspython resolver that asks only `resolvers` (no resolv.conf, no cache)."""
    res = dns.asyncresolver.Resolver(configure=False)
    res.nameservers = [dns.nameserver.Do53Nameserver(a, p) for a, p in resolvers]
    res.timeout = wait_s
    res.lifetime = wait_s * 2
    return res


async def _addresses(res: dns.asyncresolver.Resolver, ns: str) -> list[str]:
    # IPv4 first: a bot on an IPv4-only network would otherwise blame the NS for our route.
    for rdtype in ("A", "AAAA"):
        try:
            answer = await res.resolve(ns, rdtype)
        except dns.exception.DNSException:
            continue
        return sorted(r.to_text() for r in answer)
    return []


def _server_facts(ns: str, soa: Reply, ans: Reply) -> dict[str, Any]:
    serial = None
    for record in soa.answers:
        if record["type"] == "SOA":
            serial = int(record["value"].split()[2])
    return {
        "ns": ns,
        "address": show(ans.server),
        "serial": serial,
        "rcode": ans.rcode,
        "authoritative": ans.authoritative and soa.authoritative,
        "answers": sorted(f"{a['type']} {a['value']}" for a in ans.answers),
        "ttl": ans.ttl(),
        "time_ms": ans.time_ms,
        "error": ans.error or soa.error,
    }


def judge(servers: list[dict[str, Any]]) -> tuple[list[str], dict[str, Any] | None]:
    """(problems, consensus): what the servers disagree on, and their common answer if any."""
    problems = []
    for s in servers:
        if s["error"]:
            problems.append(f"{s['ns']} ({s['address']}) did not answer: {s['error']}")
        elif not s["authoritative"]:
            problems.append(f"{s['ns']} ({s['address']}) is not authoritative (lame delegation)")
    answering = [s for s in servers if not s["error"] and s["authoritative"]]
    serials = sorted({s["serial"] for s in answering if s["serial"] is not None})
    if len(serials) > 1:
        problems.append(
            "serials differ: " + ", ".join(f"{s['ns']} {s['serial']}" for s in answering)
        )
    views = {(s["rcode"], tuple(s["answers"])) for s in answering}
    if len(views) > 1:
        problems.append(
            "answers differ: "
            + "; ".join(
                f"{s['ns']} {s['rcode']} {', '.join(s['answers']) or '-'}" for s in answering
            )
        )
    consensus = None
    if len(views) == 1:
        rcode, answers = views.pop()
        ttls = [s["ttl"] for s in answering if s["ttl"] is not None]
        consensus = {"rcode": rcode, "answers": list(answers), "ttl": min(ttls) if ttls else None}
    return problems, consensus


async def check(
    name: str,
    rdtype: str,
    resolvers: Sequence[Server],
    *,
    wait_s: float,
    dns_port: int = 53,
    refusal: Callable[[str], str] = lambda address: "",
) -> dict[str, Any]:
    """Facts of the check; `error` says why it could not run (no zone, no NS addresses).

    A name server whose address `refusal` objects to (the target rules) is not asked.
    """
    facts: dict[str, Any] = {"kind": "ns_check", "name": name, "type": rdtype, "zone": None}
    res = stub(resolvers, wait_s)
    try:
        zone = await dns.asyncresolver.zone_for_name(name, resolver=res, lifetime=wait_s * 3)
        facts["zone"] = zone.to_text(omit_final_dot=True) or "."
        ns_answer = await res.resolve(zone, "NS")
    except dns.exception.DNSException as exc:
        facts["error"] = f"could not find the zone's name servers: {exc}"
        return facts
    ns_names = sorted(r.to_text().rstrip(".") or "." for r in ns_answer)
    found = await asyncio.gather(*(_addresses(res, ns) for ns in ns_names))
    targets = [
        (ns, (addr, dns_port)) for ns, addrs in zip(ns_names, found, strict=True) for addr in addrs
    ]
    facts["unresolved_ns"] = [ns for ns, addrs in zip(ns_names, found, strict=True) if not addrs]
    refused = {f"{ns} {srv[0]}": refusal(srv[0]) for ns, srv in targets}
    facts["refused_ns"] = {k: why for k, why in refused.items() if why}
    targets = [(ns, srv) for ns, srv in targets if not refused[f"{ns} {srv[0]}"]]
    if not targets and refused:
        facts["error"] = "every name server address is refused by the target rules"
        return facts
    if not targets:
        facts["error"] = "could not resolve the addresses of " + ", ".join(ns_names)
        return facts

    async def one(ns: str, server: Server) -> dict[str, Any]:
        soa, ans = await asyncio.gather(
            ask(server, facts["zone"], "SOA", wait_s=wait_s, recursive=False),
            ask(server, name, rdtype, wait_s=wait_s, recursive=False),
        )
        return _server_facts(ns, soa, ans)

    facts["servers"] = list(await asyncio.gather(*(one(ns, srv) for ns, srv in targets)))
    problems, consensus = judge(facts["servers"])
    facts.update(problems=problems, consensus=consensus, consistent=not problems, error=None)
    return facts
