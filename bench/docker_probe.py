"""Benchmark: the docker probe and its follow-up against the lab's real dockerd, over SSH.

Run as root from the repository root:

    .venv/bin/python -m bench.docker_probe [--runs 7] [--scene seed|near-limit|...]

The lab's own dockerd (tests/lab/dockerd.py) runs a scene of tests/lab/docker_scenes.py
(default: the seed's two containers on two networks; `near-limit` has a container with a
memory limit, so the probe also runs `docker stats`); a lab host reaches it through the
real docker CLI. Per run: `triage` with only the docker probe (connect, docker probe,
docker_detail follow-up, rules), and the durations the runner recorded for each probe. For
comparison, the bare CLI calls the probe makes, run here one after the other: `docker ps -a`,
`docker inspect` of every container and `docker stats --no-stream` (which the probe runs only
for running containers with a memory limit, in the background while inspect runs).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time
from dataclasses import replace

from bench.record import append, busy, loadavg, summary, table
from commands import triage
from ssh_probes.executor import SSHOptions
from tests.lab import docker_scenes
from tests.lab.dockerd import Dockerd
from tests.lab.fixtures import target_for
from tests.lab.netns import Lab


def _cli(dockerd: Dockerd, *args: str) -> float:
    started = time.monotonic()
    subprocess.run(dockerd.argv(*args), capture_output=True, check=True, timeout=30)
    return time.monotonic() - started


async def measure(runs: int, scene: str) -> dict[str, list[float]]:
    """Seconds per run for each measured step."""
    lab, dockerd = Lab(), Dockerd()
    times: dict[str, list[float]] = {}
    try:
        dockerd.start()
        host = docker_scenes.docker_host(lab, dockerd)
        docker_scenes.SCENES[scene](dockerd)
        opts = replace(
            triage.TriageOptions(ssh=SSHOptions(connect_timeout_s=5.0)), probes=("docker",)
        )
        ids = dockerd.docker("ps", "-aq", "--no-trunc").split()
        for i in range(runs + 1):  # the first run warms up
            started = time.monotonic()
            report = await triage.run(target_for(host), opts)
            wall = time.monotonic() - started
            steps = {
                "triage (docker only), in-process": wall,
                **{f"probe {r.probe}": r.duration_ms / 1000 for r in report.results},
                "docker ps -a (CLI here)": _cli(dockerd, "ps", "-a", "--no-trunc"),
                "docker inspect (CLI here)": _cli(dockerd, "inspect", *ids),
                "docker stats --no-stream (CLI here)": _cli(dockerd, "stats", "--no-stream"),
            }
            if i:
                for step, seconds in steps.items():
                    times.setdefault(step, []).append(seconds)
    finally:
        dockerd.close()
        lab.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scene", default="seed", choices=sorted(docker_scenes.SCENES))
    args = parser.parse_args()
    load_before = loadavg()
    times = asyncio.run(measure(args.runs, args.scene))
    rows = [{"work": step, **summary(t)} for step, t in times.items()]
    out = append(
        "docker_probe",
        {
            "runs": args.runs,
            "scene": args.scene,
            "load_before": load_before,
            "load_after": loadavg(),
            "busy": busy(),
            "rows": rows,
            "median_total_s": statistics.median(times["triage (docker only), in-process"]),
        },
    )
    print(table(rows, ["work", "median_s", "min_s", "max_s"]))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
