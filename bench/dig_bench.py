"""Benchmark: `dig` (8 types, 2 resolvers, NS check) vs 18 sequential `dig` runs, on real BIND.

Run as root from the repository root:

    .venv/bin/python -m bench.dig_bench [--runs 20] [--old-ref main]

The DNS lab of tests/lab/bind.py (named processes on 127.x addresses on lo) serves
`split.test` from two name servers. The question is www.split.test asked of the recursive
resolver and of ns1: triagebot's `commands.dig.run` in-process and the whole `triagebot dig`
process, vs the 18 `dig` runs a person would type (8 types at each of the 2 resolvers, then
SOA at each of the zone's 2 name servers). Per-query times are compared with dig's own
"Query time" for the same question to the same server.

The whole process is run the way the `triagebot` executable runs it (`python -m bot.entry`).
With --old-ref, the same process of that revision (`git archive` in a temporary directory,
this virtualenv's packages, its own database) is timed in the same run, alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import record
from commands import dig
from tests.lab import bind

NAME, ZONE = "www.split.test", "split.test"
QUERY_TIME = re.compile(r";; Query time: (\d+) msec")
CLI_BUDGET_S = 0.350
ORIGINAL_FREE_PORT = bind._free_port
ROOT = Path(__file__).resolve().parents[1]


def _port(addresses: list[str]) -> int:
    """Port 53 when free on the lab addresses, so `triagebot dig` (no port setting for the
    NS check) asks the name servers where they are; otherwise a random free port."""
    held = []
    try:
        for addr in addresses:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                held.append(s)
                s.bind((addr, 53))
        return 53
    except OSError:
        return ORIGINAL_FREE_PORT(addresses)
    finally:
        for s in held:
            s.close()


def dig_questions(lab: bind.BindLab) -> list[tuple[str, str, str, bool]]:
    """(server address, name, type, recursive) of the 18 questions."""
    qs = [
        (lab[role].address, NAME, t, True)
        for role in ("resolver", "ns1")
        for t in dig.DEFAULT_TYPES
    ]
    return qs + [(lab[role].address, ZONE, "SOA", False) for role in ("ns1", "ns2")]


def sequential_dig(lab: bind.BindLab) -> tuple[float, list[float], dict[str, int]]:
    """Run the 18 dig processes one after another: (total s, each s, query time by key)."""
    each, qtimes = [], {}
    t0 = time.perf_counter()
    for server, name, rdtype, recursive in dig_questions(lab):
        argv = ["dig", f"@{server}", "-p", str(lab.port), "+tries=1", "+time=2", name, rdtype]
        if not recursive:
            argv.insert(1, "+norecurse")
        t = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=10).stdout
        each.append(time.perf_counter() - t)
        found = QUERY_TIME.search(out)
        if found and recursive:
            qtimes[f"{rdtype}@{server}:{lab.port}"] = int(found.group(1))
    return time.perf_counter() - t0, each, qtimes


def in_process(lab: bind.BindLab) -> tuple[float, dict[str, float]]:
    """One full dig.run: (seconds, our query time in ms by 'TYPE@server:port')."""
    request = dig.DigRequest(NAME, NAME, resolvers=(lab["resolver"].server, lab["ns1"].server))
    opts = dig.DigOptions(dns_port=lab.port)
    t0 = time.perf_counter()
    report = asyncio.run(dig.run(request, opts))
    elapsed = time.perf_counter() - t0
    times = {}
    for r in report.results:
        if r.probe.startswith("dig:") and r.facts.get("kind") == "query":
            if r.facts.get("error"):
                raise RuntimeError(f"{r.probe}: {r.facts['error']}")
            times[f"{r.facts['type']}@{r.facts['resolver']}"] = float(r.facts["time_ms"])
        if r.probe == "dig:ns-check" and r.facts.get("error"):
            raise RuntimeError(f"NS check failed: {r.facts['error']}")
    return elapsed, times


def cli_once(lab: bind.BindLab, env: dict[str, str], tree: Path = ROOT) -> float:
    """The whole `triagebot dig NAME @resolver @ns1 --json` process of `tree`; seconds."""
    servers = [f"@{lab[r].address}:{lab.port}" for r in ("resolver", "ns1")]
    module = "bot.entry" if (tree / "bot" / "entry.py").is_file() else "bot.cli"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", module, "dig", NAME, *servers, "--json"],
        cwd=tree, env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    try:
        ok = json.loads(proc.stdout)["command"] == "dig"
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise RuntimeError(f"triagebot dig failed ({proc.returncode}): {proc.stderr[-800:]}")
    return elapsed


def old_tree(ref: str, into: Path) -> str:
    """`git archive` of `ref` unpacked in `into`; its short commit."""
    commit = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()  # fmt: skip
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
    into.mkdir()
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return commit


def measure(lab: bind.BindLab, runs: int, old: Path | None = None) -> dict[str, Any]:
    """Warm-up, then --runs of each; the figures (the old tree's CLI too, when given)."""
    sequential_dig(lab)
    in_process(lab)
    seq = [sequential_dig(lab) for _ in range(runs)]
    ours = [in_process(lab) for _ in range(runs)]
    cli, cli_old = [], []
    with tempfile.TemporaryDirectory() as tmp:
        env = record.cli_env(TRIAGEBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/b.db")
        env_old = {**env, "TRIAGEBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/old.db"}
        for i in range(runs + 1):  # the first round creates the databases (a warm-up)
            t = cli_once(lab, env)
            if i:
                cli.append(t)
            if old is not None:
                t = cli_once(lab, env_old, old)
                if i:
                    cli_old.append(t)
    slowest = statistics.median(max(t.values()) for _, t in ours)
    keys = sorted(ours[0][1])
    per_query = {
        k: {
            "ours_ms": statistics.median(t[k] for _, t in ours),
            "dig_ms": statistics.median(q[k] for _, _, q in seq if k in q),
        }
        for k in keys
    }
    in_s = statistics.median(e for e, _ in ours)
    seq_s = statistics.median(t for t, _, _ in seq)
    old_figures = {
        "cli_process_old": record.summary(cli_old),
        "ratio_sequential_dig_to_cli_old": seq_s / statistics.median(cli_old),
    } if cli_old else {}  # fmt: skip
    return {
        "in_process": record.summary([e for e, _ in ours]),
        "cli_process": record.summary(cli),
        "sequential_dig": record.summary([total for total, _, _ in seq]),
        "one_dig_process_s": statistics.median(x for _, each, _ in seq for x in each),
        "slowest_query_ms": slowest,
        "budget_in_process_s": 1.2 * slowest / 1000 + 0.020,
        "budget_cli_s": CLI_BUDGET_S,
        "ratio_sequential_dig_to_in_process": statistics.median(t for t, _, _ in seq) / in_s,
        "ratio_sequential_dig_to_cli": statistics.median(t for t, _, _ in seq)
        / statistics.median(cli),
        "per_query": per_query,
        **old_figures,
    }


def main() -> None:
    """Start the DNS lab, measure, clean up, record, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--old-ref", help="also time this revision's CLI process (e.g. main)")
    args = parser.parse_args()
    load0, busy0 = record.loadavg(), record.busy()
    bind._free_port = _port  # named on port 53 when possible (see _port)
    base = bind.pick_base()
    aliases = bind.add_aliases([base + str(n) for n in bind.ROLES.values()])
    lab: bind.BindLab | None = None
    held: list[socket.socket] = []
    try:
        with tempfile.TemporaryDirectory(prefix="tbl-bench-bind-") as tmp:
            old = Path(tmp) / "old" if args.old_ref else None
            old_commit = old_tree(args.old_ref, old) if args.old_ref and old else None
            lab, held = bind.start(Path(tmp), base)
            bind.wait_ready(lab)
            figures = measure(lab, args.runs, old)
            port = lab.port
            bind.stop(lab, held)
            lab = None
    finally:
        if lab is not None:
            bind.stop(lab, held)
        bind.remove_aliases(aliases)
    out = record.append(
        "dig_bench",
        {
            "parameters": {"runs": args.runs, "name": NAME, "types": list(dig.DEFAULT_TYPES),
                           "resolvers": ["resolver", "ns1"], "port": port,
                           "old_ref": f"{args.old_ref} ({old_commit})" if args.old_ref else None},
            "loadavg_before": load0, "loadavg_after": record.loadavg(), "busy_before": busy0,
            **figures,
        },
    )  # fmt: skip
    rows = [
        {"work": k, **{m: figures[k][m] for m in ("median_s", "min_s", "max_s")}}
        for k in ("in_process", "cli_process", "cli_process_old", "sequential_dig")
        if k in figures
    ]
    print(record.table(rows, ["work", "median_s", "min_s", "max_s"]))
    print(
        f"slowest query {figures['slowest_query_ms']:.2f} ms -> in-process budget "
        f"{figures['budget_in_process_s'] * 1000:.1f} ms; CLI budget 350 ms; one dig process "
        f"{figures['one_dig_process_s'] * 1000:.1f} ms; sequential/in-process "
        f"{figures['ratio_sequential_dig_to_in_process']:.1f}x, sequential/CLI "
        f"{figures['ratio_sequential_dig_to_cli']:.2f}x"
        + (f" (old CLI {figures['ratio_sequential_dig_to_cli_old']:.2f}x)" if args.old_ref else "")
    )
    qrows = [{"query": k, **v} for k, v in figures["per_query"].items()]
    print(record.table(qrows, ["query", "ours_ms", "dig_ms"]))
    print(f"recorded in {out}")


if __name__ == "__main__":
    main()
