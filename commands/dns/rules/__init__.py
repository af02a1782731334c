"""Pure rules: dig's facts -> Findings with evidence and the fix, one registry like the host's.

Every rule has the host rules' shape, facts -> findings, over one mapping of dig's facts:
  name      the queried name (ASCII)
  explicit  whether the user named the record types (then every empty type is reported)
  queries   one dict per (type, resolver) query (`Reply.facts()` plus providers)
  ns        the authoritative check (`authority.check`), or None when it did not run
  trace     the --trace walk, or None
  from      the --from host's view (getent, dig, `bot_addresses`), or None
A rule whose facts are absent yields nothing; `evaluate` runs every rule in RULES.

Severities (a healthy name gets no warning or critical):
  critical  dns.nxdomain (every resolver says so), dns.servfail, dns.timeout (a resolver gave
            no answer at all), a --trace that breaks
  warning   dns.timeout (some queries only), dns.nxdomain (some resolvers only),
            dns.no_answer, dns.resolver_mismatch, dns.inconsistent_ns
  info      dns.cdn_proxied, dns.multiple_a, dns.ipv6_present, and dns.resolver_mismatch
            when every differing answer belongs to the same CDN (edge selection, expected)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from commands.dns.rules import answers, servers, views
from ssh_probes.model import Facts, Finding

Rule = Callable[[Facts], Iterator[Finding]]

RULES: dict[str, Rule] = {
    "failures": answers.failures,
    "records": answers.records,
    "resolver_views": views.resolver_views,
    "authority": servers.authority,
    "traced": servers.traced,
    "from_host": views.from_host,
}


def evaluate(facts: Facts) -> list[Finding]:
    """Every finding dig's facts support, rule by rule in RULES order."""
    return [finding for rule in RULES.values() for finding in rule(facts)]
