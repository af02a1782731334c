"""The realistic-host corpus: busy, healthy hosts give no warning; each fault gives its code.

Every host is a set of golden outputs (tests/fixtures/outputs/<probe>/<case>.txt) parsed by
the probes' own parsers and judged by evaluate() with the documented thresholds. Which
captures are real and which were built by hand from real formats: see the README of each
fixture folder.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from commands.knowledge.catalog import CATALOG
from ssh_probes.model import CommandResult, Finding, HostTarget, ProbeResult
from ssh_probes.probes import logwords
from ssh_probes.probes.logwords import is_sshd_noise
from ssh_probes.rules import Thresholds, evaluate, over_threshold
from tests.fixtures.capture import OUTPUTS, probe_for

HOST = HostTarget(name="prod-1", address="198.18.0.9")

HEALTHY: dict[str, dict[str, str]] = {
    "docker-host-overlay-and-nfs": {
        "disk": "docker-overlay-nfs",
        "stat": "docker-host",
        "load": "docker-host",
    },
    "nginx-proxy-thousands-of-time-wait": {
        "connections": "nginx-proxy",
        "stat": "nginx-proxy",
    },
    "database-big-page-cache": {
        "stat": "database-page-cache",
        "load": "database",
        "disk": "database-host",
        "connections": "database-host",
    },
    "zfs-arc-holds-the-memory": {"stat": "zfs-arc"},
    "internet-facing-sshd-noise": {"logs": "internet-facing-sshd-noise"},
    "right-after-a-cpu-burst": {"load": "after-burst", "stat": "after-burst"},
    "alpine-busybox": {
        "disk": "alpine-busybox",
        "stat": "alpine-vm",
        "load": "alpine-vm",
        "processes": "busybox",
    },
    "systemd-journal-output": {"logs": "systemd-journal-output"},
    "real-journald-service-stdout": {"logs": "journald-stdout-healthy"},
    "few-swap-pages-in-one-window": {"stat": "few-swap-pages"},
}

# One capture per code this corpus covers -> exactly that (code, severity).
FAULTS: dict[str, tuple[dict[str, str], tuple[str, str]]] = {
    "busy-loops": ({"stat": "cpu-saturated"}, ("cpu.saturated", "critical")),
    "io-bound-load": (
        {"stat": "io-bound-load", "load": "io-bound"},
        ("cpu.iowait_high", "warning"),
    ),
    "steal": ({"stat": "steal"}, ("cpu.steal_high", "warning")),
    "nfs-hang": ({"stat": "nfs-hang", "load": "io-bound"}, ("proc.blocked_io", "warning")),
    "mem-pressure": ({"stat": "mem-pressure"}, ("mem.pressure", "critical")),
    "swapping": ({"stat": "swapping"}, ("mem.swapping", "warning")),
    "nfs-full": ({"disk": "nfs-full"}, ("disk.full", "critical")),
    "dev-shm-full": ({"disk": "dev-shm-full"}, ("disk.full", "critical")),
    "upstream-port-exhaustion": (
        {"connections": "upstream-port-exhaustion"},
        ("tcp.time_wait_high", "critical"),
    ),
    "close-wait-postgres": (
        {"connections": "close-wait-postgres"},
        ("tcp.close_wait_high", "warning"),
    ),
    "service-stdout-errors": ({"logs": "service-stdout-errors"}, ("log.errors", "warning")),
    "real-journald-stdout-errors": ({"logs": "journald-stdout-errors"}, ("log.errors", "warning")),
}


def results(cases: dict[str, str]) -> list[ProbeResult]:
    """Each golden parsed by its probe's own parser, as triage would."""
    out = []
    for probe, case in cases.items():
        text = (OUTPUTS / probe / f"{case}.txt").read_text()
        facts = probe_for(probe).parse(CommandResult(text, "", 0, 0.01))
        out.append(ProbeResult(probe, HOST.name, True, facts=facts))
    return out


def serious(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in findings if f.severity != "info"]


def test_the_corpus_has_eight_kinds_of_host() -> None:
    assert len(HEALTHY) >= 8


@pytest.mark.parametrize("host", list(HEALTHY), ids=list(HEALTHY))
def test_busy_healthy_host_gives_no_warning(host: str) -> None:
    findings = evaluate(results(HEALTHY[host]), HOST, Thresholds())
    assert serious(findings) == [], [f.title for f in findings]


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_each_fault_gives_exactly_its_code(fault: str) -> None:
    cases, expected = FAULTS[fault]
    findings = evaluate(results(cases), HOST, Thresholds())
    assert serious(findings) == [expected], [f.title for f in findings]
    assert expected[0] in CATALOG


def facts(probe: str, case: str) -> dict[str, object]:
    return results({probe: case})[0].facts


def test_docker_host_counts_one_disk_and_names_nfs_without_du() -> None:
    fs = {f["mount"]: f for f in facts("disk", "docker-overlay-nfs")["filesystems"]}  # type: ignore[union-attr]
    assert not [m for m in fs if "overlay2" in m or m.startswith("/snap/")]
    assert fs["/mnt/media"]["kind"] == "network"
    assert fs["/dev/shm"]["kind"] == "memory" and fs["/run"]["kind"] == "memory"
    # The full share is reported as a network filesystem and no du walks it.
    nfs = facts("disk", "nfs-full")
    assert over_threshold(nfs, Thresholds()) == ([], [])
    (finding,) = evaluate(results({"disk": "nfs-full"}), HOST)
    assert finding.evidence["kind"] == "network"
    assert "/mnt/media (network share nfs4) is 96% full" in finding.title
    assert "du -x" not in finding.suggestion and "do not run du" in finding.suggestion


