"""`triage` over real SSH with registered log files, kernel log and systemd probes.

Each log is written by a real program (tests/lab/logapps.py: Python `logging`, real refused
connections, real read timeouts against a silent server on loopback, a real `curl -m`). The
lab hosts share this filesystem, so a file under tmp_path is the host's log file; they run no
systemd and no journald, which must read as info findings, never as a partial report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from commands import triage
from commands.report import Report
from ssh_probes.executor import SSHOptions
from ssh_probes.model import Finding, ProbeConfig
from ssh_probes.rules import Thresholds
from tests.lab.fixtures import target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
PROBES = ("kernel", "services", "logs")
OPTS = triage.TriageOptions(
    ssh=SSHOptions(connect_timeout_s=3.0),
    thresholds=Thresholds(),
    probes=PROBES,
    probe_config=ProbeConfig(sample_window_s=0.3),
)


def write_log(kind: str, path: Path, count: int) -> None:
    """Run the real log-writing program to completion."""
    subprocess.run(
        [sys.executable, "-m", "tests.lab.logapps", kind, str(path), "--count", str(count)],
        cwd=ROOT,
        check=True,
        timeout=60,
    )


def only(report: Report, code: str) -> Finding:
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, [(f.code, f.title) for f in report.findings]
    return found[0]


@pytest.mark.parametrize(("count", "severity"), [(12, "warning"), (50, "critical")])
async def test_error_burst_in_registered_file(
    lab_host: LabHost, tmp_path: Path, count: int, severity: str
) -> None:
    log = tmp_path / "orders.log"
    write_log("errors", log, count)
    report = await triage.run(target_for(lab_host, logs=(str(log),)), OPTS)
    assert report.status == "ok", [r.error for r in report.results]
    finding = only(report, "log.errors")
    assert finding.severity == severity
    top = finding.evidence["groups"][0]
    assert top["count"] == count
    assert top["source"] == str(log)
    assert "could not connect to database" in top["example"]
    assert finding.evidence["only_timeouts"] is False
    # The one traceback (logging.exception) is what the suggestion sends the reader to.
    assert "Read the first stack trace" in finding.suggestion and "KeyError" in finding.suggestion
    assert str(log) in finding.suggestion
    # The password in the logged URL never reaches the report.
    assert "s3cret-pw" not in str([f.as_dict() for f in report.findings])
    assert "s3cret-pw" not in str([r.as_dict() for r in report.results])


async def test_timeouts_only_suggest_network_or_dependency(
    lab_host: LabHost, tmp_path: Path
) -> None:
    log = tmp_path / "gateway.log"
    write_log("timeouts", log, 6)
    report = await triage.run(target_for(lab_host, logs=(str(log),)), OPTS)
    assert report.status == "ok", [r.error for r in report.results]
    finding = only(report, "log.errors")
    assert finding.severity == "warning"
    assert finding.evidence["only_timeouts"] is True
    assert finding.evidence["stack_traces"] == 0
    assert finding.evidence["groups"][0]["count"] == 6
    assert finding.evidence["groups"][0]["source"] == str(log)
    for words in ("network", "dependency", "pool", "correlation id"):
        assert words in finding.suggestion


async def test_missing_sources_are_info_and_not_partial(lab_host: LabHost, tmp_path: Path) -> None:
    absent = tmp_path / "never-written.log"
    lab_host.machine_kernel_log()
    report = await triage.run(target_for(lab_host, logs=(str(absent),)), OPTS)
    assert report.status == "ok", [r.error for r in report.results]
    assert all(r.ok for r in report.results)
    facts = {r.probe: r.facts for r in report.results}
    assert facts["services"]["available"] is False  # no systemd in the lab
    assert facts["logs"]["journal"]["available"] is False  # no journald either
    # Root over SSH reads the kernel ring buffer: a real source, not "unavailable".
    assert facts["kernel"]["source"] in ("dmesg-T", "dmesg", "journal")
    infos = sorted(f.title for f in report.findings if f.code == "source.unavailable")
    assert [t.split(":")[0] for t in infos] == ["logs", "logs", "services"]
    assert f"logs: {absent}: missing" in infos
    assert all(f.severity == "info" for f in report.findings if f.code != "mem.oom_kill")
