"""Rules on facts parsed from real captured output: thresholds, evidence and fixes."""

from __future__ import annotations

import json

import pytest

from ssh_probes.model import Facts, Finding, HostTarget, ProbeResult
from ssh_probes.rules import Thresholds, evaluate, over_threshold
from tests.fixtures.capture import OUTPUTS

HOST = HostTarget(name="web-1", address="198.18.0.2")


def golden(probe: str, case: str) -> Facts:
    facts: Facts = json.loads((OUTPUTS / probe / f"{case}.json").read_text())["facts"]
    return facts


def result(probe: str, facts: Facts) -> ProbeResult:
    return ProbeResult(probe, HOST.name, True, facts=facts)


def codes(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.code, f.severity) for f in findings)


def test_healthy_machine_has_no_findings() -> None:
    results = [
        result("load", golden("load", "this-machine")),
        result("sockets", golden("sockets", "root-with-processes")),
    ]
    assert evaluate(results, HOST) == []


def test_full_disk_names_biggest_directories_and_inodes_full() -> None:
    results = [
        result("disk", golden("disk", "full-and-inodes")),
        result("disk_usage:/mnt/tb full", golden("disk_usage", "full-mount-with-space")),
        result("inode_usage:/mnt/tbinodes", golden("inode_usage", "sessions")),
    ]
    findings = evaluate(results, HOST)
    assert codes(findings) == [("disk.full", "critical"), ("disk.inodes_full", "critical")]
    full = next(f for f in findings if f.code == "disk.full")
    assert full.evidence["mount"] == "/mnt/tb full"
    assert [e["path"] for e in full.evidence["biggest"]][:2] == [
        "/mnt/tb full/var",
        "/mnt/tb full/srv",
    ]
    assert "/mnt/tb full/var 40.0M" in full.suggestion
    inodes = next(f for f in findings if f.code == "disk.inodes_full")
    assert "/mnt/tbinodes/sessions 421" in inodes.suggestion
    assert full.host == inodes.host == "web-1"


def test_disk_warning_level_and_configurable_thresholds() -> None:
    disk = result("disk", golden("disk", "warning-level"))
    assert codes(evaluate([disk], HOST)) == [("disk.full", "warning")]
    assert codes(evaluate([disk], HOST, Thresholds(disk_critical_pct=91))) == [
        ("disk.full", "critical")
    ]
    assert evaluate([disk], HOST, Thresholds(disk_warning_pct=92, disk_critical_pct=95)) == []


def test_over_threshold_picks_mounts_for_du() -> None:
    assert over_threshold(golden("disk", "full-and-inodes"), Thresholds()) == (
        ["/mnt/tb full"],
        ["/mnt/tbinodes"],
    )
    assert over_threshold(golden("disk", "full-and-inodes"), Thresholds(disk_warning_pct=20)) == (
        ["/", "/mnt/tb full"],
        ["/mnt/tbinodes"],
    )


@pytest.mark.parametrize("load1", [1.9, 2.0, 4.0, 40.0], ids=["below", "2x", "4x", "20x"])
def test_load_alone_is_never_saturation(load1: float) -> None:
    # The load average counts D-state tasks and lags a burst: without the stat probe's
    # sample of busy time and run queue there is nothing to conclude from it.
    facts = {**golden("load", "this-machine"), "load1": load1, "cpus": 2}
    assert codes(evaluate([result("load", facts)], HOST)) == []


def test_expected_ports_against_real_listeners() -> None:
    host = HostTarget(name="db", expect_ports=(2024, 5432, 6379, 9999))
    findings = evaluate([result("sockets", golden("sockets", "root-with-processes"))], host)
    by_port = {f.evidence["port"]: f for f in findings}
    assert set(by_port) == {5432, 6379, 9999}
    assert by_port[9999].code == "port.not_listening"
    assert by_port[5432].code == "port.loopback_only"
    assert "listen_addresses" in by_port[5432].suggestion
    assert by_port[6379].evidence["addresses"] == ["127.0.0.1", "::1"]


def test_wildcard_ipv6_listener_is_not_loopback() -> None:
    host = HostTarget(name="h", expect_ports=(80, 8443, 9090, 53))
    findings = evaluate([result("sockets", golden("sockets", "non-root-no-processes"))], host)
    assert {f.evidence["port"]: f.code for f in findings} == {
        9090: "port.loopback_only",
        53: "port.loopback_only",
    }
    nothing = evaluate([result("sockets", golden("sockets", "nothing-listening"))], host)
    assert {f.code for f in nothing} == {"port.not_listening"}


def test_failed_probe_yields_no_findings() -> None:
    failed = ProbeResult("disk", HOST.name, False, error="timed out after 10s")
    assert evaluate([failed], HOST) == []