def test_database_bind_mount_is_one_filesystem() -> None:
    fs = facts("disk", "database-host")["filesystems"]
    data = [f for f in fs if f["filesystem"] == "/dev/nvme1n1"]  # type: ignore[index,union-attr]
    assert [f["mount"] for f in data] == ["/var/lib/postgresql"]  # type: ignore[index]
    assert data[0]["also_mounted_at"] == ["/srv/pg-backup-staging"]  # type: ignore[index]


def test_zfs_arc_is_counted_as_available() -> None:
    stat = facts("stat", "zfs-arc")
    # 2.4 GiB MemAvailable + (46 - 2) GiB of ARC above its floor, of 64 GiB.
    assert stat["zfs_arc_reclaimable_kb"] == 44 * 1024 * 1024
    assert stat["mem_available_kb"] == 2516582 + 44 * 1024 * 1024
    assert stat["mem_available_pct"] == 72.5


def test_time_wait_names_the_upstream_not_client_ports() -> None:
    (finding,) = evaluate(results({"connections": "upstream-port-exhaustion"}), HOST)
    assert finding.evidence["upstream"] == {"address": "10.0.2.15", "port": 8080}
    assert "24,000 TIME-WAIT towards 10.0.2.15:8080: 85% of the 28,232" in finding.title
    assert "keepalive" in finding.suggestion
    proxy = facts("connections", "nginx-proxy")["time_wait"]
    assert proxy["count"] == 5600  # type: ignore[index]


def test_close_wait_on_the_database_is_not_a_blind_restart() -> None:
    (finding,) = evaluate(results({"connections": "close-wait-postgres"}), HOST)
    assert "Do not restart postgres (pid 31000) blindly" in finding.suggestion
    assert "HTTP response body" not in finding.suggestion
    assert "pg_terminate_backend" in finding.suggestion


def test_sshd_noise_is_counted_apart() -> None:
    logs = facts("logs", "internet-facing-sshd-noise")
    assert logs["noise_total"] == 800
    assert logs["errors_total"] == 0 and logs["only_timeouts"] is False
    (finding,) = evaluate(results({"logs": "service-stdout-errors"}), HOST)
    assert "timeouts only" not in finding.title
    assert "Not counted: 100 line(s) of sshd scanner noise" in finding.detail


@pytest.mark.parametrize(
    ("case", "source", "count"),
    [
        ("service-stdout-errors", "journal:orders.service", 12),
        ("journald-stdout-errors", "journal:inventory-sync", 9),
    ],
)
def test_suggested_grep_finds_what_the_detector_counted(
    tmp_path: Path, case: str, source: str, count: int
) -> None:
    """A journal group found by content: the suggested pipeline, run by real grep on the same
    messages of that source, selects as many lines as the detector counted."""
    (finding,) = evaluate(results({"logs": case}), HOST)
    group = finding.evidence["groups"][0]
    assert group["count"] == count and group["source"] == source
    assert "-p 4..7" in finding.suggestion and "grep -v -i -E" in finding.suggestion
    pipeline = re.search(r"`journalctl [^`]*? \| (grep [^`]*)`", finding.suggestion)
    assert pipeline is not None and pipeline.group(1) == logwords.grep_command()
    text = (OUTPUTS / "logs" / f"{case}.txt").read_text()
    name = source.removeprefix("journal:")
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    messages = [
        e["MESSAGE"]
        for e in entries
        if name in (e.get("_SYSTEMD_UNIT"), e.get("SYSLOG_IDENTIFIER")) and e["PRIORITY"] == "6"
    ]
    path = tmp_path / "unit.log"
    path.write_text("\n".join(messages) + "\n")
    out = subprocess.run(
        ["sh", "-c", logwords.grep_command(str(path))], capture_output=True, text=True, check=False
    )
    assert len(out.stdout.splitlines()) == count
    assert sum(logwords.is_error(m) for m in messages) == count


def test_memory_pressure_advice_drains_first_and_spares_the_database() -> None:
    (finding,) = evaluate(results({"stat": "mem-pressure"}), HOST)
    assert "drain its traffic" in finding.suggestion
    assert "If the offender is the database, do not restart it" in finding.suggestion


def test_disk_advice_checks_before_pruning() -> None:
    findings = evaluate(results({"disk": "dev-shm-full"}), HOST)
    (shm,) = findings
    assert "PostgreSQL" in shm.suggestion and "lsof +D /dev/shm" in shm.suggestion
    local = [f for f in evaluate(results({"disk": "docker-overlay-nfs"}), HOST, Thresholds(
        disk_warning_pct=60, disk_critical_pct=99))]  # fmt: skip
    (root,) = [f for f in local if f.evidence["mount"] == "/"]
    text = root.suggestion
    assert text.index("`docker system df`") < text.index("`docker system prune`")
    assert "deletes stopped containers, unused networks, dangling images and build cache" in text
    assert "`--volumes` deletes data" in text


@pytest.mark.parametrize(
    ("source", "line", "noise"),
    [
        ("sshd", "sshd[812]: send_error: write: Broken pipe", True),
        ("/var/log/auth.log", "sshd[9]: error: kex_exchange_identification: Connection closed", 1),
        ("nginx", "upstream prematurely closed: Broken pipe while sending to client", False),
        ("sshd", "sshd[1]: error: Bind to port 22 on 0.0.0.0 failed: Address already in use", 0),
    ],
    ids=["sshd-broken-pipe", "kex", "nginx-broken-pipe", "sshd-bind"],
)
def test_sshd_noise_only_from_sshd(source: str, line: str, noise: bool) -> None:
    """A client that drops mid-write is scanner noise in sshd's log, an incident elsewhere."""
    assert is_sshd_noise(source, line) is bool(noise)
