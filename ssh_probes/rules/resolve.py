"""Rules on the names a host resolves itself: a name its services need that it cannot resolve."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.rules.base import Rule, Thresholds

DNS_NXDOMAIN = Code(
    "dns.nxdomain",
    "dns",
    "Name does not exist",
    "The authoritative servers say the name does not exist (NXDOMAIN).",
    "Check the spelling and the zone's records; a recent change may still be cached.",
)

DNS_SERVFAIL = Code(
    "dns.servfail",
    "dns",
    "Resolver failure",
    "SERVFAIL: the resolver could not get an answer (broken delegation, DNSSEC, dead NS).",
    "`dig +trace NAME` to see where resolution breaks.",
)

CODES = (DNS_NXDOMAIN, DNS_SERVFAIL)


def _resolve(
    facts: Facts, host: HostTarget, _t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    for entry in facts["names"]:
        if entry["status"] == "ok":
            continue
        name = entry["name"]
        code = DNS_NXDOMAIN if entry["status"] == "not_found" else DNS_SERVFAIL
        yield code.finding(
            severity="critical",
            title=f"{host.name} cannot resolve {name} (getent ahosts: {entry['status']})",
            detail="The host's own resolver (its resolv.conf, /etc/hosts, search domains) "
            "gives no address for a name this host is registered to need.",
            evidence={"name": name, "from": host.name, "status": entry["status"]},
            suggestion=(
                f"On {host.name}: `cat /etc/resolv.conf`, `getent ahosts {name}`, "
                f"`dig {name}` against the nameserver listed there; compare with the bot's "
                f"view (`triagebot dig {name} --from {host.name}`). A name only /etc/hosts "
                "knows elsewhere, or a missing search domain, is the usual cause."
            ),
            host=host.name,
        )


RULES: dict[str, Rule] = {"resolve": _resolve}
