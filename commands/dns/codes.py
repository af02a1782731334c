"""The DNS finding codes, with their catalog entries (emitted by commands/dns/rules.py).

`dns.nxdomain` and `dns.servfail` are declared with the host's own resolve rule
(ssh_probes/rules/resolve.py), which emits them too; they are re-exported here.
"""

from __future__ import annotations

from ssh_probes.codes import Code
from ssh_probes.rules.resolve import DNS_NXDOMAIN as DNS_NXDOMAIN
from ssh_probes.rules.resolve import DNS_SERVFAIL as DNS_SERVFAIL

DNS_TIMEOUT = Code(
    "dns.timeout",
    "dns",
    "DNS query timed out",
    "The resolver did not answer in time.",
    "Try another resolver (`dig @1.1.1.1 NAME`); check the host's resolv.conf and firewall.",
)

DNS_NO_ANSWER = Code(
    "dns.no_answer",
    "dns",
    "No record of that type",
    "The name exists but has no record of the asked type.",
    "Add the record, or query the type the client really uses.",
)

DNS_CDN_PROXIED = Code(
    "dns.cdn_proxied",
    "dns",
    "Name is proxied by a CDN",
    "The addresses belong to a CDN or proxy (named): traffic goes through it, not straight to the "
    "origin.",
    "For a service on the same server, use the internal (Docker network) address or make the "
    "record DNS-only.",
)

DNS_MULTIPLE_A = Code(
    "dns.multiple_a",
    "dns",
    "Several addresses (round-robin)",
    "Clients spread over several addresses: intermittent failures can be one bad backend.",
    "Test each address (`curl --resolve NAME:443:IP`).",
)

DNS_IPV6_PRESENT = Code(
    "dns.ipv6_present",
    "dns",
    "Name has IPv6 addresses",
    "Clients try IPv6 and IPv4 (Happy Eyeballs); a broken IPv6 path shows as timeouts.",
    "Rule IPv6 out: for Node.js `NODE_OPTIONS=--dns-result-order=ipv4first`.",
)

DNS_RESOLVER_MISMATCH = Code(
    "dns.resolver_mismatch",
    "dns",
    "Resolvers disagree",
    "Two resolvers return different answers: propagation, split horizon or a stale cache.",
    "Compare TTLs; wait out the TTL or flush the stale cache.",
)

DNS_INCONSISTENT_NS = Code(
    "dns.inconsistent_ns",
    "dns",
    "Authoritative servers disagree",
    "The zone's name servers return different serials or answers.",
    "Fix zone transfers (NOTIFY/AXFR) or the out-of-date server.",
)

CODES = (
    DNS_NXDOMAIN,
    DNS_SERVFAIL,
    DNS_TIMEOUT,
    DNS_NO_ANSWER,
    DNS_CDN_PROXIED,
    DNS_MULTIPLE_A,
    DNS_IPV6_PRESENT,
    DNS_RESOLVER_MISMATCH,
    DNS_INCONSISTENT_NS,
)
BY_CODE = {c.code: c for c in CODES}
