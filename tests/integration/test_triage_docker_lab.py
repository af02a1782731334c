"""`triage` over real SSH with the docker probe: a `docker` shim replaying real captures.

No Docker engine runs here, so the shim in the lab host's bin directory (first on PATH for
its SSH sessions) prints, for the exact commands the probe runs, the real documents of the
golden file `tests/fixtures/outputs/docker/three-hosts-merged.txt` (sources in its README).
Any other docker command is logged and fails with status 99.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from commands import triage
from commands.report import Report
from ssh_probes.executor import SSHOptions
from ssh_probes.model import Facts, ProbeConfig
from ssh_probes.rules import Thresholds
from tests.fixtures.capture import OUTPUTS
from tests.lab.fixtures import target_for
from tests.lab.netns import LabHost

pytestmark = pytest.mark.lab

# The lab hosts share this machine's CPUs with the test run: keep the load probe quiet.
OPTS = triage.TriageOptions(
    ssh=SSHOptions(connect_timeout_s=3.0),
    thresholds=Thresholds(load_per_core=1000.0, load_per_core_critical=2000.0),
    probe_config=ProbeConfig(sample_window_s=0.3),
)
CAPTURE = OUTPUTS / "docker" / "three-hosts-merged.txt"

SHIM = """#!/bin/sh
d={data}
case "$*" in
  {ps_q}) cat "$d/ids" ;;
  {ps_json}) cat "$d/ps" ;;
  {inspect}) cat "$d/inspect" ;;
  *) echo "docker $*" >> "$d/unexpected"; echo "docker shim: unexpected: docker $*" >&2; exit 99 ;;
esac
"""


def sections(text: str) -> dict[str, str]:
    """The golden file's @@ps and @@inspect bodies."""
    ps, _, rest = text.removeprefix("@@ps\n").partition("@@inspect\n")
    inspect, _, _end = rest.partition("@@end ")
    return {"ps": ps, "inspect": inspect}


@pytest.fixture
def docker_shim(lab_host: LabHost) -> Iterator[Path]:
    """A `docker` in the host's bin directory that replays the real captures."""
    data = lab_host.workdir / "docker-data"
    data.mkdir()
    parts = sections(CAPTURE.read_text())
    ids = [doc["Id"] for doc in json.loads(parts["inspect"])]
    (data / "ids").write_text("".join(f"{i}\n" for i in ids))
    (data / "ps").write_text(parts["ps"])
    (data / "inspect").write_text(parts["inspect"])
    shim = lab_host.bin_dir / "docker"
    # `case "$*"` sees the arguments joined by spaces: each pattern is one quoted word.
    shim.write_text(
        SHIM.format(
            data=shlex.quote(str(data)),
            ps_q=shlex.quote("ps -aq --no-trunc"),
            ps_json=shlex.quote("ps -a --no-trunc --format {{json .}}"),
            inspect=shlex.quote("inspect " + " ".join(ids)),
        )
    )
    shim.chmod(0o755)
    try:
        yield data
    finally:
        shim.unlink(missing_ok=True)


def docker_result(report: Report) -> Facts:
    [result] = [r for r in report.results if r.probe == "docker"]
    assert result.ok, result.error
    return result.facts


async def test_shim_replay_finds_isolated_pairs_and_missing_container(
    lab_host: LabHost, docker_shim: Path
) -> None:
    talks = "web1:cluster01-elastic,Teladoc-app:web1,dashboard:cluster01-elastic"
    report = await triage.run(target_for(lab_host, labels={"talks": talks}), OPTS)
    assert not (docker_shim / "unexpected").exists(), (docker_shim / "unexpected").read_text()
    facts = docker_result(report)
    assert [c["name"] for c in facts["containers"]] == [
        "Teladoc-app",
        "cluster01-elastic",
        "web1",
    ]
    docker = {f.evidence["pair"]: f for f in report.findings if f.code.startswith("docker.")}
    assert set(docker) == {
        "web1:cluster01-elastic",
        "Teladoc-app:web1",
        "dashboard:cluster01-elastic",
    }
    assert all(f.code == "docker.network_isolated" for f in docker.values())
    assert "docker network connect data-mesh-network web1" in (
        docker["web1:cluster01-elastic"].suggestion
    )
    assert docker["dashboard:cluster01-elastic"].evidence["missing"] == ["dashboard"]
    # Every captured container runs with RestartCount 0 and no OOM kill.
    assert not [f for f in report.findings if f.code == "docker.restarting"]
    assert all(f.host == lab_host.name for f in docker.values())


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
