"""The lab's per-host PID namespace (used by bench.fleet --own-pids): a host that sees only
its own processes, like a real machine, and still answers a full triage."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from commands import triage
from ssh_probes.executor import SSHExecutor
from tests.lab.fixtures import target_for
from tests.lab.netns import Lab, LabHost

pytestmark = pytest.mark.lab


@pytest.fixture
def own_host(lab: Lab) -> Iterator[LabHost]:
    host = lab.add_host(own_pids=True)
    yield host
    host.destroy()


async def test_host_sees_only_its_own_processes(own_host: LabHost) -> None:
    async with SSHExecutor(target_for(own_host)) as ex:
        out = await ex.run(["ps", "-e", "-o", "pid=,comm="])
    rows = [line.split(None, 1) for line in out.stdout.splitlines()]
    pids = {int(pid): comm for pid, comm in rows}
    assert pids[1] == "sshd"  # the listener is the namespace's init
    assert len(pids) < 10, pids  # listener, session, shell, ps: not this machine's hundreds
    # From outside, the listener is a normal process of ours (what nsenter --target uses).
    enter = ["nsenter", "-t", str(own_host.namespace_pid()), "-n", "-p", "-m"]
    inside = subprocess.run(
        [*enter, "ps", "-e", "-o", "pid="], capture_output=True, text=True, timeout=10, check=True
    ).stdout.split()
    assert "1" in inside and len(inside) < 10


async def test_full_triage_works_on_such_a_host(own_host: LabHost) -> None:
    report = await triage.run(target_for(own_host))
    assert report.status == "ok", [(r.probe, r.error) for r in report.results if not r.ok]
    processes = next(r for r in report.results if r.probe == "processes")
    assert processes.ok and processes.facts


async def test_stopping_it_leaves_no_process_behind(lab: Lab) -> None:
    host = lab.add_host(own_pids=True)
    inner = host.namespace_pid()
    host.destroy()
    assert not os.path.exists(f"/proc/{inner}") or "sshd" not in open(f"/proc/{inner}/comm").read()
