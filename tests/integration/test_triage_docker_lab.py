"""`triage` over real SSH with the docker probe, against a real Docker daemon.

The daemon (tests/lab/dockerd.py: its own socket, roots and bridges) runs the seed's setups
(tests/lab/docker_scenes.py); the lab host reaches it through the real `docker` CLI (a
context in its HOME names the daemon's socket) and resolves names through its own
/etc/hosts. Documents of other real hosts are tested from golden files (tests/unit).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from commands import triage
from commands.report import Report
from ssh_probes.executor import SSHOptions
from ssh_probes.model import Facts, Finding, ProbeConfig
from tests.lab import docker_scenes
from tests.lab.dockerd import Dockerd, remove_stale
from tests.lab.dockerd import missing as dockerd_missing
from tests.lab.fixtures import CALM, target_for
from tests.lab.netns import STATE_DIR, Lab, LabHost
from tests.unavailable import unavailable

pytestmark = pytest.mark.lab

# The lab hosts share this machine's CPUs with the test run: keep the load probe quiet.
OPTS = triage.TriageOptions(
    ssh=SSHOptions(connect_timeout_s=3.0),
    thresholds=CALM,
    probe_config=ProbeConfig(sample_window_s=0.3),
)


def docker_result(report: Report) -> Facts:
    [result] = [r for r in report.results if r.probe == "docker"]
    assert result.ok, result.error
    return result.facts


async def test_host_without_docker_daemon_is_info_and_ok(lab_host: LabHost) -> None:
    report = await triage.run(target_for(lab_host, labels={"talks": "a:b"}), OPTS)
    assert report.status == "ok", [r.error for r in report.results if not r.ok]
    facts = docker_result(report)
    assert facts["available"] is False
    # This machine has the docker client but no daemon; a machine without it says so.
    assert facts["why"] in ("Docker daemon not reachable", "docker not installed")
    unavailable = [f for f in report.findings if f.evidence.get("probe") == "docker"]
    assert [(f.code, f.severity) for f in unavailable] == [("source.unavailable", "info")]
    assert not [f for f in report.findings if f.code.startswith("docker.")]


# --- the real daemon -----------------------------------------------------------------------

DOCKER_ONLY = replace(OPTS, probes=("docker",))


@pytest.fixture(scope="module")
def dockerd() -> Iterator[Dockerd]:
    """This module's own dockerd; skipped without root or docker.io (failed under CI)."""
    why = dockerd_missing()
    if why:
        unavailable(why, under_ci=f"Docker lab unavailable under CI: {why}")
    daemon = Dockerd()
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.close()


@pytest.fixture
def docker_host(lab: Lab, dockerd: Dockerd) -> Iterator[LabHost]:
    """A lab host with its own /etc/hosts (the seed's Cloudflare records) and the daemon."""
    host = docker_scenes.docker_host(lab, dockerd)
    try:
        yield host
    finally:
        dockerd.reset()
        host.destroy()


def by_code(report: Report, code: str) -> list[Finding]:
    return [f for f in report.findings if f.code == code]


