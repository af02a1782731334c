"""`triage` over real SSH with real mounts: an overlay over a full disk, bind mounts, a full tmpfs.

The lab hosts share this machine's mount namespace, so mounts made here are what `df` and
`/proc/mounts` show on the lab host. Other tests may mount things meanwhile: every check
looks only at mounts under this test's own directory.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from commands import triage
from commands.report import Report
from ssh_probes.executor import SSHOptions
from ssh_probes.model import Finding
from tests.lab.fixtures import CALM, target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.lab

# The lab shares the machine's CPUs with the test run: keep CPU findings out of the way.
OPTS = triage.TriageOptions(ssh=SSHOptions(connect_timeout_s=3.0), thresholds=CALM)


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def disk_full_under(report: Report, base: str) -> list[Finding]:
    """disk.full findings whose mount, or any other mount of it, is under `base`."""
    return [
        f
        for f in report.findings
        if f.code == "disk.full"
        and any(m.startswith(base) for m in [f.evidence["mount"], *f.evidence["also_mounted_at"]])
    ]


@pytest.fixture
def docker_like(tmp_path: Path) -> Iterator[str]:
    """A full loop ext4 at BASE/disk, three overlays on it (like containers) and a bind mount."""
    base = f"/mnt/tbl-ov-{os.getpid()}"
    image = tmp_path / "docker.img"
    subprocess.run(["truncate", "-s", "48M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    disk = f"{base}/disk"
    os.makedirs(disk, exist_ok=True)
    mounted: list[str] = []
    try:
        mount("-o", "loop", str(image), disk)
        mounted.append(disk)
        os.makedirs(f"{disk}/volumes/data")
        for i in range(3):
            for sub in ("lower", "upper", "work"):
                os.makedirs(f"{disk}/overlay2/c{i}/{sub}")
            merged = f"{base}/merged{i}"
            os.makedirs(merged)
            layers = f"lowerdir={disk}/overlay2/c{i}/lower,upperdir={disk}/overlay2/c{i}/upper"
            mount("-t", "overlay", "overlay", "-o", f"{layers},workdir={disk}/overlay2/c{i}/work",
                  merged)  # fmt: skip
            mounted.append(merged)
        bind = f"{base}/bind-volume"
        os.makedirs(bind)
        mount("--bind", f"{disk}/volumes/data", bind)
        mounted.append(bind)
        # dd stops at ENOSPC, which is the point.
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={disk}/volumes/data/blob", "bs=1M"], capture_output=True
        )
        yield base
    finally:
        for path in reversed(mounted):
            subprocess.run(["umount", "-l", path], check=False)
        subprocess.run(["rm", "-rf", "--one-file-system", base], check=False)


async def test_overlays_and_bind_mounts_of_a_full_disk_are_one_finding(
    lab_host: LabHost, docker_like: str
) -> None:
    report = await triage.run(target_for(lab_host), OPTS)
    found = disk_full_under(report, docker_like)
    assert len(found) == 1, [(f.title, f.evidence["mount"]) for f in found]
    (finding,) = found
    assert (
        finding.evidence["mount"] == f"{docker_like}/bind-volume"
        or finding.evidence["mount"] == f"{docker_like}/disk"
    )
    assert finding.evidence["kind"] == "local" and finding.evidence["type"] == "ext4"
    others = {finding.evidence["mount"], *finding.evidence["also_mounted_at"]}
    assert others == {f"{docker_like}/disk", f"{docker_like}/bind-volume"}
    assert finding.severity == "critical"
    disk = next(r for r in report.results if r.probe == "disk")
    mounts = {fs["mount"] for fs in disk.facts["filesystems"]}
    assert not {f"{docker_like}/merged{i}" for i in range(3)} & mounts  # overlays dropped
    # du ran once, on the one mount point kept, never into an overlay.
    du = [r.probe for r in report.results if r.probe.startswith("disk_usage:")]
    assert not [p for p in du if "/merged" in p]
    assert f"disk_usage:{finding.evidence['mount']}" in du
    # Pruning is never advised without its check and what it deletes.
    assert "`docker system df`" in finding.suggestion
    assert "deletes stopped containers" in finding.suggestion


@pytest.fixture
def full_tmpfs() -> Iterator[str]:
    """A 1 MiB tmpfs filled to the brim (a full /dev/shm or /run in miniature)."""
    path = f"/mnt/tbl-shm-{os.getpid()}"
    os.makedirs(path, exist_ok=True)
    mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", path)
    try:
        subprocess.run(["dd", "if=/dev/zero", f"of={path}/PostgreSQL.123", "bs=64k"],
                       capture_output=True)  # fmt: skip
        yield path
    finally:
        subprocess.run(["umount", "-l", path], check=False)
        os.rmdir(path)


@pytest.fixture
def read_only_tmpfs() -> Iterator[str]:
    """A tiny tmpfs remounted read-only after filling: a pseudo mount nothing writes to."""
    path = f"/mnt/tbl-rotmp-{os.getpid()}"
    os.makedirs(path, exist_ok=True)
    mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", path)
    subprocess.run(["dd", "if=/dev/zero", f"of={path}/x", "bs=4k"], capture_output=True)
    mount("-o", "remount,ro", path)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], check=False)
        os.rmdir(path)


async def test_full_tmpfs_is_reported_and_read_only_tmpfs_is_not(
    lab_host: LabHost, full_tmpfs: str, read_only_tmpfs: str
) -> None:
    report = await triage.run(target_for(lab_host), OPTS)
    found = disk_full_under(report, full_tmpfs)
    assert len(found) == 1, report.findings
    (finding,) = found
    assert finding.severity == "critical"
    assert finding.evidence["kind"] == "memory"
    assert f"{full_tmpfs} (tmpfs, in memory) is 100% full" in finding.title
    assert "PostgreSQL" in finding.suggestion and f"lsof +D {full_tmpfs}" in finding.suggestion
    assert finding.evidence["biggest"][0]["path"] == f"{full_tmpfs}/PostgreSQL.123"
    assert disk_full_under(report, read_only_tmpfs) == []
