"""Benchmark: `triage` against lab hosts over real SSH (network namespaces + OpenSSH sshd).

Run as root from the repository root:

    .venv/bin/python -m bench.triage_lab [--hosts 1 10] [--runs 7]

Two figures per fleet size: the in-process triage of every host at once (connect, probes,
rules; what a Slack command waits for) and, for one host, the whole `triagebot triage HOST
--json` process (start-up, database, SSH, storage). Medians over --runs; figures are written
to bench/results/triage_lab.json and printed as a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from commands import triage
from ssh_probes.probes import DEFAULT_PROBES
from ssh_probes.rules import Thresholds
from tests.lab.fixtures import target_for
from tests.lab.netns import Lab, LabHost

OUT = Path(__file__).parent / "results" / "triage_lab.json"


async def fleet_once(hosts: list[LabHost], probes: tuple[str, ...]) -> float:
    t0 = time.perf_counter()
    opts = triage.TriageOptions(thresholds=Thresholds(), probes=probes)
    reports = await asyncio.gather(*(triage.run(target_for(h), opts) for h in hosts))
    elapsed = time.perf_counter() - t0
    bad = [r for r in reports if r.status != "ok"]
    if bad:
        raise SystemExit(f"a lab host did not answer cleanly: {bad[0]}")
    return elapsed


def cli_once(host: LabHost, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "triage", host.name, "--json"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--probes", default="", help="comma-separated probe names (default: all of triage's)"
    )
    args = parser.parse_args()
    probes = tuple(args.probes.split(",")) if args.probes else DEFAULT_PROBES
    lab = Lab()
    rows = []
    try:
        hosts = [lab.add_host() for _ in range(max(args.hosts))]
        for n in args.hosts:
            asyncio.run(fleet_once(hosts[:n], probes))  # warm-up: page cache, sshd forks
            times = [asyncio.run(fleet_once(hosts[:n], probes)) for _ in range(args.runs)]
            rows.append(
                {
                    "work": f"triage {n} host(s), in-process",
                    "hosts": n,
                    "median_s": statistics.median(times),
                    "min_s": min(times),
                    "max_s": max(times),
                    "runs": args.runs,
                }
            )
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "TRIAGEBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/b.db"}
            h = hosts[0]
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bot.cli",
                    "hosts",
                    "add",
                    h.name,
                    "--address",
                    h.address,
                    "--key",
                    h.key_path,
                    "--host-key",
                    h.host_key_line,
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            cli_once(h, env)
            times = [cli_once(h, env) for _ in range(args.runs)]
            rows.append(
                {
                    "work": "`triagebot triage HOST --json` process, 1 host",
                    "hosts": 1,
                    "median_s": statistics.median(times),
                    "min_s": min(times),
                    "max_s": max(times),
                    "runs": args.runs,
                }
            )
    finally:
        lab.close()
    record = {
        "benchmark": "triage_lab",
        "probes": list(probes),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.python_version()}",
        "rows": rows,
    }
    OUT.parent.mkdir(exist_ok=True)
    history = json.loads(OUT.read_text()) if OUT.exists() else []
    OUT.write_text(json.dumps([*history, record], indent=2) + "\n")
    print(f"{'work':52} {'median':>8} {'min':>8} {'max':>8}")
    for r in rows:
        print(f"{r['work']:52} {r['median_s']:8.3f} {r['min_s']:8.3f} {r['max_s']:8.3f}")


if __name__ == "__main__":
    main()
