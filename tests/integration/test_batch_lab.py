"""The batch session (ssh_probes.batch) on real sshd lab hosts: one host-side `timeout` per
limit, probe scripts evaluated without an `sh` each, and hosts whose `timeout` is busybox's
or unusable (busybox before 1.30 wants `-t SECS`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ssh_probes.executor import SSHExecutor, SSHOptions
from tests.integration.test_executor import gone, logged
from tests.lab.fixtures import target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.lab

OPTS = SSHOptions(connect_timeout_s=3.0)
OLD_BUSYBOX_TIMEOUT = """#!/bin/sh
echo "timeout: can't execute '$3': No such file or directory" >&2
exit 127
"""
# Two limit groups: 0.5 s (host-side kill at 3 s) and 2 s (at 4 s).
COMMANDS = [
    ["sh", "-c", "echo early; exit 3"],
    ["sh", "-c", "sleep 33.25 & echo $!; wait"],  # overruns: killed with its grandchild
    ["sh", "-c", "sleep 1.5; echo late $1", "sh", "x"],
    ["echo", "plain"],
]
LIMITS = [0.5, 0.5, 2.0, 2.0]


def alive(pid: str) -> bool:
    """Running, not a zombie waiting for init."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("timeout", ["coreutils", "busybox"])
async def test_an_overrun_is_killed_and_the_rest_of_the_batch_reports(
    lab_host: LabHost, timeout: str
) -> None:
    busybox = Path("/bin/busybox")
    if timeout == "busybox":
        if not busybox.exists():
            pytest.skip("no busybox")
        (lab_host.bin_dir / "timeout").symlink_to(busybox)
    async with SSHExecutor(target_for(lab_host), OPTS) as ex:
        started = time.monotonic()
        outs = await ex.run_many(COMMANDS, LIMITS)
        took = time.monotonic() - started
    grandchild = outs[1].stdout.strip()
    try:
        assert took < 5.0, took
        assert (outs[0].stdout, outs[0].exit_status) == ("early\n", 3)
        assert outs[1].timed_out and outs[1].exit_status is None and grandchild.isdigit()
        assert (outs[2].stdout, outs[2].exit_status, outs[2].timed_out) == ("late x\n", 0, False)
        assert (outs[3].stdout, outs[3].exit_status) == ("plain\n", 0)
        assert await logged(lab_host, "Starting session: command", 2, within=1.0) == 1
        if timeout == "coreutils":
            # The group's `timeout` killed its whole process group: the grandchild too.
            assert await gone("sleep 33.25"), "the overrunning command's child survived"
            assert not alive(grandchild)
    finally:
        if grandchild.isdigit() and alive(grandchild):
            os.kill(int(grandchild), 9)  # busybox's timeout kills only its own program


async def test_an_old_busybox_timeout_runs_the_batch_bare_in_the_same_session(
    lab_host: LabHost,
) -> None:
    (lab_host.bin_dir / "timeout").write_text(OLD_BUSYBOX_TIMEOUT)
    (lab_host.bin_dir / "timeout").chmod(0o755)
    async with SSHExecutor(target_for(lab_host), OPTS) as ex:
        outs = await ex.run_many(
            [["sh", "-c", "echo one $1", "sh", "a"], ["echo", "two"]], [5.0, 7.0]
        )
        after = await ex.run(["echo", "after"])  # bare at once: the batch showed the way
    assert [(o.stdout, o.exit_status) for o in outs] == [("one a\n", 0), ("two\n", 0)]
    assert after.stdout == "after\n"
    assert await logged(lab_host, "Starting session: command", 3, within=1.0) == 2
