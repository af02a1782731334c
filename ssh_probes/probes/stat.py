"""CPU and memory over a short window: `/proc/stat` and `/proc/vmstat` twice, `/proc/meminfo`.

The window (ProbeConfig.sample_window_s) reaches the fixed script as "$1", never through a
shell. Each sample starts with `/proc/uptime`, so rates use the time that really passed.
On a ZFS host the ARC's size and floor (`/proc/spl/kstat/zfs/arcstats`) follow meminfo: the
kernel counts the ARC as used, although it shrinks on demand down to `c_min`.
"""

from __future__ import annotations

from typing import Any

from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, Probe, ProbeConfig

SAMPLE = "--- sample"
MEMINFO = "--- meminfo"
ARC = "--- arcstats"
MID = "--- mid"
# Only the lines the parser reads: the `intr` line alone is kilobytes on a big machine.
# The run queue is also read mid-window ("$2" is half the window): the other probes of the
# routine sample at the window's two ends, so a middle sample sees less of triage itself.
# One grep per sample prints what `cat` and two `grep`s printed, in the same order (issue 18:
# two processes fewer per sample for the host; grep starts for about half of awk's CPU). Only
# /proc/uptime's line starts with a digit.
SAMPLE_GREP = "grep -h -E '^[0-9]|^(cpu|procs_)|^(pswpin|pswpout|pgmajfault) '"
SCRIPT = (
    f"s() {{ echo '{SAMPLE}'; {SAMPLE_GREP} /proc/uptime /proc/stat /proc/vmstat; }}; "
    f"s; sleep \"$2\"; echo '{MID}'; grep -E '^procs_' /proc/stat; sleep \"$2\"; s; "
    f"echo '{MEMINFO}'; cat /proc/meminfo; "
    f"if [ -r /proc/spl/kstat/zfs/arcstats ]; then echo '{ARC}'; "
    "grep -E '^(size|c_min) ' /proc/spl/kstat/zfs/arcstats; fi"
)
# /proc/stat's cpu columns in kernel order; older kernels stop early (no steal before 2.6.11).
# guest and guest_nice are already counted in user and nice, so they stay out of the total.
CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
MEM_FIELDS = {
    "MemTotal": "mem_total_kb",
    "MemAvailable": "mem_available_kb",
    "SwapTotal": "swap_total_kb",
    "SwapFree": "swap_free_kb",
}


def _sample(block: str) -> dict[str, Any]:
    lines = [line.split() for line in block.splitlines() if line.strip()]
    if not lines or len(lines[0]) != 2:
        raise ValueError(f"sample does not start with /proc/uptime: {block[:80]!r}")
    sample: dict[str, Any] = {"uptime": float(lines[0][0]), "cpus": 0, "cpu": None}
    for fields in lines[1:]:
        key = fields[0]
        if key == "cpu":
            sample["cpu"] = [int(x) for x in fields[1 : 1 + len(CPU_FIELDS)]]
        elif key.startswith("cpu") and key[3:].isdigit():
            sample["cpus"] += 1
        elif len(fields) == 2 and fields[1].isdigit():
            sample[key] = int(fields[1])
    if sample["cpu"] is None:
        raise ValueError("no aggregate cpu line in /proc/stat")
    return sample


def _counts(block: str) -> dict[str, int]:
    """`procs_running 3` lines -> {"procs_running": 3}."""
    fields = (line.split() for line in block.splitlines())
    return {f[0]: int(f[1]) for f in fields if len(f) == 2 and f[1].isdigit()}


def _meminfo(block: str) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in block.splitlines():
        key, sep, rest = line.partition(":")
        if sep and rest.split() and rest.split()[0].isdigit():
            values[key.strip()] = int(rest.split()[0])
    return values


def _rate(a: dict[str, Any], b: dict[str, Any], key: str, seconds: float) -> float | None:
    if key not in a or key not in b or seconds <= 0:
        return None
    return round(max(0, int(b[key]) - int(a[key])) / seconds, 1)


def _cpu_pct(a: list[int], b: list[int]) -> dict[str, float | None]:
    deltas = [max(0, y - x) for x, y in zip(a, b, strict=False)]
    total = sum(deltas)
    pct: dict[str, float | None] = dict.fromkeys((f"{f}_pct" for f in CPU_FIELDS), None)
    if total > 0:
        for name, delta in zip(CPU_FIELDS, deltas, strict=False):
            pct[f"{name}_pct"] = round(100.0 * delta / total, 1)
    return pct


