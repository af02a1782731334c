"""Top processes by CPU and by memory: procps `ps -eo ... --sort=-pcpu`, or busybox `ps -o`.

ps's %CPU is an average over each process's lifetime: a daemon that began spinning a minute
ago after a month of idling shows ~0%. So the script also reads every process's CPU ticks
(/proc/PID/stat, utime + stime) twice, the sample window apart ("$1"), and ranks by that,
as `top` does; this works under busybox too, whose `ps` has no %CPU or thread count.
The script prints which `ps` answered and its own shell's pid, so the probe's own commands
are left out. Arguments are redacted here, before they become facts, and capped in length.
"""

from __future__ import annotations

from typing import Any

from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, Probe, ProbeConfig
from ssh_probes.redact import redact

TOP = 10
LINE_CAP = 512  # `cut -c` in the script: a java command line can be kilobytes
ARGS_CAP = 200
TICKS = "--- ticks"
PS = "--- ps"
FORMATS = ("procps", "busybox")
# awk drops everything up to the last ") " (the name may hold spaces); then $12, $13 are the
# 14th and 15th fields of /proc/PID/stat: utime and stime in clock ticks. The shell reads
# /proc/uptime itself (issue 18: two processes fewer for the host, the same output).
# Which `ps` the host has is not asked with a `ps -p $$` of its own (issue 18: one process
# fewer): the procps form is tried, and busybox's `ps`, which has no -e nor --sort, refuses
# it (usage on stderr, nothing on stdout, exit 1), so its own form runs instead. The listing's
# marker says which answered (`--- ps procps`); the first line gives the shell's pid (`shell
# PID HZ`), as it gave the flavour (`procps PID HZ`) before. $(ps ...) runs ps as a child of
# the shell (the shell execs it in the substitution's fork), so its own row is left out too.
SCRIPT = (
    "hz=$(getconf CLK_TCK 2>/dev/null || echo 100); "
    f"t() {{ echo '{TICKS}'; read -r u </proc/uptime; echo \"$u\"; "
    "cat /proc/[0-9]*/stat 2>/dev/null | "
    "awk '{p=$1; sub(/^.*\\) /, \"\"); print p, $12 + $13}'; }; "
    'echo "shell $$ $hz"; t; sleep "$1"; t; '
    "if l=$(ps -eo pid=,ppid=,user=,pcpu=,pmem=,rss=,nlwp=,args= --sort=-pcpu 2>/dev/null); "
    f"then echo '{PS} procps'; printf '%s\\n' \"$l\" | cut -c 1-{LINE_CAP}; "
    f"else echo '{PS} busybox'; ps -o pid=,ppid=,user=,rss=,args= | cut -c 1-{LINE_CAP}; fi"
)
_UNITS = {"k": 1, "m": 1024, "g": 1024**2, "t": 1024**3}


def _kb(text: str) -> int:
    """RSS in kB; busybox scales big values (`15m`, `1.2g`)."""
    unit = _UNITS.get(text[-1:].lower())
    return int(float(text[:-1]) * unit) if unit else int(text)


def _command(args: str) -> str:
    """The program's name: `[kthreadd]` -> kthreadd, `/usr/bin/python3 -c` -> python3."""
    if args.startswith("[") and args.endswith("]"):
        return args[1:-1]
    first = args.split(None, 1)[0] if args.strip() else "?"
    # Processes that retitle themselves (`postgres: checkpointer`) keep the name before ':'.
    return first.rsplit("/", 1)[-1].rstrip(":") or first


def _args(raw: str, line: str) -> str:
    if len(line) >= LINE_CAP:
        # `cut` may have split a secret; drop the partial last word before redacting.
        raw = raw.rsplit(None, 1)[0] if len(raw.split()) > 1 else ""
    text = redact(raw.strip())
    return text if len(text) <= ARGS_CAP else text[: ARGS_CAP - 3] + "..."


