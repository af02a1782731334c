"""Limits over real SSH on lab hosts with their own PIDs and mounts: a listener whose accept
queue is full, a process at its open-files limit, an ext4 filesystem remounted read-only."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from commands import triage
from commands.report import Report
from ssh_probes.executor import SSHOptions
from tests.lab.fixtures import target_for
from tests.lab.netns import Lab, LabHost

pytestmark = pytest.mark.lab

OPTS = triage.TriageOptions(ssh=SSHOptions(connect_timeout_s=3.0), probes=("sockets", "limits"))
PORT = 8080


_STARTED: list[subprocess.Popen[bytes]] = []


@pytest.fixture
def host(lab: Lab) -> Iterator[LabHost]:
    """A host that sees only its own processes (other tests' processes are not its own)."""
    h = lab.add_host(own_pids=True)
    yield h
    h.destroy()  # its PID namespace ends, and every process started in it
    while _STARTED:
        proc = _STARTED.pop()
        proc.kill()
        proc.wait()


def inside(host: LabHost) -> list[str]:
    """Run a command in the host's network, PID and mount namespaces."""
    return ["nsenter", "-t", str(host.namespace_pid()), "-n", "-p", "-m", "--"]


def start(host: LabHost, code: str) -> subprocess.Popen[bytes]:
    """A python process inside the host (ended with the host's PID namespace at teardown)."""
    proc = subprocess.Popen([*inside(host), "/usr/bin/python3", "-c", code])
    _STARTED.append(proc)
    return proc


def serious(report: Report) -> list[str]:
    return sorted(f.code for f in report.findings if f.severity != "info")


def wait_for(check: object, what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} did not happen"
        time.sleep(0.05)


async def test_a_quiet_host_has_no_limit_finding(host: LabHost) -> None:
    report = await triage.run(target_for(host), OPTS)
    assert report.status == "ok", [(r.probe, r.error) for r in report.results if not r.ok]
    assert serious(report) == []


async def test_listener_that_stopped_accepting(host: LabHost) -> None:
    # syncookies=2 (this namespace only): the kernel prints no "SYN flooding" line to the
    # kernel log every engineer's tests share; overflows are counted all the same.
    subprocess.run(
        [*inside(host), "sysctl", "-qw", "net.ipv4.tcp_syncookies=2"], check=True, timeout=10
    )
    start(
        host,
        f"import socket,time;s=socket.socket();s.bind(('0.0.0.0',{PORT}));s.listen(1);"
        "time.sleep(120)",
    )
    wait_for(
        lambda: f":{PORT}" in host.exec(["ss", "-H", "-lnt", f"sport = :{PORT}"]).stdout,
        "listen",
    )
    # A client that keeps connecting through the whole triage (the sample window included).
    start(
        host,
        "import socket,time\nk=[]\nfor _ in range(200):\n c=socket.socket();c.setblocking(False)\n"
        f" try: c.connect(('127.0.0.1',{PORT}))\n except BlockingIOError: pass\n"
        " k.append(c);time.sleep(0.05)\ntime.sleep(60)",
    )
    wait_for(
        lambda: host.exec(["ss", "-H", "-lnt", f"sport = :{PORT}"]).stdout.split()[1] == "2",
        "a full accept queue",
    )
    report = await triage.run(target_for(host), OPTS)
    assert serious(report) == ["tcp.listen_queue_full"]
    [f] = [f for f in report.findings if f.code == "tcp.listen_queue_full"]
    assert f.evidence["full"][0]["port"] == PORT
    assert f.evidence["full"][0]["queued"] >= f.evidence["full"][0]["backlog"] == 1
    assert f.evidence["listen"]["overflows"] > 0
    assert f.severity == "critical"


async def test_process_at_its_open_files_limit(host: LabHost) -> None:
    start(
        host,
        "import resource,time;resource.setrlimit(resource.RLIMIT_NOFILE,(64,64));"
        "f=[open('/dev/null') for _ in range(60)];"
        f"open('/tmp/tb-fd-ready-{host.index}','w').close();time.sleep(120)",
    )
    ready = Path(f"/tmp/tb-fd-ready-{host.index}")
    try:
        wait_for(ready.exists, "60 files open")
        report = await triage.run(target_for(host), OPTS)
    finally:
        ready.unlink(missing_ok=True)
    assert serious(report) == ["fd.exhausted"]
    [f] = [f for f in report.findings if f.code == "fd.exhausted"]
    assert f.evidence["command"] == "python3" and f.evidence["limit"] == 64
    assert f.evidence["open"] >= 63  # the 60 files, stdin, stdout, stderr
    assert f.severity == "critical"


async def test_filesystem_remounted_read_only(host: LabHost, tmp_path: Path) -> None:
    image, mount = tmp_path / "disk.img", tmp_path / "data"
    mount.mkdir()
    subprocess.run(["truncate", "-s", "16M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, timeout=30)
    enter = inside(host)
    # In the host's own mount namespace: nobody else on this machine sees this mount.
    subprocess.run([*enter, "mount", "-o", "loop", str(image), str(mount)], check=True)
    try:
        subprocess.run([*enter, "mount", "-o", "remount,ro", str(mount)], check=True)
        report = await triage.run(target_for(host), OPTS)
    finally:
        subprocess.run([*enter, "umount", str(mount)], check=False, timeout=30)
    assert serious(report) == ["fs.readonly"]
    [f] = [f for f in report.findings if f.code == "fs.readonly"]
    assert f.evidence["mount"] == str(mount) and f.evidence["fstype"] == "ext4"
    assert f.evidence["in_fstab"] is False
    assert f"umount {mount}" in f.suggestion
