"""`triage HOST compare group=web` over real SSH: five lab hosts, one of them different.

Each host has its own network, PID and mount namespaces (own_pids), a small ext4 loop-mounted
at the same path inside its own mount namespace (with nsenter, so no other host sees it) and a
registered log file. web-2..web-5 listen on 8080 and have empty filesystems and quiet logs;
web-1 does not listen, its filesystem is full and its log has an error burst (written by the
real program in tests/lab/logapps.py). Exactly those are web-1's fleet.outlier findings, and a
healthy sibling compared with the same group has none.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.service import triage_host
from bot.settings import Settings
from bot.store.db import Store
from bot.store.hosts import HostRepo
from commands.hosts import HostSpec
from commands.report import Report
from ssh_probes.model import Finding
from tests.lab.netns import NETNS_DIR, Lab, LabHost

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
NAMES = [f"web-{i}" for i in range(1, 6)]
LISTEN = (
    "import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
    "s.bind(('0.0.0.0',8080));s.listen();time.sleep(900)"
)


def in_mounts(host: LabHost, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run argv in the host's own mount namespace (what its SSH sessions see)."""
    return subprocess.run(
        ["nsenter", f"--target={host.namespace_pid()}", "--mount", *argv],
        capture_output=True, text=True, check=check, timeout=60,
    )  # fmt: skip


class Group:
    """The five lab hosts, their mount point, log files and listeners."""

    def __init__(self, hosts: list[LabHost], mount: str, logs: list[Path]) -> None:
        self.hosts, self.mount, self.logs = hosts, mount, logs
        self.listeners: list[subprocess.Popen[bytes]] = []


@pytest.fixture
def web_group(lab: Lab, tmp_path: Path) -> Iterator[Group]:
    mount = f"/mnt/tbl-cmp-{os.getpid()}"
    os.makedirs(mount, exist_ok=True)
    group = Group([], mount, [tmp_path / f"app-{i}.log" for i in range(5)])
    try:
        for i in range(5):
            host = lab.add_host(own_pids=True)
            group.hosts.append(host)
            image = tmp_path / f"fs-{i}.img"
            subprocess.run(["truncate", "-s", "16M", str(image)], check=True)
            subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
            in_mounts(host, "mount", "-o", "loop", str(image), mount)
            if i == 0:  # dd stops at ENOSPC, which is the point
                in_mounts(host, "dd", "if=/dev/zero", f"of={mount}/fill.bin", "bs=1M", check=False)
                subprocess.run(
                    [sys.executable, "-m", "tests.lab.logapps", "errors", str(group.logs[0]),
                     "--count", "30"],
                    cwd=ROOT, check=True, timeout=60,
                )  # fmt: skip
                continue
            group.logs[i].write_text("INFO started\nINFO serving on :8080\n")
            proc = subprocess.Popen(
                ["nsenter", f"--net={NETNS_DIR / host.netns}", sys.executable, "-c", LISTEN]
            )
            group.listeners.append(proc)
            deadline = time.monotonic() + 10
            while "8080" not in host.exec(["ss", "-H", "-lnt", "sport = :8080"]).stdout:
                assert time.monotonic() < deadline, "listener did not come up"
                time.sleep(0.05)
        yield group
    finally:
        for proc in group.listeners:
            proc.kill()
            proc.wait()
        for host in group.hosts:
            if host.sshd is not None:
                in_mounts(host, "umount", "-l", mount, check=False)
            host.destroy()
        os.rmdir(mount)


async def register(store: Store, group: Group) -> None:
    specs = [
        HostSpec(name=name, address=h.address, port=h.port, user=h.user, key_path=h.key_path,
                 host_keys=(h.host_key_line,), logs=(str(log),), labels={"group": "web"})
        for name, h, log in zip(NAMES, group.hosts, group.logs, strict=True)
    ]  # fmt: skip
    await HostRepo(store).add_many(specs)


def settings(store: Store, **overrides: Any) -> Settings:
    # The lab hosts share this machine's CPUs and disks with the test run (and with other
    # runs): load and I/O wait would judge those, a few ms apart per host, not the hosts
    # (CPU saturation and I/O wait have their own tests; the golden facts cover them here).
    values: dict[str, Any] = {
        "database_url": store.url, "ssh_connect_timeout_s": 3.0, "sample_window_s": 0.3,
        "load_per_core": 1000.0, "load_per_core_critical": 2000.0,
        "iowait_warning_pct": 100.0, "iowait_critical_pct": 100.0,
    }  # fmt: skip
    values.update(overrides)
    return Settings(**values)


def outliers(report: Report) -> list[tuple[str, str]]:
    found = [f for f in report.findings if f.code == "fleet.outlier"]
    return sorted((f.evidence["kind"], f.evidence["key"]) for f in found)


def siblings(report: Report) -> Finding:
    [info] = [f for f in report.findings if f.code == "fleet.siblings"]
    return info


async def test_only_web_1_stands_out_and_a_healthy_sibling_does_not(
    store: Store, web_group: Group
) -> None:
    await register(store, web_group)
    mount = web_group.mount
    report = await triage_host(store, settings(store), ["web-1", "compare", "group=web"])
    assert report.target == "web-1 compare group=web" and report.run_id is not None
    assert outliers(report) == [("disk", mount), ("log", "errors"), ("port", "8080")], [
        (f.code, f.title) for f in report.findings
    ]
    by_kind = {f.evidence["kind"]: f for f in report.findings if f.code == "fleet.outlier"}
    assert by_kind["port"].title.endswith("web-2..web-5: listening; web-1: not listening")
    assert by_kind["disk"].evidence["host_value"] == 100
    assert max(by_kind["disk"].evidence["siblings"].values()) < 10
    assert by_kind["log"].evidence["siblings"] == {n: 0 for n in NAMES[1:]}
    assert "could not connect to database" in by_kind["log"].evidence["groups"][0]["message"]
    info = siblings(report)
    assert info.evidence["compared"] == NAMES[1:] and info.evidence["reused"] == {}
    # The kernel and OS facts compared came over SSH with the load probe.
    load = next(r for r in report.results if r.probe == "load")
    assert load.facts["kernel"] == os.uname().release and load.facts["os"]
    # Its own findings are in the same report: the full filesystem is also disk.full.
    assert any(f.code == "disk.full" and f.evidence["mount"] == mount for f in report.findings)

    # A healthy sibling against the same group: no outlier; the runs just stored are reused.
    healthy = await triage_host(store, settings(store), ["web-2", "compare", "group=web"])
    assert outliers(healthy) == [], [(f.code, f.title) for f in healthy.findings]
    info = siblings(healthy)
    assert sorted(info.evidence["reused"]) == ["web-1", "web-3", "web-4", "web-5"]

    # web-5 goes away; nothing reused (TRIAGEBOT_COMPARE_REUSE_S=0): it is said, not counted.
    web_group.hosts[4].stop_sshd()
    again = await triage_host(
        store, settings(store, compare_reuse_s=0), ["web-1", "compare", "group=web"]
    )
    assert outliers(again) == [("disk", mount), ("log", "errors"), ("port", "8080")]
    info = siblings(again)
    assert info.evidence["compared"] == ["web-2", "web-3", "web-4"]
    assert info.evidence["unreachable"] == {"web-5": "ssh.refused"}
    assert "not counted (unreachable): web-5 (ssh.refused)" in info.title
    assert next(f for f in again.findings if f.evidence.get("kind") == "port").title.endswith(
        "web-2..web-4: listening; web-1: not listening"
    )