def _arc(block: str) -> dict[str, int]:
    """`size 4 123456` lines (bytes) -> {"size": 123456, "c_min": ...}."""
    values: dict[str, int] = {}
    for line in block.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2].isdigit():
            values[fields[0]] = int(fields[2])
    return values


def _busy(pct: dict[str, float | None]) -> float | None:
    """Time the CPUs spent running something: everything but idle, iowait and steal."""
    if pct["user_pct"] is None:
        return None
    busy = ("user", "nice", "system", "irq", "softirq")
    return round(sum(pct.get(f"{f}_pct") or 0.0 for f in busy), 1)


def _memory(mem: dict[str, int], arc: dict[str, int]) -> Facts:
    facts: Facts = {v: mem.get(k) for k, v in MEM_FIELDS.items()}
    total, avail = facts["mem_total_kb"], facts["mem_available_kb"]
    facts["mem_available_estimated"] = False
    if avail is None and total is not None:
        # Kernels before 3.14 lack MemAvailable: free + page cache is the classic estimate.
        avail = sum(mem.get(k, 0) for k in ("MemFree", "Buffers", "Cached"))
        facts["mem_available_kb"] = avail
        facts["mem_available_estimated"] = True
    # What ARC gives back under pressure: its size above its floor (as htop and arc_summary
    # count it). MemAvailable leaves it out, so a healthy ZFS host looks out of memory.
    reclaimable = max(0, arc.get("size", 0) - arc.get("c_min", 0)) // 1024 if arc else None
    facts["zfs_arc_reclaimable_kb"] = reclaimable
    if reclaimable and avail is not None:
        avail = avail + reclaimable
        if total:
            avail = min(avail, total)
        facts["mem_available_kb"] = avail
    facts["mem_available_pct"] = (
        round(100.0 * avail / total, 1) if total and avail is not None else None
    )
    return facts


def parse(result: CommandResult) -> Facts:
    """Two samples (and the run queue mid-window) and meminfo -> CPU percentages, run queue,
    swap/fault rates and memory."""
    if SAMPLE not in result.stdout and "No such file" in result.stderr:
        return {
            "available": False,
            "why": "no /proc/stat (not a Linux host?)",
            "hint": "Use `vmstat 1 5` and `top` on the host by hand.",
        }
    samples_text, sep, rest = result.stdout.partition(MEMINFO)
    mem_text, _, arc_text = rest.partition(ARC)
    blocks = [b for b in samples_text.split(SAMPLE) if b.strip()]
    if not sep or len(blocks) != 2:
        raise ValueError(f"expected two samples and meminfo, got {result.stdout[:80]!r}")
    first, has_mid, mid_text = blocks[0].partition(MID)
    a, b = _sample(first), _sample(blocks[1])
    mid = [_counts(mid_text)] if has_mid else []
    if b["cpus"] < 1:
        raise ValueError("no per-CPU lines in /proc/stat")
    window = round(b["uptime"] - a["uptime"], 2)
    running = [s.get("procs_running") for s in (a, *mid, b)]
    blocked = [s.get("procs_blocked") for s in (a, *mid, b)]
    swap_in, swap_out = (_rate(a, b, k, window) for k in ("pswpin", "pswpout"))
    pct = _cpu_pct(a["cpu"], b["cpu"])
    return {
        "cpus": b["cpus"],
        "window_s": window,
        **pct,
        "busy_pct": _busy(pct),
        "procs_running": running[-1],
        "procs_blocked": blocked[-1],
        "procs_running_samples": running,
        "procs_blocked_samples": blocked,
        "swap_in_pages_per_s": swap_in,
        "swap_out_pages_per_s": swap_out,
        "major_faults_per_s": _rate(a, b, "pgmajfault", window),
        **_memory(_meminfo(mem_text), _arc(arc_text)),
    }


def probe(config: ProbeConfig) -> Probe:
    """The stat probe sampling over `config.sample_window_s` seconds."""
    window = config.window_s
    return Probe(
        name="stat",
        area="cpu",
        command=("sh", "-c", SCRIPT, "sh", f"{window:g}", f"{window / 2:g}"),
        parse=parse,
        timeout_s=max(QUICK_LIMIT_S, window + 5.0),
    )
