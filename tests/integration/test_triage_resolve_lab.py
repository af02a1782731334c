"""Names a host resolves itself, over real SSH: found in /etc/hosts, and not found at all."""

from __future__ import annotations

import json

import pytest

from commands import triage
from ssh_probes.executor import SSHOptions
from ssh_probes.model import HostTarget, ProbeResult
from ssh_probes.rules import evaluate
from tests.fixtures.capture import OUTPUTS
from tests.lab.fixtures import CALM, target_for
from tests.lab.netns import LabHost

OPTS = triage.TriageOptions(
    ssh=SSHOptions(connect_timeout_s=3.0),
    thresholds=CALM,
    probes=("sockets", "resolve"),
)


def test_rule_on_real_output() -> None:
    facts = json.loads((OUTPUTS / "resolve" / "no-dns-server.json").read_text())["facts"]
    host = HostTarget(name="web-1")
    findings = evaluate([ProbeResult("resolve", "web-1", True, facts)], host)
    assert [(f.code, f.severity, f.evidence["name"]) for f in findings] == [
        ("dns.nxdomain", "critical", "db.nonexistent.example")
    ]
    assert "triagebot dig db.nonexistent.example --from web-1" in findings[0].suggestion


@pytest.mark.lab
async def test_names_from_the_label_resolve_on_the_host(lab_host: LabHost) -> None:
    target = target_for(lab_host, labels={"resolve": "localhost,vm,bad;name"})
    report = await triage.run(target, OPTS)
    result = next(r for r in report.results if r.probe == "resolve")
    assert result.ok, result.error
    assert [(n["name"], n["status"]) for n in result.facts["names"]] == [
        ("localhost", "ok"),
        ("vm", "ok"),  # `bad;name` is not a name: never sent
    ]
    assert not [f for f in report.findings if f.code.startswith("dns.")]


@pytest.mark.lab
async def test_a_host_without_dns_cannot_resolve(lab_host: LabHost) -> None:
    # No default route inside the namespace: the host's resolver cannot reach any server,
    # and nothing leaves this machine.
    lab_host.exec(["ip", "route", "del", "default"])
    target = target_for(lab_host, labels={"resolve": "db.nonexistent.example"})
    report = await triage.run(target, OPTS)
    found = [(f.code, f.evidence["name"]) for f in report.findings if f.code.startswith("dns.")]
    assert found == [("dns.nxdomain", "db.nonexistent.example")]


@pytest.mark.lab
async def test_no_label_no_probe(lab_host: LabHost) -> None:
    report = await triage.run(target_for(lab_host), OPTS)
    assert "resolve" not in {r.probe for r in report.results}