async def test_seed_setup_gives_hairpin_isolation_and_the_node_timeout(
    docker_host: LabHost, dockerd: Dockerd
) -> None:
    docker_scenes.seed(dockerd)
    report = await triage.run(target_for(docker_host), DOCKER_ONLY)
    assert report.status == "ok", [r.error for r in report.results if not r.ok]
    [hairpin] = by_code(report, "docker.hairpin")
    assert hairpin.severity == "warning"
    assert hairpin.evidence["from"] == "dashboard"
    assert hairpin.evidence["to"] == "supabase-kong"
    assert hairpin.evidence["variable"] == "SUPABASE_URL"
    assert hairpin.evidence["provider"] == "Cloudflare"
    assert hairpin.evidence["addresses"][:2] == ["104.21.65.134", "172.67.63.161"]
    assert "docker network connect supabase-net dashboard" in hairpin.suggestion
    assert "SUPABASE_URL=`http://supabase-kong:8000`" in hairpin.suggestion
    assert "DNS-only" in hairpin.suggestion
    check = "docker exec dashboard wget -qO- --timeout=5 http://supabase-kong:8000/"
    assert check in hairpin.suggestion
    [isolated] = by_code(report, "docker.network_isolated")
    assert (isolated.evidence["from"], isolated.evidence["to"]) == ("dashboard", "supabase-kong")
    assert isolated.evidence["shared"] == []
    assert "docker network connect supabase-net dashboard" in isolated.suggestion
    [node] = by_code(report, "log.happy_eyeballs_timeout")
    assert node.evidence["container"] == "dashboard"
    assert node.evidence["count"] == 2
    assert "NODE_OPTIONS=--dns-result-order=ipv4first" in node.suggestion
    assert "(has IPv6)" in node.detail  # the Cloudflare AAAA of the name
    # Nothing secret became a fact: the anon key is in the container's environment only.
    facts = json.dumps([r.facts for r in report.results])
    assert docker_scenes.ANON_KEY not in facts
    assert not [r.probe for r in report.results if docker_scenes.ANON_KEY in r.raw]
    # The fix the finding gives works on the real daemon: "bad address" before, kong after.
    before = subprocess.run(
        dockerd.argv("exec", "dashboard", "timeout", "10", "wget", "-qO-", "http://supabase-kong:8000/"),
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert "bad address" in before.stderr
    dockerd.docker("network", "connect", "supabase-net", "dashboard")
    after = dockerd.docker("exec", "dashboard", "timeout", "10", "wget", "-qO-",
                           "http://supabase-kong:8000/")  # fmt: skip
    assert after.strip() == "kong"
    again = await triage.run(target_for(docker_host), DOCKER_ONLY)
    assert not by_code(again, "docker.network_isolated")
    [still] = by_code(again, "docker.hairpin")  # SUPABASE_URL still names the public host
    assert "they share supabase-net" in still.suggestion


async def test_same_network_internal_url_gives_no_warning(
    docker_host: LabHost, dockerd: Dockerd
) -> None:
    docker_scenes.one_network(dockerd)
    report = await triage.run(target_for(docker_host), DOCKER_ONLY)
    assert report.status == "ok", [r.error for r in report.results if not r.ok]
    assert [c["name"] for c in docker_result(report)["containers"]] == [
        "dashboard",
        "supabase-kong",
    ]
    # Only the docker probe ran: every finding of the report is about these containers.
    loud = [(f.code, f.title) for f in report.findings if f.severity != "info"]
    assert loud == []


async def test_oom_killed_container_restarting_is_critical_with_its_real_limit(
    docker_host: LabHost, dockerd: Dockerd
) -> None:
    docker_scenes.oom(dockerd)
    report = await triage.run(target_for(docker_host), DOCKER_ONLY)
    [f] = by_code(report, "docker.restarting")
    assert f.severity == "critical"
    assert f.evidence["container"] == "cache-warmer"
    assert f.evidence["oom_killed"] is True
    assert f.evidence["memory_limit"] == 8 * 1048576
    assert "killed for lack of memory (OOMKilled)" in f.title
    assert "Its memory limit is 8 MiB" in f.suggestion
    assert "docker update --memory 16m --memory-swap 16m cache-warmer" in f.suggestion
    # Its own words, read with `docker logs --tail 50` by the follow-up probe.
    assert "warming cache" in f.detail
    detail = [r for r in report.results if r.probe == "docker_detail"]
    assert detail and detail[0].ok, detail


async def test_oom_killed_container_stopped_today_is_still_critical(
    docker_host: LabHost, dockerd: Dockerd
) -> None:
    docker_scenes.oom(dockerd)
    dockerd.docker("update", "--restart", "no", "cache-warmer")
    dockerd.docker("stop", "cache-warmer")
    report = await triage.run(target_for(docker_host), DOCKER_ONLY)
    [f] = by_code(report, "docker.restarting")
    assert f.evidence["state"] == "exited"
    # FinishedAt is seconds old: it counts. Aged FinishedAt: tests/unit/test_docker_lab_goldens.py
    assert f.severity == "critical"


async def test_container_near_its_memory_limit(docker_host: LabHost, dockerd: Dockerd) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc to build the lab's memory hog")
    docker_scenes.near_limit(dockerd)
    report = await triage.run(target_for(docker_host), DOCKER_ONLY)
    [f] = by_code(report, "docker.memory_near_limit")
    assert f.severity == "warning"
    assert f.evidence["container"] == "search-cache"
    assert f.evidence["memory_limit"] == 40 * 1048576
    # docker stats: 37 MiB held plus busybox's few pages, under the 40 MiB limit.
    assert 37 * 1048576 <= f.evidence["memory_usage"] < 40 * 1048576
    assert "of its 40 MiB memory limit" in f.title
    assert "docker update --memory 80m --memory-swap 80m search-cache" in f.suggestion
    assert not by_code(report, "docker.restarting")


CRASHING_RUN = """
import os, signal, sys
sys.path.insert(0, {root!r})
from tests.lab.dockerd import Dockerd, remove_stale
d = Dockerd()
d.start()
d.network("left-behind")
d.docker("run", "-d", "--name", "orphan", "tbl-busybox:lab", "sleep", "600")
print(os.getpid(), d.root, d.socket, d.proc.pid, d.subnet_base, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no close(), no atexit: a crashed test run
"""


def _mentions(text: str) -> list[Path]:
    """Processes whose command line mentions `text`."""
    found = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in path.read_bytes():
                found.append(path)
        except OSError:
            continue
    return found


def test_a_crashed_run_leaves_nothing_after_the_next_lab_starts(dockerd: Dockerd) -> None:
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", CRASHING_RUN.format(root=str(repo))],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    owner, root, sock, daemon, subnet = proc.stdout.split()
    claim = STATE_DIR / f"docker-{subnet}"
    assert claim.read_text() == owner
    bridge = f"tbld{owner}x0"
    links = ["ip", "-o", "link", "show", "type", "bridge"]
    assert Path(root).is_dir() and Path(sock).exists() and Path(f"/proc/{daemon}").exists()
    assert bridge in subprocess.run(links, capture_output=True, text=True).stdout
    remove_stale()  # what the next Dockerd() does first
    assert not Path(root).exists()
    assert not Path(sock).exists()
    assert not Path(f"/proc/{daemon}").exists()
    assert _mentions(root) == []  # its containerd and shims too
    assert not claim.exists()
    assert bridge not in subprocess.run(links, capture_output=True, text=True).stdout
    # This module's own daemon was left alone.
    assert dockerd.docker("version", "--format", "{{.Server.Version}}").strip()
