"""`triage HOST port N` over real SSH: not listening, loopback only, filtered, rejected, open."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from commands import triage
from commands.report import Report
from ssh_probes.executor import SSHOptions
from tests.lab.fixtures import CALM, target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.lab

OPTS = triage.TriageOptions(
    ssh=SSHOptions(connect_timeout_s=1.5),
    thresholds=CALM,
    probes=("sockets",),
)
PORT = 8080


def serious(report: Report) -> list[str]:
    return sorted(f.code for f in report.findings if f.severity != "info")


def reach_facts(report: Report) -> dict[str, object]:
    return next(r.facts for r in report.results if r.probe == f"reach:{PORT}")


def listen(host: LabHost, address: str) -> subprocess.Popen[bytes]:
    """A TCP listener on address:PORT inside the host's namespace, up when this returns."""
    proc = subprocess.Popen(
        [
            "nsenter",
            f"--net=/var/run/netns/{host.netns}",
            "/usr/bin/python3",
            "-c",
            "import socket,sys,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,"
            f"socket.SO_REUSEADDR,1);s.bind(('{address}',{PORT}));s.listen();time.sleep(300)",
        ],
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if f":{PORT}" in host.exec(["ss", "-H", "-lnt", f"sport = :{PORT}"]).stdout:
            return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("listener did not come up")


@pytest.fixture
def public_listener(lab_host: LabHost) -> Iterator[None]:
    proc = listen(lab_host, "0.0.0.0")
    yield
    proc.kill()
    proc.wait()


@pytest.fixture
def firewall(lab_host: LabHost) -> Iterator[list[str]]:
    """iptables rules added inside the host's namespace; removed afterwards."""
    added: list[str] = []
    yield added
    for target in added:
        lab_host.exec(
            ["iptables", "-D", "INPUT", "-p", "tcp", "--dport", str(PORT), "-j", *target.split()],
            check=False,
        )


def block(host: LabHost, added: list[str], target: str) -> None:
    host.exec(["iptables", "-A", "INPUT", "-p", "tcp", "--dport", str(PORT), "-j", *target.split()])
    added.append(target)


async def test_open_port_has_no_finding(lab_host: LabHost, public_listener: None) -> None:
    report = await triage.run(target_for(lab_host), OPTS, port=PORT)
    assert serious(report) == []
    assert reach_facts(report)["outcome"] == "open"
    assert report.target == f"{lab_host.name} port {PORT}"


async def test_nothing_listening(lab_host: LabHost) -> None:
    report = await triage.run(target_for(lab_host), OPTS, port=PORT)
    assert serious(report) == ["port.not_listening"]
    assert reach_facts(report)["outcome"] == "refused"


async def test_loopback_only(lab_host: LabHost) -> None:
    proc = listen(lab_host, "127.0.0.1")
    try:
        report = await triage.run(target_for(lab_host), OPTS, port=PORT)
    finally:
        proc.kill()
        proc.wait()
    assert serious(report) == ["port.loopback_only"]


async def test_dropped_by_firewall_is_a_timeout(
    lab_host: LabHost, public_listener: None, firewall: list[str]
) -> None:
    block(lab_host, firewall, "DROP")
    report = await triage.run(target_for(lab_host), OPTS, port=PORT)
    assert serious(report) == ["tcp.timeout"]
    finding = next(f for f in report.findings if f.code == "tcp.timeout")
    assert finding.evidence["listening_on"] == ["0.0.0.0"]
    assert "iptables -L -n -v" in finding.suggestion


async def test_rejected_by_firewall_is_refused(
    lab_host: LabHost, public_listener: None, firewall: list[str]
) -> None:
    block(lab_host, firewall, "REJECT --reject-with tcp-reset")
    report = await triage.run(target_for(lab_host), OPTS, port=PORT)
    assert serious(report) == ["tcp.refused"]
    assert reach_facts(report)["outcome"] == "refused"


async def test_unreachable_ssh_still_reports_the_outside_view(lab_host: LabHost) -> None:
    lab_host.stop_sshd()
    report = await triage.run(target_for(lab_host), OPTS, port=22)
    assert report.status == "failed"
    assert [f.code for f in report.findings] == ["ssh.refused"]
    assert next(r.facts for r in report.results if r.probe == "reach:22")["outcome"] == "refused"


async def test_url_is_checked_from_the_host_and_from_the_bot(lab_host: LabHost) -> None:
    """A server only the host can reach (its own loopback): 200 there, refused from the bot."""
    from commands import triage as t

    server = subprocess.Popen(
        [
            "nsenter",
            f"--net=/var/run/netns/{lab_host.netns}",
            "/usr/bin/python3",
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            "8099",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while ":8099" not in lab_host.exec(["ss", "-H", "-lnt", "sport = :8099"]).stdout:
            assert time.monotonic() < deadline, "http.server did not come up"
            time.sleep(0.05)
        request = t.parse(f"{lab_host.name} url http://127.0.0.1:8099/")
        report = await t.run(target_for(lab_host), OPTS, url=request.url)
    finally:
        server.kill()
        server.wait()
    assert report.target == f"{lab_host.name} url http://127.0.0.1:8099/"
    curl = next(r for r in report.results if r.probe == "curl")
    assert curl.host == lab_host.name and curl.facts["status"] == 200
    codes = {f.code for f in report.findings}
    assert "tcp.refused" in codes  # the bot's own view: nothing on its 127.0.0.1:8099
    assert "http.view_mismatch" in codes
