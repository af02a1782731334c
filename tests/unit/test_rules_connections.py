"""Connection-state rules on facts parsed from real `ss -H -tanp` captures (lab namespaces)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from commands.knowledge.catalog import CATALOG
from ssh_probes.checks.lines import connections_lines
from ssh_probes.model import CommandResult, Facts, HostTarget, ProbeResult
from ssh_probes.probes.connections import TOP, parse, parse_line
from ssh_probes.rules import Thresholds, evaluate
from tests.fixtures.capture import OUTPUTS

HOST = HostTarget(name="api-1", address="198.18.3.2")
FOLDER = OUTPUTS / "connections"


def golden(case: str) -> Facts:
    facts: Facts = json.loads((FOLDER / f"{case}.json").read_text())["facts"]
    return facts


def run(case: str, thresholds: Thresholds) -> list[tuple[str, str, str, str]]:
    findings = evaluate(
        [ProbeResult("connections", HOST.name, True, facts=golden(case))], HOST, thresholds
    )
    return [(f.code, f.severity, f.title, f.suggestion) for f in findings]


@dataclass(frozen=True)
class Case:
    golden: str
    thresholds: Thresholds
    expected: list[tuple[str, str]]  # (code, severity)
    mentions: list[str] = field(default_factory=list)  # in the title or the suggestion
    absent: list[str] = field(default_factory=list)


CASES = {
    # A quiet machine: a couple of TIME-WAIT and ESTAB sockets are normal.
    "root-namespace-healthy": Case("root-namespace", Thresholds(), []),
    "storm-under-default-threshold": Case("time-wait-storm", Thresholds(), []),
    # An old capture without the port range: Linux's default range (28,232 ports) is assumed,
    # so the 250 sockets towards 127.0.0.1:8081 are 0.89% of it.
    "storm-warning": Case(
        "time-wait-storm",
        Thresholds(time_wait_port_share_warning_pct=0.8, time_wait_port_share_critical_pct=5),
        [("tcp.time_wait_high", "warning")],
        [
            "250 TIME-WAIT towards 127.0.0.1:8081",
            "28,232 ephemeral ports (32768-60999) (assumed",
            "keep-alive",
            "net.ipv4.tcp_tw_reuse",
            "dst 127.0.0.1",
        ],
    ),
    "storm-critical": Case(
        "time-wait-storm",
        Thresholds(time_wait_port_share_warning_pct=0.5, time_wait_port_share_critical_pct=0.88),
        [("tcp.time_wait_high", "critical")],
    ),
    "storm-just-below-critical": Case(
        "time-wait-storm",
        Thresholds(time_wait_port_share_warning_pct=0.5, time_wait_port_share_critical_pct=0.89),
        [("tcp.time_wait_high", "warning")],
    ),
    "syn-sent-warning": Case(
        "syn-sent-blackhole",
        Thresholds(),
        [("tcp.syn_sent_high", "warning")],
        [
            "15 SYN-SENT",
            "198.18.3.200:9443",
            "nc -vz -w 3 198.18.3.200 9443",
            "traceroute -T -p 9443 198.18.3.200",
            "security groups",
        ],
    ),
    "syn-sent-critical": Case(
        "syn-sent-blackhole", Thresholds(syn_sent_warning=3), [("tcp.syn_sent_high", "critical")]
    ),
    "syn-sent-below": Case("syn-sent-blackhole", Thresholds(syn_sent_warning=16), []),
    "close-wait-names-process": Case(
        "close-wait-leak",
        Thresholds(),
        [("tcp.close_wait_high", "warning")],
        [
            "25 CLOSE-WAIT",
            "leaky-api (pid 25480, 25)",
            "local port 8090 (25) from 127.0.0.1 (25)",
            "ls -l /proc/25480/fd | wc -l",
            "restart leaky-api (pid 25480)",
        ],
        # The client's ephemeral ports say nothing; they must not be the headline.
        ["127.0.0.1:51094"],
    ),
    "close-wait-critical": Case(
        "close-wait-leak", Thresholds(close_wait_warning=5), [("tcp.close_wait_high", "critical")]
    ),
    "close-wait-without-permission": Case(
        "close-wait-as-nobody",
        Thresholds(),
        [("tcp.close_wait_high", "warning")],
        ["run as root", "ls -l /proc/PID/fd", "local port 8090"],
        ["leaky-api", "25480"],
    ),
    "close-wait-below": Case("close-wait-leak", Thresholds(close_wait_warning=26), []),
}


@pytest.mark.parametrize("name", list(CASES), ids=list(CASES))
def test_rules(name: str) -> None:
    case = CASES[name]
    found = run(case.golden, case.thresholds)
    assert [(code, sev) for code, sev, _t, _s in found] == case.expected
    text = " ".join(t + " " + s for _c, _sev, t, s in found)
    for needle in case.mentions:
        assert needle in text, (needle, text)
    for needle in case.absent:
        assert needle not in text, (needle, text)
    assert all(code in CATALOG for code, *_ in found)


def test_evidence_carries_the_numbers_and_host() -> None:
    findings = evaluate(
        [ProbeResult("connections", HOST.name, True, facts=golden("syn-sent-blackhole"))], HOST
    )
    (f,) = findings
    assert f.host == "api-1"
    assert f.evidence["count"] == 15
    assert f.evidence["threshold"] == 10 and f.evidence["critical_at"] == 50
    assert f.evidence["peers"][0] == {
        "address": "198.18.3.200",
        "port": 9443,
        "loopback": False,
        "count": 15,
    }
    assert f.evidence["processes"] == [{"name": "python3", "pid": 25465, "count": 15}]


def test_output_cut_by_the_cap_counts_whole_lines_and_says_at_least() -> None:
    text = (FOLDER / "time-wait-storm.txt").read_text()
    cut = text[: len(text) // 2]
    assert not cut.endswith("\n")
    facts = parse(CommandResult(cut, "", 0, 0.01, truncated=True))
    whole_lines = cut.count("\n")
    assert facts["truncated"] is True
    assert facts["total"] + facts["listening"] == whole_lines
    findings = evaluate(
        [ProbeResult("connections", HOST.name, True, facts=facts)],
        HOST,
        Thresholds(time_wait_port_share_warning_pct=0.01),
    )
    assert findings[0].title.startswith("at least ")


def test_facts_stay_small_with_100k_sockets() -> None:
    # 100k lines made of the real captures: many distinct peers, ports and states.
    lines = []
    for case in ("time-wait-storm", "close-wait-leak", "syn-sent-blackhole"):
        lines += [ln for ln in (FOLDER / f"{case}.txt").read_text().splitlines() if ln]
    big = "\n".join(lines * (100_000 // len(lines) + 1)) + "\n"
    facts = parse(CommandResult(big, "", 0, 0.01))
    assert facts["total"] + facts["listening"] >= 100_000
    assert len(json.dumps(facts)) < 20_000
    for key in ("time_wait", "syn_sent", "close_wait"):
        for list_key in ("peers", "peer_addresses", "local_ports", "processes"):
            assert len(facts[key][list_key]) <= TOP


@pytest.mark.parametrize(
    ("stdout", "status"),
    [("", 1), ("not ss output at all\n", 0), ("ESTAB 0 0 1.2.3.4 5.6.7.8:9\n", 0)],
    ids=["error-only", "garbage", "endpoint-without-port"],
)
def test_unreadable_output_is_a_value_error(stdout: str, status: int) -> None:
    with pytest.raises(ValueError):
        parse(CommandResult(stdout, "ss: bad", status, 0.01))


def test_line_fields_and_ipv6() -> None:
    line = (FOLDER / "close-wait-leak.txt").read_text().splitlines()[2]
    sock = parse_line(line)
    assert sock["state"] == "CLOSE-WAIT"
    assert (sock["recv_q"], sock["local_port"], sock["peer_address"]) == (1, 8090, "127.0.0.1")
    assert sock["processes"] == [("leaky-api", 25480)]
    listen6 = (FOLDER / "root-namespace.txt").read_text().splitlines()[-1]
    assert parse_line(listen6)["local_address"] == "::1"


def test_summary_lines() -> None:
    lines = connections_lines(golden("close-wait-leak"))
    assert lines[0] == "50 TCP connections: 25 FIN-WAIT-2, 25 CLOSE-WAIT"
    assert lines[1].startswith("CLOSE-WAIT 25: ") and lines[1].endswith("leaky-api[25480]")
    assert connections_lines(golden("root-namespace"))[0].startswith("4 TCP connections")


def test_an_ss_without_exclude_falls_back_to_every_socket() -> None:
    facts = golden("ss-without-exclude")
    assert facts["time_wait"]["count"] == facts["states"]["TIME-WAIT"] > 0
    assert facts["port_range_assumed"] is False


def test_a_failing_ss_is_an_error_not_an_empty_host() -> None:
    out = "@@tb range 32768\t60999\n@@tb sockets\n"
    with pytest.raises(ValueError, match="ss: not found"):
        parse(CommandResult(out, "sh: 1: ss: not found\n", 127, 0.01))
