"""Each DNS rule on dig's facts recorded from real runs (tests/fixtures/rules/dns-*.json).

The facts are what dig.run gathered against real BIND on loopback (and the --from lab); a
few cases change one recorded fact (a second resolver, one failed query) to reach the other
branch of a rule, and say which.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from commands.dns.rules import RULES, evaluate
from ssh_probes.model import Finding

RULES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "rules"


def facts(case: str) -> dict[str, Any]:
    """The recorded facts of `dns-<case>.json` (a fresh copy each time)."""
    data: dict[str, Any] = json.loads((RULES_DIR / f"dns-{case}.json").read_text())
    return copy.deepcopy(data["facts"])


def run(rule: str, given: dict[str, Any]) -> list[Finding]:
    return list(RULES[rule](given))


def one(found: list[Finding], code: str) -> Finding:
    assert [f.code for f in found] == [code], [(f.code, f.title) for f in found]
    return found[0]


def test_nxdomain_everywhere_is_critical_and_names_the_parent_zone() -> None:
    f = one(run("failures", facts("failures--test-nxdomain")), "dns.nxdomain")
    assert f.severity == "critical" and f.evidence["everywhere"] is True
    assert f.title.startswith("nope.example.test does not exist (NXDOMAIN from 127.212.126.6:")
    assert "`dig NS example.test`" in f.suggestion


def test_nxdomain_from_one_resolver_only_is_a_warning() -> None:
    given = facts("failures--test-nxdomain")
    # A second resolver that knows the name: the same recorded query, another resolver, NOERROR.
    other = {**given["queries"][0], "resolver": "127.0.0.99:53", "rcode": "NOERROR"}
    given["queries"].append(other)
    f = one(run("failures", given), "dns.nxdomain")
    assert f.severity == "warning" and f.evidence["everywhere"] is False
    assert f.evidence["resolvers"] == [given["queries"][0]["resolver"]]


def test_servfail_names_resolver_and_rcode() -> None:
    given = facts("failures--test-servfail-from-a-zone-that-failed-to-load")
    f = one(run("failures", given), "dns.servfail")
    assert f.severity == "critical"
    assert f.title == "www.broken.test: 127.212.126.6:41433 SERVFAIL"
    assert "`triagebot dig www.broken.test --trace`" in f.suggestion


def test_timeout_of_every_query_is_critical_with_the_dig_command() -> None:
    f = one(run("failures", facts("failures--test-timeout-from-a-silent-server")), "dns.timeout")
    assert f.severity == "critical"
    assert f.title == "127.212.126.7:41433 did not answer 1 of 1 queries for www.example.test"
    assert "`dig @127.212.126.7 -p 41433 www.example.test`" in f.suggestion
    assert "within 0.3s" in f.detail


def test_timeout_of_some_queries_is_a_warning_listing_them() -> None:
    given = facts("failures--test-healthy-name-has-no-warning")
    failed = next(q for q in given["queries"] if q["type"] == "MX")
    failed["error"] = "timeout: no answer within 0.3s"
    f = one(run("failures", given), "dns.timeout")
    assert f.severity == "warning" and f.title.endswith(" queries for www.example.test (MX)")
    assert f.evidence["types"] == ["MX"]


def test_no_answer_when_the_name_has_no_address() -> None:
    f = one(run("records", facts("records--test-no-address-record")), "dns.no_answer")
    assert f.severity == "warning"
    assert f.title == "mailonly.example.test exists but has no A/AAAA record"


@pytest.mark.parametrize(
    ("case", "provider"),
    [
        ("records--test-cloudflare-address-is-cdn-proxied", "Cloudflare"),
        ("failures--test-cloudfront-address-is-cdn-proxied", "AWS CloudFront"),
    ],
)
def test_cdn_proxied_names_the_provider(case: str, provider: str) -> None:
    given = {**facts(case), "explicit": False}
    f = one(run("records", given), "dns.cdn_proxied")
    assert f.severity == "info" and f.evidence["provider"] == provider
    assert f" is proxied by {provider} (" in f.title
    assert f"goes out through {provider} and back" in f.suggestion


def test_multiple_a_lists_every_address_and_a_curl_per_backend() -> None:
    f = one(run("records", facts("records--test-several-a-records")), "dns.multiple_a")
    assert f.evidence["addresses"] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert "--resolve rr.example.test:443:192.0.2.3" in f.suggestion


def test_ipv6_present_with_the_ipv4_beside_it() -> None:
    f = one(run("records", facts("records--test-ipv6-present")), "dns.ipv6_present")
    assert f.evidence == {"addresses": ["2001:db8::20"], "ipv4": ["192.0.2.20"]}
    assert "curl -6 -sv https://v6.example.test/" in f.suggestion


def test_resolver_mismatch_between_two_servers() -> None:
    given = facts("resolver_views--test-disagreeing-servers")
    f = one(run("resolver_views", given), "dns.resolver_mismatch")
    assert f.severity == "warning"
    assert "192.0.2.1 vs 127.212.126.5:41433 192.0.2.2" in f.title


def test_resolvers_that_agree_give_no_mismatch() -> None:
    given = facts("resolver_views--test-disagreeing-servers")
    # The second server answers as the first: the same values, nothing to report.
    a = [q for q in given["queries"] if q["type"] == "A" and not q["error"]]
    a[1]["answers"] = copy.deepcopy(a[0]["answers"])
    assert run("resolver_views", {**given, "ns": None}) == []


def test_a_resolver_that_differs_from_the_zone_servers_is_a_mismatch() -> None:
    given = facts("resolver_views--test-nxdomain")
    # The zone's server says NXDOMAIN (recorded); the resolver is made to still hold an address.
    [query] = given["queries"]
    query["rcode"] = "NOERROR"
    query["answers"] = [{"name": given["name"], "type": "A", "ttl": 60, "value": "192.0.2.99"}]
    f = one(run("resolver_views", given), "dns.resolver_mismatch")
    [diff] = f.evidence["differences"]
    assert diff["authority"]["rcode"] == "NXDOMAIN" and diff["authority"]["values"] == []
    assert diff["authority"]["servers"] == ["127.212.126.4:41433"]
    assert f.title == (
        "nope.example.test: answers differ (A: 127.212.126.6:41433 192.0.2.99 vs zone's servers "
        "NXDOMAIN)"
    )


def test_inconsistent_ns_names_the_zone_and_each_server() -> None:
    f = one(run("authority", facts("authority--test-disagreeing-servers")), "dns.inconsistent_ns")
    assert f.severity == "warning"
    assert f.title == "name servers of split.test disagree: serials differ: " + (
        "ns1.split.test 1, ns2.split.test 2"
    )
    assert "`dig @SERVER split.test SOA +norec`" in f.suggestion


@pytest.mark.parametrize(
    ("case", "code", "zone"),
    [
        ("traced--test-trace-shows-where-it-breaks", "dns.servfail", "broken.test"),
        ("traced--test-trace-shows-where-it-breaks-2", "dns.timeout", "dead.test"),
    ],
)
def test_a_broken_trace_names_the_zone_where_it_breaks(case: str, code: str, zone: str) -> None:
    f = one(run("traced", facts(case)), code)
    assert f.severity == "critical" and f.evidence == {"zone": zone, "steps": 3}
    assert f" breaks at zone {zone}: " in f.title
    assert f"Fix the name servers of {zone}" in f.suggestion


def test_a_trace_that_completes_gives_nothing() -> None:
    assert run("traced", facts("traced--test-trace-follows-each-delegation")) == []


def test_from_host_with_an_override_is_a_mismatch_naming_the_host() -> None:
    given = facts("from_host--test-from-host-with-an-etc-hosts-override")
    f = one(run("from_host", given), "dns.resolver_mismatch")
    assert f.host == "local" and f.evidence["host_getent"] == ["127.0.0.1"]
    assert f.evidence["bot"] == ["127.0.0.2"]


def test_an_unreachable_from_host_is_no_dns_finding() -> None:
    given = facts("from_host--test-from-host-with-an-etc-hosts-override")
    # What resolve_on gives for a host it cannot reach: the error, no views.
    given["from"] = {"kind": "from", "host": "local", "name": given["name"],
                     "error": "local: refused", "detail": "refused", "code": "ssh.refused",
                     "bot_addresses": []}  # fmt: skip
    assert run("from_host", given) == []


def test_evaluate_runs_every_rule_and_absent_facts_give_nothing() -> None:
    merged = {
        **facts("records--test-several-a-records"),
        "ns": facts("authority--test-disagreeing-servers")["ns"],
        "trace": facts("traced--test-trace-shows-where-it-breaks")["trace"],
        "from": facts("from_host--test-from-host-with-an-etc-hosts-override")["from"],
    }
    codes = [f.code for f in evaluate(merged)]
    assert codes[0] == "dns.multiple_a"
    assert {"dns.inconsistent_ns", "dns.servfail", "dns.resolver_mismatch"} <= set(codes)
    bare = {**facts("records--test-healthy-name-has-no-warning"), "ns": None, "trace": None}
    assert [f for f in evaluate({**bare, "from": None}) if f.severity != "info"] == []
