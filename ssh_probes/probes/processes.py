"""Top processes by CPU and by memory, read from /proc with no `ps` (proc_top).

A lifetime %CPU (what `ps` shows) hides a daemon that began spinning a minute ago after a
month of idling. So the script reads every process's CPU ticks (/proc/PID/stat, utime +
stime) twice, the sample window apart ("$1"), and ranks by that, as `top` does. The script
prints its own shell's pid; its own processes are left out. Arguments are redacted here,
before they become facts, and capped in length. Captures made before issue 18 end in a
procps or busybox `ps` listing (`--- ps`); the parser still reads them.
"""

from __future__ import annotations

import re
from typing import Any

from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, Probe, ProbeConfig
from ssh_probes.probes.proc_top import (
    AWK,
    LINE_CAP,
    PROC,
    TICKS_AWK,
    command_name,
    rows,
    shown_args,
)

TOP = 10
TICKS = "--- ticks"
PS = "--- ps"  # the listing of captures made before the /proc listing: procps or busybox ps
PS_FORMATS = ("procps", "busybox")
# The first sample (proc_top.TICKS_AWK: each process's utime + stime in clock ticks) is kept
# in "$s": the second sample's awk (proc_top.AWK) reads it back to rank the processes by CPU
# over the window, and reads the rest of the listing from /proc (no `ps`: issue 18). `own`
# is the shell's pid: it, its children and theirs are the probe's own processes.
SCRIPT = (
    "hz=$(getconf CLK_TCK 2>/dev/null || echo 100); "
    'echo "shell $$ $hz"; '
    's=$(read -r u </proc/uptime; echo "$u"; cat /proc/[0-9]*/stat 2>/dev/null | '
    f"awk '{TICKS_AWK}'); "
    f"printf '%s\\n' '{TICKS}' \"$s\"; sleep \"$1\"; "
    f"echo '{TICKS}'; read -r u </proc/uptime; echo \"$u\"; "
    "{ printf '%s\\n@\\n' \"$s\"; cat /proc/[0-9]*/stat 2>/dev/null; } | "
    f"awk -v own=$$ -v top={TOP} -v cap={LINE_CAP} '{AWK}'"
)
_UNITS = {"k": 1, "m": 1024, "g": 1024**2, "t": 1024**3}


def _kb(text: str) -> int:
    """RSS in kB; busybox scales big values (`15m`, `1.2g`)."""
    unit = _UNITS.get(text[-1:].lower())
    return int(float(text[:-1]) * unit) if unit else int(text)


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
        "command": command_name(raw_args),
        "args": shown_args(raw_args, len(line) >= LINE_CAP),
    }


def _not_own(procs: list[dict[str, Any]], own: int) -> list[dict[str, Any]]:
    """Without the probe's own shell and its children."""
    return [p for p in procs if own not in (p["pid"], p["ppid"])]


def _ps_rows(listing: str, fmt: str, own: int) -> tuple[int, int | None, list[dict[str, Any]]]:
    """(processes, threads, every process) of a `ps` listing, less the probe's own."""
    listed = [p for p in (_row(line, fmt) for line in listing.splitlines()) if p is not None]
    procs = _not_own(listed, own)
    threads = sum(p["threads"] for p in procs) if fmt == "procps" else None
    return len(procs), threads, procs


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


def _listing(rest: str, fmt: str) -> tuple[str, str, str]:
    """(the tick samples, the format, its listing): the `--- proc` listing, or the `--- ps`
    one of older captures. Markers count only at the start of a line."""
    for marker in (PROC, PS):
        found = re.search(rf"\n{re.escape(marker)}(?=[ \n]|$)", rest)
        if found:
            samples, listing = rest[: found.start()], rest[found.end() :]
            break
    else:
        raise ValueError("expected two tick samples and the process listing")
    if marker == PROC:
        if fmt != "shell":
            raise ValueError(f"a {PROC!r} listing after a {fmt!r} head")
        return samples, "proc", listing
    if fmt == "shell":  # the flavour is on the listing's marker: `--- ps procps`
        fmt, _, listing = listing.partition("\n")
        fmt = fmt.strip()
        if fmt not in PS_FORMATS:
            raise ValueError(f"expected the ps format after {PS!r}, got {fmt[:40]!r}")
    return samples, fmt, listing


def parse(result: CommandResult) -> Facts:
    """Top processes by recent %CPU and by RSS, plus totals; the probe's own left out."""
    head_line, _, rest = result.stdout.partition("\n")
    head = head_line.split()
    if len(head) != 3 or head[0] not in (*PS_FORMATS, "shell") or not head[1].isdigit():
        raise ValueError(f"expected the ps format marker, got {result.stdout[:80]!r}")
    own, hz = int(head[1]), int(head[2]) if head[2].isdigit() else 100
    samples, fmt, listing = _listing("\n" + rest, head[0])
    blocks = [b for b in samples.split(TICKS) if b.strip()]
    if len(blocks) != 2:
        raise ValueError("expected two tick samples and the process listing")
    (t0, before), (t1, after) = (_ticks(b) for b in blocks)
    window = round(t1 - t0, 2)
    threads: int | None
    if fmt == "proc":  # the host left its own processes out already; checked as for ps
        count, threads, procs = rows(listing, t1, hz)
        procs = _not_own(procs, own)
    else:
        count, threads, procs = _ps_rows(listing, fmt, own)
    if not procs:
        raise ValueError("no processes listed")
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
        "total_processes": count,
        "total_threads": threads,
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
