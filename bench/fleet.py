"""Benchmark: triagebot's full triage of 1/10/50 lab hosts vs Ansible ad-hoc and parallel ssh.

Run as root from the repository root (Ansible in .cache/venv-ansible, see bench/README.md):

    .venv/bin/python -m bench.fleet [--sizes 1 10 50] [--runs 5] [--ansible-modules shell raw]
        [--own-pids]

For each fleet size, the median wall time (after one warm-up) of: `commands.triage.run` with
default options on every host at once, in-process (`triagebot`); the whole `triagebot triage
group=... --json` process a person runs, the hosts registered by `hosts import` of an Ansible
inventory (`triagebot_cli`: start-up, triage, store, JSON); `ansible lab -m shell|raw` running
the seed's routine (bench.fleet_tools.SEED_ROUTINE; forks = hosts, pipelining on); one
OpenSSH `ssh` per host running the same, all at once; and the floors none of them can beat
on this lab, each script run in each host's namespace with no SSH at all: the seed's routine
(`commands_only_seed`) and triagebot's own probe commands (`commands_only_own`). Then, once
at the largest size, where triagebot's time goes (connect, probes, rules) and the resident
memory of a child process that runs the triage. Lab hosts share this machine's cores and, unless
--own-pids, its process table: then every host's `ps` and `ss -p` walk every lab host's
processes, a cost that grows with the square of the fleet and that no real fleet pays.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench import record
from bench.fleet_tools import SEED_ROUTINE, Tools, probe_commands, remote_script
from commands import triage
from ssh_probes.executor import executor_for
from ssh_probes.model import HostTarget, ProbeConfig
from ssh_probes.probes import DEFAULT_PROBES, build
from ssh_probes.rules import evaluate
from ssh_probes.runner import run_probes
from tests.lab.fixtures import target_for
from tests.lab.netns import Lab, LabHost

# What root's ~/.bashrc on this machine does (pyenv), run for every command sshd starts.
HEAVY_BASHRC = """\
export PYENV_ROOT=/root/.pyenv
export PATH="$PATH:$PYENV_ROOT/bin"
eval "$(pyenv init -)"
"""
REFERENCE = {  # measured before the project existed (issue 8), 1 s CPU sample
    1: {"ansible_s": 2.1, "ssh_s": 1.4},
    10: {"ansible_s": 4.0, "ssh_s": 2.5},
    50: {"ansible_s": 19.5, "ssh_s": 9.2},
}


async def triage_all(targets: list[HostTarget]) -> float:
    """Default triage of every target at once; seconds (raises unless every report is ok)."""
    t0 = time.perf_counter()
    reports = await asyncio.gather(*(triage.run(t) for t in targets))
    elapsed = time.perf_counter() - t0
    bad = [r for r in reports if r.status != "ok"]
    if bad:
        raise RuntimeError(f"{len(bad)} host(s) not ok, e.g. {bad[0].target}: {bad[0].status}")
    return elapsed


async def profile(targets: list[HostTarget]) -> dict[str, Any]:
    """triage.run's steps timed separately over the whole fleet: connect, probes, rules."""
    opts = triage.TriageOptions()
    probes = [build(n, opts.probe_config) for n in opts.probes]
    executors = [executor_for(t, opts.ssh) for t in targets]

    async def timed_connect(ex: Any) -> float:
        t = time.perf_counter()
        await ex.connect()
        return time.perf_counter() - t

    cpu0, t0 = time.process_time(), time.perf_counter()
    connects = await asyncio.gather(*(timed_connect(e) for e in executors))
    t1 = time.perf_counter()
    results = await asyncio.gather(
        *(run_probes(e, probes, t) for e, t in zip(executors, targets, strict=True))
    )
    t2 = time.perf_counter()
    for target, res in zip(targets, results, strict=True):
        list(evaluate(res, target, opts.thresholds))
    t3 = time.perf_counter()
    await asyncio.gather(*(e.close() for e in executors))
    t4, cpu1 = time.perf_counter(), time.process_time()
    per_probe = {
        name: statistics.median(r.duration_ms for res in results for r in res if r.probe == name)
        for name in opts.probes
    }
    return {
        "hosts": len(targets),
        "connect_all_s": t1 - t0,
        "connect_median_s": statistics.median(connects),
        "connect_max_s": max(connects),
        "probes_all_s": t2 - t1,
        "rules_s": t3 - t2,
        "close_s": t4 - t3,
        "total_s": t4 - t0,
        "bench_process_cpu_s": cpu1 - cpu0,
        "probe_median_ms": per_probe,
    }


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def memory_child(path: str) -> None:
    """In a fresh process: RSS idle (imports done), then VmHWM over one fleet triage."""
    targets = [HostTarget(**{**t, "host_keys": tuple(t["host_keys"])}) for t in json.loads(
        Path(path).read_text()
    )]  # fmt: skip
    idle = _status_kb("VmRSS")
    elapsed = asyncio.run(triage_all(targets))
    print(json.dumps({
        "idle_rss_kb": idle, "peak_hwm_kb": _status_kb("VmHWM"),
        "after_rss_kb": _status_kb("VmRSS"), "hosts": len(targets), "elapsed_s": elapsed,
    }))  # fmt: skip


