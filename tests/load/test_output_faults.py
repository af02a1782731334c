"""Probes that flood, never end, or hang on a dead mount: capped, timed out, reported.

The flood is 5 MB of "a.a.a..." on purpose: besides the cap, it is the shape that made
secret redaction (run on every probe's output) backtrack quadratically before it was fixed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from commands import triage
from ssh_probes import probes
from ssh_probes.executor import Executor, LocalExecutor, SSHExecutor, SSHOptions
from ssh_probes.model import CommandResult, HostTarget, Probe
from ssh_probes.runner import run_probe
from tests.lab.fixtures import CALM, target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.slow

OPTS = SSHOptions(connect_timeout_s=3.0)
CAP = OPTS.output_cap_bytes
FLOOD = Probe(
    name="flood",
    area="test",
    command=("sh", "-c", "yes a. | tr -d '\\n' | head -c 5000000; echo done >&2"),
    parse=lambda r: {"bytes": len(r.stdout), "stderr": r.stderr},
    timeout_s=30.0,
)
MARK = "tb-load-endless"
ENDLESS = Probe(
    name="endless",
    area="test",
    # Writes forever: over SSH it dies of SIGPIPE once the channel is closed (root sessions
    # ignore signal requests), locally the process group is killed.
    command=("sh", "-c", "while :; do echo tick; sleep 0.05; done", MARK),
    parse=lambda r: {},
    timeout_s=1.0,
)

SILENT = Probe(
    name="silent",
    area="test",
    # Never writes, so nothing (no SIGPIPE) ends it when the channel closes: over SSH as root
    # only the host-side `timeout -s KILL` the executor wraps every command in can.
    command=("sleep", "3599.75"),
    parse=lambda r: {},
    timeout_s=1.0,
)


def running(marker: str) -> list[str]:
    """Pids whose command line holds `marker` (lab hosts share our /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:
            continue
    return found


async def gone(marker: str, within: float = 5.0) -> bool:
    """True once no process carries `marker` (bounded wait)."""
    deadline = time.monotonic() + within
    while running(marker):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@pytest.fixture(params=["local", pytest.param("ssh", marks=pytest.mark.lab)])
async def executor(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Executor, HostTarget]]:
    """A LocalExecutor, or an SSHExecutor to a fresh lab host."""
    if request.param == "local":
        yield LocalExecutor(options=OPTS), HostTarget("local")
        return
    host: LabHost = request.getfixturevalue("lab_host")
    target = target_for(host)
    async with SSHExecutor(target, OPTS) as ex:
        yield ex, target


async def test_5mb_probe_output_is_capped_and_flagged(
    executor: tuple[Executor, HostTarget],
) -> None:
    ex, host = executor
    results = await asyncio.gather(*(run_probe(ex, FLOOD, host) for _ in range(3)))
    for result in results:
        assert result.ok and result.truncated, result.error
        assert result.facts["bytes"] == CAP  # the parser saw the capped text, not 5 MB
        assert result.facts["stderr"] == "done\n"  # drained past the cap: the writer finished
        assert len(result.raw) == CAP and result.raw.startswith("a.a.a.")


async def test_endless_command_is_timed_out_and_ends(executor: tuple[Executor, HostTarget]) -> None:
    ex, host = executor
    results = await asyncio.gather(*(run_probe(ex, ENDLESS, host) for _ in range(4)))
    for result in results:
        assert not result.ok and result.error == "timed out after 1s"
        assert result.raw.startswith("tick\n")  # what came before the deadline is kept
    assert await gone(MARK), running(MARK)
    # The executor is still usable after four timeouts.
    out: CommandResult = await ex.run(["echo", "after"])
    assert out.stdout == "after\n"


async def test_silent_command_is_timed_out_and_killed_on_the_host(
    executor: tuple[Executor, HostTarget],
) -> None:
    ex, host = executor
    results = await asyncio.gather(*(run_probe(ex, SILENT, host) for _ in range(3)))
    assert [r.error for r in results] == ["timed out after 1s"] * 3
    # Killed by the host's timeout 2 s after our deadline (at once, locally).
    assert await gone("3599.75", within=6.0), running("3599.75")
    assert (await ex.run(["echo", "after"])).stdout == "after\n"


@pytest.mark.lab
async def test_df_hung_on_a_dead_mount_gives_a_partial_report(
    lab_host: LabHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `df` that never returns (as on a dead NFS mount): disk times out, the rest is intact."""
    shim = lab_host.bin_dir / "df"
    shim.write_text("#!/bin/sh\nexec sleep 3599.25\n")
    shim.chmod(0o755)
    # The real disk probe, with a short timeout so the test does not wait its full 10 s.
    fast_disk = replace(probes.build("disk"), timeout_s=1.5)
    monkeypatch.setitem(probes.FACTORIES, "disk", probes.static(fast_disk))
    opts = triage.TriageOptions(
        ssh=OPTS,
        thresholds=CALM,
        probes=("load", "disk", "sockets"),
    )
    report = await triage.run(target_for(lab_host), opts)
    by_probe = {r.probe: r for r in report.results}
    assert report.status == "partial"
    assert not by_probe["disk"].ok and by_probe["disk"].error == "timed out after 1.5s"
    assert by_probe["load"].ok and by_probe["sockets"].ok
    assert by_probe["sockets"].facts["listeners"]
    assert not [f for f in report.findings if f.code.startswith("ssh.")]
