"""A host whose login shell is slow to start (pyenv, nvm, conda in ~/.bashrc): the routine
pays it once per triage, because every probe runs in one batched session (ssh_probes.batch).

OpenSSH runs each exec request through the user's shell and bash reads ~/.bashrc for
commands run by sshd, so the lab host's .bashrc counts its own start-ups and sleeps like a
heavy one. Counts, not timings, are asserted.
"""

from __future__ import annotations

import asyncio

from commands import triage
from ssh_probes.model import SSHOptions
from ssh_probes.probes import DEFAULT_PROBES
from tests.lab.fixtures import CALM, target_for
from tests.lab.netns import Lab

BASHRC = 'echo x >> "$HOME/starts"\nsleep 0.3\n'
OPTS = triage.TriageOptions(
    ssh=SSHOptions(connect_timeout_s=10.0, command_timeout_s=10.0),
    thresholds=CALM,
    probes=DEFAULT_PROBES,
)


async def test_heavy_shell_is_paid_once_per_triage_on_every_host(lab: Lab) -> None:
    hosts = [lab.add_host() for _ in range(4)]
    try:
        for host in hosts:
            (host.workdir / "home" / ".bashrc").write_text(BASHRC)
        reports = await asyncio.gather(*(triage.run(target_for(h), OPTS) for h in hosts))
        for host, report in zip(hosts, reports, strict=True):
            failed = [(r.probe, r.error) for r in report.results if not r.ok]
            assert report.status == "ok" and failed == [], failed
            assert {"load", "stat", "processes"} <= {r.probe for r in report.results}
            starts = (host.workdir / "home" / "starts").read_text().count("x")
            # One session for the probes, one more only if a follow-up (du) was needed.
            follow_ups = sum(":" in r.probe for r in report.results)
            assert starts == 1 + (follow_ups > 0), (starts, [r.probe for r in report.results])
    finally:
        for host in hosts:
            host.destroy()