def _row(line: str, fmt: str) -> dict[str, Any] | None:
    width = 8 if fmt == "procps" else 5  # columns before args
    fields = line.split(None, width - 1)
    if len(fields) < width - 1 or not fields[0].isdigit():
        return None
    raw_args = fields[width - 1] if len(fields) == width else ""
    lifetime: float | None = None
    mem_pct: float | None = None
    threads: int | None = None
    try:
        if fmt == "procps":
            pid, ppid, user, cpu, mem, rss, nlwp = fields[:7]
            lifetime, mem_pct, threads = float(cpu), float(mem), int(nlwp)
        else:
            pid, ppid, user, rss = fields[:4]
        rss_kb = _kb(rss)
    except ValueError:
        return None  # one odd row must not cost the whole listing
    return {
        "pid": int(pid),
        "ppid": int(ppid),
        "user": user,
        "cpu_pct": 0.0,
        "cpu_pct_lifetime": lifetime,
        "mem_pct": mem_pct,
        "rss_kb": rss_kb,
        "threads": threads,
        "command": _command(raw_args),
        "args": _args(raw_args, line),
    }


def _ticks(block: str) -> tuple[float, dict[int, int]]:
    lines = block.strip().splitlines()
    if not lines or len(lines[0].split()) != 2:
        raise ValueError(f"tick sample does not start with /proc/uptime: {block[:80]!r}")
    ticks: dict[int, int] = {}
    for line in lines[1:]:
        pid, _, n = line.partition(" ")
        if pid.isdigit() and n.strip().isdigit():
            ticks[int(pid)] = int(n)
    return float(lines[0].split()[0]), ticks


def parse(result: CommandResult) -> Facts:
    """Top processes by recent %CPU and by RSS, plus totals; the probe's own left out."""
    head_line, _, rest = result.stdout.partition("\n")
    head = head_line.split()
    if len(head) != 3 or head[0] not in (*FORMATS, "shell") or not head[1].isdigit():
        raise ValueError(f"expected the ps format marker, got {result.stdout[:80]!r}")
    fmt, own, hz = head[0], int(head[1]), int(head[2]) if head[2].isdigit() else 100
    samples, sep, listing = rest.partition(PS)
    if fmt == "shell":  # the flavour is on the listing's marker: `--- ps procps`
        fmt, _, listing = listing.partition("\n")
        fmt = fmt.strip()
        if fmt not in FORMATS:
            raise ValueError(f"expected the ps format after {PS!r}, got {fmt[:40]!r}")
    blocks = [b for b in samples.split(TICKS) if b.strip()]
    if not sep or len(blocks) != 2:
        raise ValueError("expected two tick samples and the ps listing")
    (t0, before), (t1, after) = (_ticks(b) for b in blocks)
    window = round(t1 - t0, 2)
    procs = [p for p in (_row(line, fmt) for line in listing.splitlines()) if p is not None]
    procs = [p for p in procs if own not in (p["pid"], p["ppid"])]
    if not procs:
        raise ValueError("ps listed no processes")
    for p in procs:
        del p["ppid"]
        if window > 0 and p["pid"] in after:
            # A process born during the window has no first sample: all its ticks are new.
            used = max(0, after[p["pid"]] - before.get(p["pid"], 0))
            p["cpu_pct"] = round(100.0 * used / (hz * window), 1)
    by_cpu = sorted(procs, key=lambda p: (-p["cpu_pct"], p["pid"]))
    by_mem = sorted((p for p in procs if p["rss_kb"] > 0), key=lambda p: (-p["rss_kb"], p["pid"]))
    return {
        "format": fmt,
        "window_s": window,
        "total_processes": len(procs),
        "total_threads": sum(p["threads"] for p in procs) if fmt == "procps" else None,
        "top_cpu": by_cpu[:TOP],
        "top_mem": by_mem[:TOP],
    }


def probe(config: ProbeConfig) -> Probe:
    """The processes probe, measuring CPU over `config.sample_window_s` seconds."""
    window = config.window_s
    return Probe(
        name="processes",
        area="processes",
        command=("sh", "-c", SCRIPT, "sh", f"{window:g}"),
        parse=parse,
        timeout_s=max(QUICK_LIMIT_S, window + 10.0),
    )
