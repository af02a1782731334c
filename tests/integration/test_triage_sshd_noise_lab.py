"""Internet scanner noise against a real sshd is counted apart, never a log.errors finding.

The lab host's sshd logs to a file (LabHost.log_path). Scanner-like clients (connect and drop,
send an HTTP request to port 22, send a banner and leave) make it log what every
internet-facing host logs all day: `kex_exchange_identification`, `banner exchange ... invalid
format`, `Connection closed ... [preauth]`. Registered as the host's log, those lines must be
grouped as noise, with no warning and no "timeouts only" conclusion.
"""

from __future__ import annotations

import socket
import time

import pytest

from commands import triage
from ssh_probes.executor import SSHOptions
from ssh_probes.model import ProbeConfig
from ssh_probes.probes import logwords
from ssh_probes.rules import Thresholds
from tests.lab.fixtures import target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.lab

ROUNDS = 6
OPTS = triage.TriageOptions(
    ssh=SSHOptions(connect_timeout_s=3.0),
    thresholds=Thresholds(),
    probes=("logs",),
    probe_config=ProbeConfig(sample_window_s=0.3),
)


def scan(address: str, port: int, payload: bytes | None) -> None:
    """One scanner visit: connect, maybe send something, read what comes, drop."""
    with socket.create_connection((address, port), timeout=3) as sock:
        if payload is not None:
            sock.sendall(payload)
        sock.settimeout(1.0)
        try:
            sock.recv(256)  # sshd's banner, or its reply to the junk
        except OSError:
            pass


def wait_for_lines(host: LabHost, at_least: int) -> list[str]:
    deadline = time.monotonic() + 10
    while True:
        lines = host.sshd_log().splitlines()
        noisy = [x for x in lines if logwords.is_sshd_noise(str(host.log_path), x)]
        if len(noisy) >= at_least or time.monotonic() > deadline:
            return noisy
        time.sleep(0.1)


async def test_scanner_noise_is_counted_apart(lab_host: LabHost) -> None:
    before = len(wait_for_lines(lab_host, 0))
    for _ in range(ROUNDS):
        scan(lab_host.address, lab_host.port, None)
        scan(lab_host.address, lab_host.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        scan(lab_host.address, lab_host.port, b"SSH-2.0-Go\r\n")
    noisy = wait_for_lines(lab_host, before + 2 * ROUNDS)
    assert len(noisy) - before >= 2 * ROUNDS, lab_host.sshd_log()[-2000:]
    # What sshd really wrote (with -e it drops the "error: " that syslog and the journal get;
    # the corpus case internet-facing-sshd-noise has those).
    assert any("kex_exchange_identification" in x for x in noisy), noisy[:5]
    target = target_for(lab_host, logs=(str(lab_host.log_path),))
    report = await triage.run(target, OPTS)
    logs = next(r for r in report.results if r.probe == "logs")
    assert logs.ok, logs.error
    assert logs.facts["noise_total"] >= 2 * ROUNDS
    assert logs.facts["only_timeouts"] is False
    assert [g for g in logs.facts["groups"] if "kex_exchange" in g["message"]] == []
    assert [f for f in report.findings if f.code == "log.errors"] == [], report.findings
