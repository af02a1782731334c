"""`http` where the network itself is at fault: a black hole and an egress firewall, in the lab.

The packets are really dropped: iptables rules inside the lab host's network namespace.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from commands.http import HttpOptions, parse, run
from commands.report import Report
from ssh_probes.executor import LocalExecutor
from ssh_probes.model import HostTarget
from tests.http_fixtures import Serve
from tests.lab.fixtures import target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.lab

OPTS = HttpOptions(connect_timeout_s=0.5, read_timeout_s=1.0, total_timeout_s=4.0)
BOX = HostTarget(name="box")
PORT = 8081  # nothing listens on it inside the lab host


@contextmanager
def dropped(host: LabHost, chain: str, port: int) -> Iterator[None]:
    """Silently drop TCP to `port` in `chain` (INPUT or OUTPUT) inside the host's namespace."""
    rule = [chain, "-p", "tcp", "--dport", str(port), "-j", "DROP"]
    host.exec(["iptables", "-A", *rule])
    try:
        yield
    finally:
        host.exec(["iptables", "-D", *rule], check=False)


def codes(report: Report, host: str) -> set[str]:
    """Warning and critical codes seen from `host`."""
    return {f.code for f in report.findings if f.host == host and f.severity != "info"}


async def test_connect_into_a_black_hole_is_a_tcp_timeout(lab_host: LabHost) -> None:
    req = parse([f"http://{lab_host.address}:{PORT}/", "--from", BOX.name])
    box = LocalExecutor(BOX.name)
    # Control: with nothing listening and no rule, the kernel answers RST.
    before = await run(req, OPTS, from_host=BOX, from_executor=box)
    assert codes(before, "local") == {"tcp.refused"} and codes(before, "box") == {"tcp.refused"}
    with dropped(lab_host, "INPUT", PORT):
        report = await run(req, OPTS, from_host=BOX, from_executor=box)
    assert codes(report, "local") == {"tcp.timeout"}
    assert codes(report, "box") == {"tcp.timeout"}
    finding = next(f for f in report.findings if f.host == "local")
    assert f"nc -vz -w 5 {lab_host.address} {PORT}" in finding.suggestion


async def test_from_a_host_behind_an_egress_firewall(lab_host: LabHost, serve: Serve) -> None:
    # The server listens on our end of the lab link, so the lab host can reach it.
    server = await serve(host=lab_host.gateway)
    target = target_for(lab_host)
    req = parse([server.url("/ok"), "--from", target.name])
    healthy = await run(req, OPTS, from_host=target)
    assert healthy.status == "ok"
    assert codes(healthy, "local") == set() and codes(healthy, target.name) == set()
    assert {r.probe: r.facts["outcome"] for r in healthy.results} == {
        "http": "response", "curl": "response"
    }  # fmt: skip
    with dropped(lab_host, "OUTPUT", server.port):
        report = await run(req, OPTS, from_host=target)
    assert codes(report, "local") == set()
    assert codes(report, target.name) == {"tcp.timeout", "http.view_mismatch"}
    mismatch = next(f for f in report.findings if f.code == "http.view_mismatch")
    assert "HTTP 200" in mismatch.title and "tcp.timeout" in mismatch.title
