"""`triage` over real SSH with real CPU load: busy loops show in the run queue and the listing.

Lab hosts share this machine's /proc and CPUs, so busy loops started here are the lab host's
load. The window is short (0.3 s) because the machine is shared.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from commands import triage
from commands.report import Report
from ssh_probes.executor import SSHOptions
from ssh_probes.model import ProbeConfig, ProbeResult
from tests.lab.fixtures import CALM, target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.lab

SSH = SSHOptions(connect_timeout_s=3.0)
WINDOW = ProbeConfig(sample_window_s=0.3)
# The test run itself loads the shared CPUs (see test_triage_lab.CALM): only a fault test
# uses the documented CPU thresholds; memory and iowait keep theirs everywhere.


def result(report: Report, probe: str) -> ProbeResult:
    found = [r for r in report.results if r.probe == probe]
    assert len(found) == 1 and found[0].ok, [r.error for r in found]
    return found[0]


@pytest.fixture
def busy_loops() -> Iterator[list[int]]:
    """3 x CPUs Python busy loops, running until the test ends."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(3 * (os.cpu_count() or 1)):
            procs.append(subprocess.Popen(["/usr/bin/python3", "-c", "while True: pass"]))
        time.sleep(0.5)  # all started and runnable
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


async def test_busy_loops_saturate_cpu_and_are_named(
    lab_host: LabHost, busy_loops: list[int]
) -> None:
    opts = triage.TriageOptions(ssh=SSH, probe_config=WINDOW)  # documented thresholds
    report = await triage.run(target_for(lab_host), opts)
    saturated = [f for f in report.findings if f.code == "cpu.saturated"]
    assert len(saturated) == 1, report.findings
    finding = saturated[0]
    # Every busy loop is runnable in both samples, whatever else the machine does.
    assert finding.evidence["run_queue"] >= len(busy_loops)
    assert finding.evidence["run_queue_per_core"] >= 1.0
    assert finding.severity == "critical"
    named = [pid for pid in busy_loops if f"pid {pid} python3 (" in finding.suggestion]
    assert named, (finding.suggestion, busy_loops)
    stat = result(report, "stat").facts
    assert stat["user_pct"] + stat["system_pct"] > 50.0
    assert finding.host == lab_host.name


async def test_quiet_host_reports_cpu_memory_and_processes(lab_host: LabHost) -> None:
    opts = triage.TriageOptions(ssh=SSH, thresholds=CALM, probe_config=WINDOW)
    report = await triage.run(target_for(lab_host), opts)
    assert report.status == "ok", [r.error for r in report.results]
    assert [f.code for f in report.findings if f.severity != "info"] == []
    stat = result(report, "stat").facts
    assert stat["cpus"] == os.cpu_count()
    total = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    assert total and stat["mem_total_kb"] == int(total.group(1))
    assert 0.25 <= stat["window_s"] < 5  # /proc/uptime has 10 ms steps
    procs = result(report, "processes").facts
    assert procs["format"] == "proc"  # read from /proc by awk, no `ps` (issue 18)
    assert procs["total_threads"] >= procs["total_processes"]
    # Same /proc as this machine: about as many processes as we see here.
    here = sum(1 for d in Path("/proc").iterdir() if d.name.isdigit())
    assert abs(procs["total_processes"] - here) <= max(20, here // 4)
    cpu = [p["cpu_pct"] for p in procs["top_cpu"]]
    rss = [p["rss_kb"] for p in procs["top_mem"]]
    assert len(cpu) == len(rss) == 10
    assert cpu == sorted(cpu, reverse=True) and rss == sorted(rss, reverse=True)


def _busybox_awk(lab_host: LabHost) -> None:
    """The host's `awk` is busybox's (as on a busybox host): it reads the /proc listing."""
    shim = lab_host.bin_dir / "awk"
    shim.write_text('#!/bin/sh\nexec busybox awk "$@"\n')
    shim.chmod(0o755)


async def test_busybox_awk_reads_the_listing(lab_host: LabHost) -> None:
    _busybox_awk(lab_host)
    opts = triage.TriageOptions(ssh=SSH, thresholds=CALM, probe_config=WINDOW)
    report = await triage.run(target_for(lab_host), opts)
    procs = result(report, "processes").facts
    assert procs["format"] == "proc"
    assert procs["total_threads"] >= procs["total_processes"] > 10
    rss = [p["rss_kb"] for p in procs["top_mem"]]
    assert len(rss) == 10 and rss == sorted(rss, reverse=True) and rss[-1] > 0
    assert all(p["args"] and p["user"] for p in procs["top_mem"])
    result(report, "stat")


async def test_busybox_awk_still_names_the_busy_loops(
    lab_host: LabHost, busy_loops: list[int]
) -> None:
    _busybox_awk(lab_host)
    opts = triage.TriageOptions(ssh=SSH, probe_config=WINDOW)
    report = await triage.run(target_for(lab_host), opts)
    assert result(report, "processes").facts["format"] == "proc"
    finding = next(f for f in report.findings if f.code == "cpu.saturated")
    assert any(f"pid {pid} python3 (" in finding.suggestion for pid in busy_loops)
