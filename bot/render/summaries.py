"""Short human lines for each probe's facts, shared by every renderer."""

from __future__ import annotations

from collections.abc import Callable

from ssh_probes.model import Facts, ProbeResult


def _kb(kb: float) -> str:
    size = float(kb) * 1024
    for unit in ("B", "K", "M", "G", "T"):
        if size < 1024 or unit == "T":
            return f"{size:.0f}{unit}" if unit in ("B", "K") else f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}P"  # pragma: no cover


def load_lines(facts: Facts) -> list[str]:
    """Load averages against the CPU count."""
    cpus = facts.get("cpus") or 1
    return [
        f"load {facts['load1']:.2f} {facts['load5']:.2f} {facts['load15']:.2f} on {cpus} CPUs "
        f"({facts['load1'] / cpus:.2f} per core), {facts.get('running', '?')} running of "
        f"{facts.get('total_tasks', '?')} tasks"
    ]


def disk_lines(facts: Facts) -> list[str]:
    """One line per filesystem: space and inodes."""
    lines = []
    for fs in facts.get("filesystems", []):
        inodes = f", inodes {fs['iuse_pct']}%" if fs.get("iuse_pct") is not None else ""
        lines.append(
            f"{fs['mount']}: {fs['use_pct']}% used, {_kb(fs['avail_kb'])} free of "
            f"{_kb(fs['size_kb'])}{inodes} ({fs['filesystem']})"
        )
    return lines


def sockets_lines(facts: Facts) -> list[str]:
    """Listening TCP sockets with their processes."""
    lines = []
    for sock in facts.get("listeners", []):
        procs = ", ".join(f"{p['name']}[{p['pid']}]" for p in sock.get("process", []))
        addr = sock["local_address"]
        shown = f"[{addr}]" if ":" in addr else addr
        lines.append(f"{shown}:{sock['port']}" + (f"  {procs}" if procs else ""))
    return lines or ["no TCP listeners"]


def usage_lines(facts: Facts) -> list[str]:
    """The biggest directories of one filesystem (sizes in KiB, or inode counts)."""
    lines = [f"{e['path']}: {e['size']:,}" for e in facts.get("entries", [])]
    if facts.get("partial"):
        lines.append("(du ran out of time: partial)")
    return lines


SUMMARIES: dict[str, Callable[[Facts], list[str]]] = {
    "load": load_lines,
    "disk": disk_lines,
    "sockets": sockets_lines,
    "disk_usage": usage_lines,
    "inode_usage": usage_lines,
}


def summarize(result: ProbeResult) -> list[str]:
    """Lines describing one probe result; failures say why."""
    if not result.ok:
        return [f"probe failed: {result.error}"]
    fn = SUMMARIES.get(result.probe.split(":", 1)[0])
    try:
        return fn(result.facts) if fn else [f"{k}: {v}" for k, v in result.facts.items()]
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return [f"{k}: {v}" for k, v in result.facts.items()]