def memory(targets: list[HostTarget]) -> dict[str, Any]:
    """Run memory_child on `targets` in a new Python process; its figures."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump([{**t.__dict__, "labels": dict(t.labels)} for t in targets], fh)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "bench.fleet", "--memory-child", fh.name],
            capture_output=True, text=True, check=True, timeout=120,
        ).stdout  # fmt: skip
    finally:
        os.unlink(fh.name)
    return dict(json.loads(out.strip().splitlines()[-1]))


def registry(n: int, hosts: list[LabHost], tools: Tools) -> dict[str, str]:
    """A SQLite registry of the first n hosts (label group=nN), made by `hosts import` of an
    Ansible inventory as a person would; the environment the CLI runs with."""
    inventory = tools.dir / f"n{n}.ini"
    inventory.write_text(
        f"[n{n}]\n"
        + "".join(f"{h.name} ansible_host={h.address} ansible_port={h.port}\n" for h in hosts[:n])
    )
    env = record.cli_env(TRIAGEBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tools.dir}/n{n}.db")
    subprocess.run(
        [sys.executable, "-m", "bot.entry", "hosts", "import", "ansible", str(inventory),
         "--known-hosts", str(tools.known_hosts), "--key", tools.key],
        env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return env


def cli_once(n: int, env: dict[str, str]) -> float:
    """`triagebot triage group=nN --json` as a whole process; seconds (every host ok)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bot.entry", "triage", f"group=n{n}", "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"triagebot CLI exited {proc.returncode}: {proc.stderr[-800:]}")
    data = json.loads(proc.stdout)
    reports = data if isinstance(data, list) else [data]
    bad = [r["target"] for r in reports if r.get("status") != "ok"]
    if bad or len(reports) != n:
        raise RuntimeError(f"triagebot CLI: {len(reports)} reports, not ok: {bad[:5]}")
    return elapsed


def measure(n: int, hosts: list[LabHost], tools: Tools, args: argparse.Namespace) -> dict[str, Any]:
    """Every tool on the first n hosts: warm-up, then --runs timed runs each."""
    targets = [target_for(h) for h in hosts[:n]]
    seed = remote_script(list(SEED_ROUTINE))
    own_commands = probe_commands(targets[0], ProbeConfig())
    own = remote_script(own_commands)
    steps, probes = len(SEED_ROUTINE), len(own_commands)
    env = registry(n, hosts, tools)
    work: dict[str, Callable[[], float]] = {
        "triagebot": lambda: asyncio.run(triage_all(targets)),
        "triagebot_cli": lambda: cli_once(n, env),
        "ssh": lambda: tools.parallel_ssh(hosts[:n], seed, steps),
        "commands_only_seed": lambda: tools.commands_only(hosts[:n], seed, steps),
        "commands_only_own": lambda: tools.commands_only(hosts[:n], own, probes),
    }
    for module in args.ansible_modules:
        work[f"ansible_{module}"] = partial(tools.ansible, hosts[:n], seed, module, steps)
    row: dict[str, Any] = {"hosts": n, "runs": args.runs}
    for name, once in work.items():
        once()  # warm-up: page cache, sshd forks, Python byte code
        times = [once() for _ in range(args.runs)]
        row[name] = record.summary(times)
        print(f"  {n:>3} hosts  {name:16} median {row[name]['median_s']:.3f}s", flush=True)
    ours = row["triagebot_cli"]["median_s"]  # the whole process a person waits for
    for name in work:
        if name not in ("triagebot", "triagebot_cli") and not name.startswith("commands_only"):
            row[f"ratio_{name}"] = row[name]["median_s"] / ours
    row["reference"] = REFERENCE.get(n)
    return row


def main() -> None:
    """Parse flags, build the lab, measure, record, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ansible-modules", nargs="*", default=["shell", "raw"])
    parser.add_argument(
        "--own-pids",
        action="store_true",
        help="give each lab host its own PID namespace and /proc (as separate machines have)",
    )
    parser.add_argument(
        "--heavy-shell",
        action="store_true",
        help="give each lab host's root a .bashrc that runs this machine's real `pyenv init`"
        " (a heavy shell start-up, as on many real servers)",
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    load0, busy0 = record.loadavg(), record.busy()
    lab = Lab()
    tools: Tools | None = None
    try:
        hosts = [lab.add_host(own_pids=args.own_pids) for _ in range(max(args.sizes))]
        if args.heavy_shell:
            for host in hosts:
                (host.workdir / "home" / ".bashrc").write_text(HEAVY_BASHRC)
        tools = Tools(hosts)
        rows = [measure(n, hosts, tools, args) for n in args.sizes]
        targets = [target_for(h) for h in hosts]
        prof = asyncio.run(profile(targets))
        mem = memory(targets)
    finally:
        if tools is not None:
            tools.close()
        lab.close()
    out = record.append(
        "fleet",
        {
            "parameters": {"sizes": args.sizes, "runs": args.runs, "sample_window_s": 1.0,
                           "own_pids": args.own_pids, "heavy_shell": args.heavy_shell,
                           "probes": list(DEFAULT_PROBES), "ansible_modules": args.ansible_modules,
                           "seed_routine": list(SEED_ROUTINE)},
            "loadavg_before": load0, "loadavg_after": record.loadavg(), "busy_before": busy0,
            "rows": rows, "profile": prof, "memory": mem,
        },
    )  # fmt: skip
    flat = []
    for r in rows:
        flat.append({"hosts": r["hosts"], **{
            k: r[k]["median_s"] for k in r if isinstance(r[k], dict) and "median_s" in r[k]
        }, **{k: r[k] for k in r if k.startswith("ratio_")}})  # fmt: skip
    print(record.table(flat, list(flat[0])))
    print(json.dumps({"profile": prof, "memory": mem}, indent=1))
    print(f"recorded in {out}")


if __name__ == "__main__":
    main()
