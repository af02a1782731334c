"""`--trace`: iterative resolution from the root servers, one delegation step at a time,
stopping where it breaks (no server answers, SERVFAIL/REFUSED, a lame or upward referral)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dns.exception
import dns.name
import dns.rdatatype

from commands.dns.authority import stub
from commands.dns.query import Reply, Server, ask, show

MAX_STEPS = 12
MAX_TRIES = 3  # servers asked per zone before calling it broken


def _referral(reply: Reply, zone: str) -> tuple[str, list[str], dict[str, list[str]]] | None:
    """(child zone, NS names, glue by name) when `reply` delegates below `zone`."""
    assert reply.message is not None
    current = dns.name.from_text(zone)
    qname = dns.name.from_text(reply.name)
    for rrset in reply.message.authority:
        if rrset.rdtype != dns.rdatatype.NS:
            continue
        child = rrset.name
        if child == current or not child.is_subdomain(current) or not qname.is_subdomain(child):
            return None  # upward or sideways: a lame server
        names = sorted(r.target.to_text() for r in rrset)
        glue: dict[str, list[str]] = {}
        for extra in reply.message.additional:
            owner = extra.name.to_text()
            if owner in names and extra.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                glue.setdefault(owner, []).extend(r.to_text() for r in extra)
        return child.to_text(), names, glue
    return None


async def _addresses(
    names: list[str], glue: dict[str, list[str]], helpers: Sequence[Server], wait_s: float
) -> list[tuple[str, str]]:
    found = [(n, a) for n in names for a in sorted(glue.get(n, []), key=lambda x: ":" in x)]
    if found or not helpers:
        return found
    # No glue (out-of-zone name servers): look their addresses up through the resolvers.
    res = stub(helpers, wait_s)
    for n in names:
        try:
            found += [(n, r.to_text()) for r in await res.resolve(n, "A")]
        except dns.exception.DNSException:
            continue
    return found


def _short(name: str) -> str:
    return name.rstrip(".") or "."


async def trace(
    name: str,
    rdtype: str,
    roots: Sequence[Server],
    *,
    wait_s: float,
    dns_port: int = 53,
    helpers: Sequence[Server] = (),
    refusal: Callable[[str], str] = lambda address: "",
) -> dict[str, Any]:
    """Facts: every step (zone, servers, who answered, referral) and `broke_at` if it broke.

    A referral to an address `refusal` objects to (the target rules) is not followed.
    """
    zone = "."
    servers: list[tuple[str, Server]] = [(show(r), r) for r in roots]
    steps: list[dict[str, Any]] = []
    facts: dict[str, Any] = {"kind": "trace", "name": name, "type": rdtype, "steps": steps}
    for _ in range(MAX_STEPS):
        step: dict[str, Any] = {
            "zone": _short(zone),
            "servers": [
                f"{label} {show(s)}" if label != show(s) else label for label, s in servers
            ],
        }
        steps.append(step)
        reply, errors, timeouts = None, [], 0
        for label, server in servers[:MAX_TRIES]:
            got = await ask(server, name, rdtype, wait_s=wait_s, recursive=False)
            if got.ok and got.rcode in ("NOERROR", "NXDOMAIN"):
                reply = got
                break
            timeouts += not got.ok
            errors.append(f"{_short(label)} ({show(server)}): {got.error or got.rcode}")
        step["errors"] = errors
        if reply is None:
            code = "dns.timeout" if timeouts == len(errors) else "dns.servfail"
            facts["broke_at"] = {"zone": _short(zone), "reason": "; ".join(errors), "code": code}
            break
        step.update(asked=show(reply.server), rcode=reply.rcode, time_ms=reply.time_ms)
        if reply.answers or reply.rcode == "NXDOMAIN" or reply.authoritative:
            step["answers"] = reply.answers
            facts["result"] = (
                "nxdomain" if reply.rcode == "NXDOMAIN" else "answer" if reply.answers else "nodata"
            )
            break
        referral = _referral(reply, zone)
        if referral is None:
            reason = (
                f"{show(reply.server)} gave neither the answer nor a referral below "
                f"{_short(zone)} (lame)"
            )
            facts["broke_at"] = {"zone": _short(zone), "reason": reason, "code": "dns.servfail"}
            break
        child, names, glue = referral
        step["referral"] = {
            "zone": _short(child),
            "ns": [_short(n) for n in names],
            "glue": {_short(k): v for k, v in glue.items()},
        }
        addresses = await _addresses(names, glue, helpers, wait_s)
        refused = {a: refusal(a) for _, a in addresses}
        if any(refused.values()):
            step["refused"] = sorted({why for why in refused.values() if why})
            addresses = [(n, a) for n, a in addresses if not refused[a]]
        if not addresses:
            reason = f"no address for the name servers of {_short(child)}: {', '.join(names)}"
            facts["broke_at"] = {"zone": _short(child), "reason": reason, "code": "dns.servfail"}
            break
        zone = child
        servers = [(_short(n), (a, dns_port)) for n, a in addresses]
    else:
        facts["broke_at"] = {
            "zone": _short(zone),
            "reason": "too many referrals",
            "code": "dns.servfail",
        }
    facts.setdefault("broke_at", None)
    facts.setdefault("result", "broken" if facts["broke_at"] else None)
    return facts
