"""`dig` against real BIND servers on loopback (tests/lab/bind.py): one test per finding.

Every query goes to the lab's 127.x addresses: the system resolver is overridden with the
lab's resolver, --trace starts at the lab's root, and the --from host's `dig` is pointed at a
lab server (getent reads /etc/hosts for `localhost`, so it sends no DNS query at all).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import dns.message
import dns.query

from bot.render.summaries import summarize
from commands.dig import DigOptions, parse, run
from commands.report import Report
from ssh_probes.executor import LocalExecutor
from ssh_probes.model import CommandResult, Finding
from tests.lab.bind import CF_V4, CLOUDFRONT_V4, BindLab, moved_zone


def options(lab: BindLab, **overrides: Any) -> DigOptions:
    """Lab-only options: no query can leave 127.0.0.0/8."""
    base: dict[str, Any] = {
        "timeout_s": 1.0,
        "root_servers": (lab["root"].server,),
        "system_nameservers": (lab["resolver"].server,),
        "dns_port": lab.port,
    }
    return DigOptions(**(base | overrides))


def at(lab: BindLab, role: str) -> str:
    return f"@{lab[role].address}:{lab.port}"


async def dig(lab: BindLab, text: str, **overrides: Any) -> Report:
    return await run(parse(text.split()), options(lab, **overrides))


def found(report: Report, code: str) -> Finding:
    hits = [f for f in report.findings if f.code == code]
    assert hits, f"no {code} in {[(f.code, f.title) for f in report.findings]}"
    return hits[0]


def serious(report: Report) -> list[tuple[str, str]]:
    return [(f.code, f.title) for f in report.findings if f.severity != "info"]


def query(report: Report, rdtype: str, resolver: str | None = None) -> dict[str, Any]:
    for r in report.results:
        f = r.facts
        if f.get("kind") == "query" and f["type"] == rdtype:
            if resolver is None or f["resolver"] == resolver:
                return f
    raise AssertionError(f"no {rdtype} query in the report")


async def test_healthy_name_has_no_warning(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, "www.example.test")
    assert serious(report) == []
    assert report.status == "ok"
    assert report.command == "dig" and report.target == "www.example.test"
    a = query(report, "A")
    assert a["rcode"] == "NOERROR" and a["system"] is True
    assert a["resolver"] == f"{bind_lab['resolver'].address}:{bind_lab.port}"
    assert [(x["value"], x["ttl"] <= 300) for x in a["answers"]] == [("192.0.2.10", True)]
    assert a["time_ms"] is not None and a["time_ms"] >= 0
    assert len([r for r in report.results if r.facts.get("kind") == "query"]) == 8
    ns = next(r.facts for r in report.results if r.probe == "dig:ns-check")
    assert ns["zone"] == "example.test" and ns["consistent"] is True
    assert [s["serial"] for s in ns["servers"]] == [2024010101]
    assert all(summarize(r) for r in report.results)


async def test_nxdomain(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, "nope.example.test A")
    finding = found(report, "dns.nxdomain")
    assert finding.severity == "critical"
    assert query(report, "A")["rcode"] == "NXDOMAIN"


async def test_servfail_from_a_zone_that_failed_to_load(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, "www.broken.test A")
    finding = found(report, "dns.servfail")
    assert finding.severity == "critical" and "SERVFAIL" in finding.title
    assert "--trace" in finding.suggestion


async def test_timeout_from_a_silent_server(bind_lab: BindLab) -> None:
    silent = "@{}:{}".format(*bind_lab.silent)
    report = await dig(bind_lab, f"www.example.test A {silent}", timeout_s=0.3)
    finding = found(report, "dns.timeout")
    assert finding.severity == "critical" and "did not answer" in finding.title
    assert report.status == "failed"
    assert query(report, "A")["error"].startswith("timeout")


async def test_no_address_record(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, "mailonly.example.test")
    finding = found(report, "dns.no_answer")
    assert finding.severity == "warning" and "A/AAAA" in finding.title
    assert query(report, "MX")["answers"][0]["value"] == "10 mail.example.test."


async def test_cloudflare_address_is_cdn_proxied(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, "cf.example.test")
    finding = found(report, "dns.cdn_proxied")
    assert finding.severity == "info" and "Cloudflare" in finding.title
    assert "Docker network" in finding.suggestion and "DNS-only" in finding.suggestion
    assert finding.evidence["addresses"] == [CF_V4]
    assert query(report, "A")["answers"][0]["provider"]["name"] == "Cloudflare"
    assert serious(report) == []


async def test_cloudfront_address_is_cdn_proxied(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, "cdn.example.test A")
    finding = found(report, "dns.cdn_proxied")
    assert "AWS CloudFront" in finding.title and CLOUDFRONT_V4 in finding.title


async def test_several_a_records(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, "rr.example.test")
    finding = found(report, "dns.multiple_a")
    assert finding.severity == "info"
    assert finding.evidence["addresses"] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert serious(report) == []


async def test_ipv6_present(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, "v6.example.test")
    finding = found(report, "dns.ipv6_present")
    assert finding.severity == "info" and "2001:db8::20" in finding.title
    assert "NODE_OPTIONS=--dns-result-order=ipv4first" in finding.suggestion


async def test_cname_chain_through_resolver_and_authoritative(bind_lab: BindLab) -> None:
    chain = ["alias.example.test", "alias2.example.test", "www.example.test"]
    for where in ("", at(bind_lab, "ns1")):
        report = await dig(bind_lab, f"alias.example.test A CNAME {where}")
        a = query(report, "A")
        assert a["cname_chain"] == chain
        assert [x["type"] for x in a["answers"]] == ["CNAME", "CNAME", "A"]
        assert query(report, "CNAME")["answers"][0]["value"] == "alias2.example.test."


async def test_disagreeing_servers(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, f"www.split.test A {at(bind_lab, 'ns1')} {at(bind_lab, 'ns2')}")
    mismatch = found(report, "dns.resolver_mismatch")
    assert mismatch.severity == "warning"
    assert "192.0.2.1" in mismatch.title and "192.0.2.2" in mismatch.title
    assert "inconsistent_ns" in mismatch.detail
    ns = found(report, "dns.inconsistent_ns")
    assert ns.severity == "warning" and "serials differ" in ns.detail
    assert sorted(s["serial"] for s in ns.evidence["servers"]) == [1, 2]


async def test_inconsistent_ns_seen_through_the_resolver(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, "www.split.test A")
    ns = found(report, "dns.inconsistent_ns")
    assert "split.test" in ns.title
    assert "answers differ" in ns.detail


async def test_split_horizon_between_authoritative_views(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, f"localhost A {at(bind_lab, 'root')} {at(bind_lab, 'ns1')}")
    mismatch = found(report, "dns.resolver_mismatch")
    assert "127.0.0.1" in mismatch.title and "127.0.0.2" in mismatch.title
    assert "split horizon" in mismatch.detail


def _serial(lab: BindLab) -> int:
    msg = dns.message.make_query("moved.test", "SOA")
    reply = dns.query.udp(msg, lab["ns1"].address, port=lab.port, timeout=1)
    return int(reply.answer[0][0].serial)


async def test_stale_cache_after_a_change(bind_lab: BindLab) -> None:
    first = await dig(bind_lab, "www.moved.test A")  # the resolver caches 192.0.2.10
    assert serious(first) == []
    ns1 = bind_lab["ns1"]
    ns1.write_zone("moved.test.", moved_zone(ns1.address, 2, "192.0.2.11"))
    ns1.reload()
    deadline = time.monotonic() + 10
    while _serial(bind_lab) != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _serial(bind_lab) == 2
    time.sleep(1.1)  # so the cached answer's TTL has visibly run down
    report = await dig(bind_lab, "www.moved.test A")
    assert query(report, "A")["answers"][0]["value"] == "192.0.2.10"
    mismatch = found(report, "dns.resolver_mismatch")
    assert mismatch.severity == "warning"
    assert "stale cache" in mismatch.detail and "expires" in mismatch.detail
    assert mismatch.evidence["differences"][0]["authority"]["values"] == ["192.0.2.11"]


async def test_idn_name_is_asked_in_punycode(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, "bücher.example.test A")
    assert report.target == "xn--bcher-kva.example.test"
    a = query(report, "A")
    assert a["display"] == "bücher.example.test"
    assert [x["value"] for x in a["answers"]] == ["192.0.2.50"]


def _zones(steps: Sequence[dict[str, Any]]) -> list[str]:
    return [s["zone"] for s in steps]


async def test_trace_follows_each_delegation(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, "www.example.test A --trace")
    trace = next(r.facts for r in report.results if r.probe == "dig:trace")
    assert _zones(trace["steps"]) == [".", "test", "example.test"]
    assert trace["steps"][0]["referral"]["zone"] == "test"
    assert trace["steps"][1]["referral"]["ns"] == ["ns1.example.test"]
    assert trace["result"] == "answer" and trace["broke_at"] is None
    assert trace["steps"][-1]["answers"][0]["value"] == "192.0.2.10"
    assert serious(report) == []


async def test_trace_shows_where_it_breaks(bind_lab: BindLab) -> None:
    report = await dig(bind_lab, "www.broken.test A --trace")
    trace = next(r.facts for r in report.results if r.probe == "dig:trace")
    assert trace["broke_at"]["zone"] == "broken.test" and "SERVFAIL" in trace["broke_at"]["reason"]
    assert any("breaks at zone broken.test" in f.title for f in report.findings)
    dead = await dig(bind_lab, "www.dead.test A --trace", check_ns=False)
    trace = next(r.facts for r in dead.results if r.probe == "dig:trace")
    assert trace["broke_at"]["zone"] == "dead.test" and trace["broke_at"]["code"] == "dns.timeout"


class LabHostExecutor(LocalExecutor):
    """This machine as a host whose resolv.conf resolver is a lab server: `dig` is pointed
    at it (real dig, real BIND); getent runs unchanged."""

    def __init__(self, resolver: tuple[str, int]) -> None:
        super().__init__()
        self.resolver = resolver

    async def run(
        self, argv: Sequence[str], *, timeout: float | None = None, input: str | None = None
    ) -> CommandResult:
        if argv and argv[0] == "dig":
            address, port = self.resolver
            argv = ["dig", f"@{address}", "-p", str(port), *argv[1:]]
        return await super().run(argv, timeout=timeout, input=input)


async def test_from_host_that_agrees(bind_lab: BindLab) -> None:
    request = parse(["localhost", "A", "AAAA", at(bind_lab, "root"), "--from", "local"])
    executor = LabHostExecutor(bind_lab["root"].server)
    report = await run(request, options(bind_lab, check_ns=False), from_executor=executor)
    there = next(r.facts for r in report.results if r.probe == "dig:from local")
    assert there["getent"]["addresses"] == ["127.0.0.1"]
    assert there["dig"]["addresses"] == ["127.0.0.1"]
    assert there["bot_addresses"] == ["127.0.0.1"]
    assert not [f for f in report.findings if f.code == "dns.resolver_mismatch"]


async def test_from_host_with_an_etc_hosts_override(bind_lab: BindLab) -> None:
    request = parse(["localhost", "A", "AAAA", at(bind_lab, "ns1"), "--from", "local"])
    executor = LabHostExecutor(bind_lab["ns1"].server)
    report = await run(request, options(bind_lab, check_ns=False), from_executor=executor)
    mismatch = found(report, "dns.resolver_mismatch")
    assert mismatch.host == "local" and mismatch.severity == "warning"
    assert mismatch.evidence["host_getent"] == ["127.0.0.1"]
    assert mismatch.evidence["bot"] == ["127.0.0.2"]
    assert "/etc/hosts" in mismatch.detail
