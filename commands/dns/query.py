"""One DNS question to one server with dnspython's async API, as plain JSON-ready facts.

Foreign errors stop here: dnspython's Timeout and socket errors become `error` text on a
Reply ("timeout", "refused: ..."), never an exception, so a dead resolver is a result.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

Server = tuple[str, int]

MAX_CNAME_HOPS = 8


def show(server: Server) -> str:
    """'192.0.2.1:53' or '[2001:db8::1]:53'."""
    address, port = server
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@dataclass
class Reply:
    """What one server said (or that it said nothing): facts plus the raw message."""

    server: Server
    name: str
    rdtype: str
    rcode: str | None = None
    authoritative: bool = False
    answers: list[dict[str, Any]] = field(default_factory=list)
    time_ms: float | None = None
    error: str | None = None
    message: dns.message.Message | None = None

    @property
    def ok(self) -> bool:
        """True when the server answered at all (NXDOMAIN and SERVFAIL are answers)."""
        return self.error is None

    def values(self, rdtype: str | None = None) -> list[str]:
        """Sorted record values of `rdtype` (default: the asked type)."""
        want = rdtype or self.rdtype
        return sorted(a["value"] for a in self.answers if a["type"] == want)

    def ttl(self, rdtype: str | None = None) -> int | None:
        """The smallest TTL among records of `rdtype` (default: the asked type)."""
        want = rdtype or self.rdtype
        ttls = [a["ttl"] for a in self.answers if a["type"] == want]
        return min(ttls) if ttls else None

    def facts(self) -> dict[str, Any]:
        """JSON-ready facts (the raw message left out)."""
        return {
            "name": self.name,
            "type": self.rdtype,
            "resolver": show(self.server),
            "rcode": self.rcode,
            "authoritative": self.authoritative,
            "answers": self.answers,
            "time_ms": self.time_ms,
            "error": self.error,
        }


def records(rrsets: list[Any]) -> list[dict[str, Any]]:
    """RRsets -> [{"name", "type", "ttl", "value"}] in message order."""
    out = []
    for rrset in rrsets:
        for rdata in rrset:
            out.append(
                {
                    "name": rrset.name.to_text(omit_final_dot=True),
                    "type": dns.rdatatype.to_text(rrset.rdtype),
                    "ttl": rrset.ttl,
                    "value": rdata.to_text(),
                }
            )
    return out


def _failure(exc: BaseException, server: Server, wait_s: float) -> str:
    if isinstance(exc, dns.exception.Timeout):
        return f"timeout: no answer from {show(server)} within {wait_s:g}s"
    if isinstance(exc, ConnectionRefusedError):
        return f"refused: nothing answers DNS on {show(server)}"
    if isinstance(exc, OSError):
        return f"unreachable: {show(server)}: {exc.strerror or exc}"
    return f"bad response from {show(server)}: {exc}"


async def ask(
    server: Server, name: str, rdtype: str, *, wait_s: float, recursive: bool = True
) -> Reply:
    """Send one query (UDP, TCP when truncated); never raises for network trouble."""
    reply = Reply(server, name, rdtype)
    query = dns.message.make_query(name, rdtype)
    if not recursive:
        query.flags &= ~dns.flags.RD
    started = time.monotonic()
    try:
        response, _tcp = await dns.asyncquery.udp_with_fallback(
            query, server[0], timeout=wait_s, port=server[1]
        )
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        reply.error = _failure(exc, server, wait_s)
        reply.time_ms = round((time.monotonic() - started) * 1000, 2)
        return reply
    reply.message = response
    reply.rcode = dns.rcode.to_text(response.rcode())
    reply.authoritative = bool(response.flags & dns.flags.AA)
    reply.answers = records(response.answer)
    # dnspython measures from send to receive, as dig's "Query time" does.
    reply.time_ms = round(response.time * 1000, 2)
    return reply


def cname_chain(name: str, answers: list[dict[str, Any]]) -> list[str]:
    """[name, target, target's target, ...] following CNAME records in `answers`."""
    links = {
        a["name"].lower(): a["value"].rstrip(".").lower() for a in answers if a["type"] == "CNAME"
    }
    chain = [name]
    while chain[-1] in links and len(chain) <= MAX_CNAME_HOPS:
        chain.append(links[chain[-1]])
    return chain


async def resolve(server: Server, name: str, rdtype: str, *, wait_s: float) -> Reply:
    """`ask`, then follow a CNAME chain the server left unfinished (authoritative-only servers)."""
    reply = await ask(server, name, rdtype, wait_s=wait_s)
    for _ in range(MAX_CNAME_HOPS):
        if not reply.ok or reply.rcode != "NOERROR" or rdtype == "CNAME":
            break
        chain = cname_chain(name, reply.answers)
        last = chain[-1]
        if len(chain) == 1 or any(
            a["name"].lower() == last for a in reply.answers if a["type"] == rdtype
        ):
            break
        more = await ask(server, last, rdtype, wait_s=wait_s)
        if not more.ok:
            break
        reply.answers += [a for a in more.answers if a not in reply.answers]
        reply.rcode = more.rcode
        reply.time_ms = round((reply.time_ms or 0) + (more.time_ms or 0), 2)
    return reply


# Addresses only an internal network can reach: an answer full of them is an internal view.
INTERNAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


def is_internal(address: str) -> bool:
    """True for RFC 1918, CGNAT, loopback, ULA and link-local addresses."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in INTERNAL)
