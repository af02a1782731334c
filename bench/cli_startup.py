"""Benchmark: whole `triagebot` processes a person waits for, old code vs new, same run.

Run as root from the repository root:

    .venv/bin/python -m bench.cli_startup [--runs 10] [--old-ref main]

(`dig --help` is timed too: the dig fast path leaves --help to the full CLI.)
The old code is `git archive` of --old-ref unpacked in a temporary directory and run from
there the way its `triagebot` executable ran it (`python -m bot.entry` where the tree has
one, else `python -m bot.cli`; this virtualenv's packages, that tree's code); the new code
is this tree run the way the `triagebot` executable runs it (`python -m bot.entry`). Both use
one SQLite database holding one registered lab host (own PID namespace, real sshd). Cases:
`--help`, a usage error, `triage nosuchhost` (an unknown host: a registry lookup), `triage
HOST --json` over SSH (1 s sample window), and for reference what a person would type
instead: `ssh HOST 'cat /proc/loadavg; df -P /'`. Medians of --runs after one warm-up,
old and new alternating.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import record
from tests.lab.netns import Lab, LabHost

ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str], cwd: Path, env: dict[str, str], ok: set[int]) -> float:
    """Seconds one process takes; its exit status must be one of `ok`."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in ok:
        raise RuntimeError(f"{argv[3:]} exited {proc.returncode}: {proc.stderr[-600:]}")
    return elapsed


def ssh_argv(host: LabHost) -> list[str]:
    """The reference: one ssh running two commands a person would try first."""
    return [
        "ssh", "-F", "/dev/null", "-i", host.key_path, "-p", str(host.port),
        "-o", f"UserKnownHostsFile={host.workdir / 'known_hosts'}",
        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
        f"{host.user}@{host.address}", "cat /proc/loadavg; df -P /",
    ]  # fmt: skip


def main() -> None:
    """Export the old tree, start one lab host, time every case both ways, record, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--old-ref", default="main")
    args = parser.parse_args()
    load0 = record.loadavg()
    old_commit = subprocess.run(
        ["git", "rev-parse", "--short", args.old_ref], cwd=ROOT, capture_output=True,
        text=True, check=True,
    ).stdout.strip()  # fmt: skip
    lab = Lab()
    with tempfile.TemporaryDirectory(prefix="tb-cli-startup-") as tmp:
        old_tree = Path(tmp) / "old"
        old_tree.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.old_ref], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old_tree)], input=archive, check=True)
        env = record.cli_env(TRIAGEBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/cli.db")
        py = sys.executable
        # Each tree as its `triagebot` executable runs it: bot.entry where it has one.
        old_main = "bot.entry" if (old_tree / "bot" / "entry.py").is_file() else "bot.cli"
        trees = {"old": (old_tree, [py, "-m", old_main]), "new": (ROOT, [py, "-m", "bot.entry"])}
        try:
            host = lab.add_host(own_pids=True)
            (host.workdir / "known_hosts").write_text(f"{host.address} {host.host_key_line}\n")
            subprocess.run(
                [py, "-m", "bot.cli", "hosts", "add", host.name, "--address", host.address,
                 "--key", host.key_path, "--host-key", host.host_key_line],
                cwd=ROOT, env=env, check=True, capture_output=True,
            )  # fmt: skip
            cases = {
                "--help": (["--help"], {0}),
                "`dig --help`": (["dig", "--help"], {0}),
                "usage error (`triage` alone)": (["triage"], {2}),
                "`triage nosuchhost`": (["triage", "nosuchhost"], {2}),
                "`triage HOST --json` (1 s window)": (["triage", host.name, "--json"], {0}),
            }
            times: dict[str, dict[str, list[float]]] = {c: {"old": [], "new": []} for c in cases}
            ssh_times: list[float] = []
            for i in range(args.runs + 1):
                for case, (words, ok) in cases.items():
                    for which, (cwd, base) in trees.items():
                        t = timed([*base, *words], cwd, env, ok)
                        if i:  # the first round warms the page cache
                            times[case][which].append(t)
                t = timed(ssh_argv(host), ROOT, env, {0})
                if i:
                    ssh_times.append(t)
        finally:
            lab.close()
    rows = {
        case: {which: record.summary(ts) for which, ts in by.items()} for case, by in times.items()
    }
    rows["`ssh HOST 'cat /proc/loadavg; df -P /'` (reference)"] = {
        "old": record.summary(ssh_times),
        "new": record.summary(ssh_times),
    }
    out = record.append(
        "cli_startup",
        {"runs": args.runs, "old_ref": f"{args.old_ref} ({old_commit})", "rows": rows,
         "loadavg_before": load0, "loadavg_after": record.loadavg()},
    )  # fmt: skip
    table = [
        {"case": c, "old_median_s": r["old"]["median_s"], "new_median_s": r["new"]["median_s"],
         "new_min_s": r["new"]["min_s"], "new_max_s": r["new"]["max_s"]}
        for c, r in rows.items()
    ]  # fmt: skip
    print(record.table(table, ["case", "old_median_s", "new_median_s", "new_min_s", "new_max_s"]))
    print(f"load average {load0:.2f} -> {record.loadavg():.2f}; recorded in {out}")


if __name__ == "__main__":
    main()
