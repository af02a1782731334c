"""`dig --from` and `http --from` to a host whose sshd is down: the runner turns it into data.

Both commands run their host commands through `run_probe`, so a host that cannot be reached
is a failed result plus the one unreachable-host finding (ssh.refused), not an exception,
and the bot's own view still runs (real sshd stopped in a lab namespace, real loopback).
"""

from __future__ import annotations

import pytest

from commands import dig, http
from commands.web.request import HttpOptions
from ssh_probes.executor import executor_for
from ssh_probes.model import SSHOptions
from tests.lab.fixtures import target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.lab


async def test_dig_from_a_host_with_sshd_down(lab_host: LabHost, closed_port: int) -> None:
    lab_host.stop_sshd()
    target = target_for(lab_host)
    request = dig.parse(["www.example.test", "A", "--from", target.name])
    opts = dig.DigOptions(
        timeout_s=0.5,
        system_nameservers=(("127.0.0.1", closed_port),),
        check_ns=False,
        ssh=SSHOptions(connect_timeout_s=3.0),
    )
    report = await dig.run(request, opts, from_host=target)
    [gone] = [f for f in report.findings if f.code.startswith("ssh.")]
    assert gone.code == "ssh.refused" and gone.severity == "critical"
    assert "for the lookup" in gone.title and target.address in gone.title
    there = next(r for r in report.results if r.probe == f"dig:from {target.name}")
    assert not there.ok and there.facts["code"] == "ssh.refused"
    assert "getent" not in there.facts  # nothing ran there: no view was invented
    assert report.status == "failed"  # the bot's query went to a closed port too


@pytest.mark.parametrize("given", [False, True], ids=["own-executor", "given-executor"])
async def test_http_from_a_host_with_sshd_down(
    lab_host: LabHost, closed_port: int, given: bool
) -> None:
    """own: http connects first; given: the first curl meets the refusal inside run_probe."""
    lab_host.stop_sshd()
    target = target_for(lab_host)
    request = http.parse([f"http://127.0.0.1:{closed_port}/", "--from", target.name])
    opts = HttpOptions(connect_timeout_s=3.0, read_timeout_s=1.0, total_timeout_s=4.0)
    executor = executor_for(target, SSHOptions(connect_timeout_s=3.0)) if given else None
    try:
        report = await http.run(request, opts, from_host=target, from_executor=executor)
    finally:
        if executor is not None:
            await executor.close()
    codes = sorted(f.code for f in report.findings)
    assert codes == ["ssh.refused", "tcp.refused"], codes
    gone = next(f for f in report.findings if f.code == "ssh.refused")
    assert "for the curl check" in gone.title and gone.host == target.name
    curl = next(r for r in report.results if r.probe == "curl")
    assert not curl.ok and curl.error
    assert report.status == "partial"  # the bot's own view ran
