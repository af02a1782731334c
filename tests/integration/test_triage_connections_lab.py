"""`triage HOST` over real SSH with TCP connection-state faults injected in the host's namespace.

The namespace has its own TCP stack, so the sockets made here are exactly what `ss` sees on
that host: a TIME-WAIT storm, connects into a black hole (SYN-SENT) and a server that never
closes (CLOSE-WAIT). Fault helpers and their cleanup live in tests.lab.connection_faults.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from commands import triage
from commands.report import Report
from ssh_probes.executor import SSHExecutor, SSHOptions
from ssh_probes.model import CommandResult, Finding, ProbeConfig
from ssh_probes.probes import connections
from ssh_probes.rules import Thresholds
from tests.lab import connection_faults as faults
from tests.lab.fixtures import CALM, target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.lab

# The lab shares this machine's CPUs with the test run: keep the load rule out of the way.
STORM_PORT, STORM_N = 8081, 300
SYN_PORT, SYN_N = 9443, 15
LEAK_PORT, LEAK_N = 8090, 25


def options(thresholds: Thresholds = CALM) -> triage.TriageOptions:
    return triage.TriageOptions(
        ssh=SSHOptions(connect_timeout_s=3.0),
        thresholds=thresholds,
        probe_config=ProbeConfig(sample_window_s=0.3),
    )


def tcp_findings(report: Report) -> dict[str, Finding]:
    assert any(r.probe == "connections" and r.ok for r in report.results), [
        (r.probe, r.error) for r in report.results
    ]
    return {f.code: f for f in report.findings if f.code.startswith("tcp.")}


@pytest.fixture
def syn_sent(lab_host: LabHost) -> Iterator[tuple[str, int]]:
    """SYN_N connects to an address of the host's own /24 whose SYNs OUTPUT drops."""
    with faults.syn_sent(lab_host, SYN_PORT, SYN_N) as peer_and_pid:
        yield peer_and_pid


@pytest.fixture
def close_wait(lab_host: LabHost) -> Iterator[int]:
    """A server `leaky-api` holding LEAK_N connections its clients closed; its pid."""
    with faults.close_wait_leak(lab_host, LEAK_PORT, LEAK_N, "leaky-api") as pid:
        yield pid


@pytest.fixture
def narrow_port_range(lab_host: LabHost) -> Iterator[tuple[int, int]]:
    """400 ephemeral ports in the host's namespace (the range is per network namespace)."""
    low, high = 40000, 40399
    lab_host.exec(["sysctl", "-q", "-w", f"net.ipv4.ip_local_port_range={low} {high}"])
    yield low, high
    lab_host.exec(["sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=32768 60999"])


async def test_time_wait_storm_uses_up_the_port_range_towards_one_upstream(
    lab_host: LabHost, narrow_port_range: tuple[int, int]
) -> None:
    seen = faults.time_wait_storm(lab_host, STORM_PORT, STORM_N, at_least=210)
    found = tcp_findings(await triage.run(target_for(lab_host), options()))
    assert set(found) == {"tcp.time_wait_high"}
    storm = found["tcp.time_wait_high"]
    # 210..300 of 400 ports: 52-75%, over the 50% warning, under the 80% critical.
    assert storm.severity == "warning"
    assert storm.evidence["port_range"] == list(narrow_port_range)
    assert storm.evidence["port_range_size"] == 400
    assert storm.evidence["port_range_assumed"] is False
    assert storm.evidence["upstream"] == {"address": "127.0.0.1", "port": STORM_PORT}
    assert storm.evidence["count"] >= seen  # closing sockets may still turn into TIME-WAIT
    assert f"TIME-WAIT towards 127.0.0.1:{STORM_PORT}" in storm.title
    assert "of the 400 ephemeral ports (40000-40399)" in storm.title
    assert f"towards 127.0.0.1:{STORM_PORT}" in storm.suggestion
    assert storm.host == lab_host.name


