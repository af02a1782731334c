"""`triage` over real SSH against lab hosts (network namespaces with OpenSSH sshd)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from commands import triage
from commands.report import Report
from ssh_probes.executor import SSHOptions
from tests.lab.fixtures import CALM, target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.lab

# The lab hosts share this machine's two CPUs with the test run itself, so the load probe
# would report the test suite's own load; CPU saturation has its own fault test.
OPTS = triage.TriageOptions(ssh=SSHOptions(connect_timeout_s=3.0), thresholds=CALM)


def serious(report: Report) -> list[str]:
    return [f.code for f in report.findings if f.severity != "info"]


@pytest.fixture
def listener(lab_host: LabHost) -> Iterator[subprocess.Popen[bytes]]:
    """A TCP listener on 127.0.0.1:8080 inside the host's namespace."""
    proc = subprocess.Popen(
        [
            "nsenter",
            f"--net=/var/run/netns/{lab_host.netns}",
            "/usr/bin/python3",
            "-c",
            "import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,"
            "socket.SO_REUSEADDR,1);s.bind(('127.0.0.1',8080));s.listen();time.sleep(600)",
        ],
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        out = lab_host.exec(["ss", "-H", "-lnt", "sport = :8080"])
        if "8080" in out.stdout:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("listener did not come up")
    yield proc
    proc.kill()
    proc.wait()


async def test_healthy_host_has_no_warning(lab_host: LabHost) -> None:
    report = await triage.run(target_for(lab_host, expect_ports=(22,)), OPTS)
    assert report.status == "ok", [(r.probe, r.error) for r in report.results if not r.ok]
    assert serious(report) == []
    assert {r.probe for r in report.results} >= {"load", "disk", "sockets"}
    ports = {
        s["port"] for r in report.results if r.probe == "sockets" for s in r.facts["listeners"]
    }
    assert 22 in ports


async def test_expected_port_missing(lab_host: LabHost) -> None:
    report = await triage.run(target_for(lab_host, expect_ports=(22, 5432)), OPTS)
    assert serious(report) == ["port.not_listening"]
    finding = report.findings[0]
    assert finding.evidence["port"] == 5432
    assert finding.host == lab_host.name


async def test_loopback_only_listener(lab_host: LabHost, listener: object) -> None:
    report = await triage.run(target_for(lab_host, expect_ports=(22, 8080)), OPTS)
    assert serious(report) == ["port.loopback_only"]
    assert report.findings[0].evidence["port"] == 8080


async def test_sshd_stopped_is_refused_fast(lab_host: LabHost) -> None:
    lab_host.stop_sshd()
    t0 = time.monotonic()
    report = await triage.run(target_for(lab_host), OPTS)
    assert time.monotonic() - t0 < 2.5
    assert report.status == "failed"
    assert [f.code for f in report.findings] == ["ssh.refused"]
    assert report.results == ()


async def test_replaced_host_key_is_refused_and_nothing_runs(lab_host: LabHost) -> None:
    target = target_for(lab_host)
    lab_host.replace_host_key()
    marker = "/tmp/triagebot-lab-marker"
    lab_host.exec(["rm", "-f", marker])
    report = await triage.run(target, OPTS)
    assert report.status == "failed"
    assert [f.code for f in report.findings] == ["ssh.hostkey_mismatch"]
    assert report.results == ()
    assert "Accepted publickey" not in lab_host.sshd_log()


async def test_wrong_user_key_is_auth_failed(lab_host: LabHost, tmp_path: object) -> None:
    import asyncssh

    wrong = asyncssh.generate_private_key("ssh-ed25519")
    path = f"{tmp_path}/wrong_key"
    wrong.write_private_key(path)
    report = await triage.run(replace(target_for(lab_host), key_path=path), OPTS)
    assert report.status == "failed"
    assert [f.code for f in report.findings] == ["ssh.auth_failed"]


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[str]:
    """A loop-mounted ext4 filled to 100%, visible to the lab hosts (they share our mounts)."""
    image, mount = tmp_path / "full.img", f"/mnt/tbl-full-{os.getpid()}"
    subprocess.run(["truncate", "-s", "48M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    os.makedirs(mount, exist_ok=True)
    subprocess.run(["mount", "-o", "loop", str(image), mount], check=True)
    try:
        os.makedirs(f"{mount}/var/log")
        os.makedirs(f"{mount}/srv")
        # dd stops at ENOSPC, which is the point.
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={mount}/srv/a.bin", "bs=1M", "count=8"], capture_output=True
        )
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={mount}/var/log/app.log", "bs=1M"], capture_output=True
        )
        yield mount
    finally:
        subprocess.run(["umount", "-l", mount], check=False)
        os.rmdir(mount)


async def test_full_disk_over_ssh_names_the_biggest_directory(
    lab_host: LabHost, full_disk: str
) -> None:
    report = await triage.run(target_for(lab_host), OPTS)
    full = [
        f for f in report.findings if f.code == "disk.full" and f.evidence["mount"] == full_disk
    ]
    assert len(full) == 1, report.findings
    assert full[0].severity == "critical"
    assert full[0].evidence["biggest"][0]["path"] == f"{full_disk}/var"
    assert f"{full_disk}/var " in full[0].suggestion
    assert any(r.probe == f"disk_usage:{full_disk}" and r.ok for r in report.results)


@pytest.fixture
def inodes_exhausted(tmp_path: Path) -> Iterator[str]:
    """A loop-mounted ext4 made with 256 inodes, all used by small files in one directory."""
    image, mount = tmp_path / "inodes.img", f"/mnt/tbl-inodes-{os.getpid()}"
    subprocess.run(["truncate", "-s", "16M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-N", "256", str(image)], check=True)
    os.makedirs(mount, exist_ok=True)
    subprocess.run(["mount", "-o", "loop", str(image), mount], check=True)
    try:
        os.makedirs(f"{mount}/sessions")
        for i in range(1000):  # stops at ENOSPC: no inode left, with plenty of space
            try:
                Path(f"{mount}/sessions/s{i}").touch()
            except OSError:
                break
        yield mount
    finally:
        subprocess.run(["umount", "-l", mount], check=False)
        os.rmdir(mount)


async def test_inodes_exhausted_over_ssh_names_the_directory(
    lab_host: LabHost, inodes_exhausted: str
) -> None:
    report = await triage.run(target_for(lab_host), OPTS)
    found = [
        f
        for f in report.findings
        if f.code == "disk.inodes_full" and f.evidence["mount"] == inodes_exhausted
    ]
    assert len(found) == 1, report.findings
    assert found[0].severity == "critical" and found[0].evidence["ifree"] == 0
    assert found[0].evidence["biggest"][0]["path"] == f"{inodes_exhausted}/sessions"
    # Space is not the problem here: no disk.full for this filesystem.
    assert not [
        f for f in report.findings
        if f.code == "disk.full" and f.evidence["mount"] == inodes_exhausted
    ]  # fmt: skip