async def test_storm_under_the_default_threshold_is_quiet(lab_host: LabHost) -> None:
    seen = faults.time_wait_storm(lab_host, STORM_PORT, STORM_N, at_least=100)
    report = await triage.run(target_for(lab_host), options())
    assert tcp_findings(report) == {}
    facts = next(r.facts for r in report.results if r.probe == "connections")
    assert facts["time_wait"]["count"] >= seen


async def test_time_wait_listed_or_counted_on_the_host_gives_the_same_facts(
    lab_host: LabHost,
) -> None:
    """Under the kernel's count threshold one ss lists TIME-WAIT; over it awk counts them."""
    faults.time_wait_storm(lab_host, STORM_PORT, STORM_N, at_least=250)
    # Both ways in one session, so the session's own sockets are the same for both.
    both = 'sh -c "$1" sh 0; echo @@split; sh -c "$1" sh 100000'
    ex = SSHExecutor(target_for(lab_host), SSHOptions(connect_timeout_s=3.0))
    try:
        out = await ex.run(["sh", "-c", both, "sh", connections.SCRIPT], timeout=20)
    finally:
        await ex.close()
    counted, listed = out.stdout.split("@@split\n")
    assert "@@tb time-wait\n" in counted and "@@tb time-wait" not in listed
    assert listed.count(" 127.0.0.1:8081 ") >= 250  # every TIME-WAIT line, with the rest
    facts = [connections.parse(CommandResult(o, "", 0, 0.1)) for o in (counted, listed)]
    assert facts[0] == facts[1]
    assert facts[1]["time_wait"]["peers"][0]["port"] == STORM_PORT


async def test_syn_sent_to_a_black_hole_names_the_peer(
    lab_host: LabHost, syn_sent: tuple[str, int]
) -> None:
    peer, pid = syn_sent
    assert peer.startswith(lab_host.address.rsplit(".", 1)[0] + ".")  # the host's own /24
    found = tcp_findings(await triage.run(target_for(lab_host), options()))
    assert set(found) == {"tcp.syn_sent_high"}
    syn = found["tcp.syn_sent_high"]
    assert syn.severity == "warning"
    assert syn.evidence["peers"][0]["address"] == peer
    assert syn.evidence["peers"][0]["port"] == SYN_PORT
    assert syn.evidence["peers"][0]["count"] == SYN_N
    assert {"name": "python3", "pid": pid, "count": SYN_N} in syn.evidence["processes"]
    assert f"{peer}:{SYN_PORT}" in syn.title
    assert f"nc -vz -w 3 {peer} {SYN_PORT}" in syn.suggestion
    assert f"traceroute -T -p {SYN_PORT} {peer}" in syn.suggestion


async def test_close_wait_leak_names_the_process(lab_host: LabHost, close_wait: int) -> None:
    pid = close_wait
    found = tcp_findings(await triage.run(target_for(lab_host), options()))
    assert set(found) == {"tcp.close_wait_high"}
    leak = found["tcp.close_wait_high"]
    assert leak.severity == "warning"
    assert leak.evidence["processes"][0] == {"name": "leaky-api", "pid": pid, "count": LEAK_N}
    assert leak.evidence["local_ports"][0] == {"port": LEAK_PORT, "count": LEAK_N}
    assert f"leaky-api (pid {pid}" in leak.title
    assert f"ls -l /proc/{pid}/fd | wc -l" in leak.suggestion
    assert f"restart leaky-api (pid {pid})" in leak.suggestion
    assert "drain its traffic first" in leak.suggestion  # before the restart, not after


async def test_close_wait_is_critical_at_five_times_the_threshold(
    lab_host: LabHost, close_wait: int
) -> None:
    thresholds = replace(CALM, close_wait_warning=5)  # 25 >= 5 x 5
    found = tcp_findings(await triage.run(target_for(lab_host), options(thresholds)))
    assert found["tcp.close_wait_high"].severity == "critical"
