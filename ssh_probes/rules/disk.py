"""Disk rules: disk.full and disk.inodes_full, naming the biggest directories."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.rules.base import Rule, Thresholds, human_kb, level

DISK_FULL = Code(
    "disk.full",
    "host",
    "Filesystem nearly full",
    "At 90% (warning) or 95% (critical) used: writes of logs, uploads and databases start failing "
    "and take services down.",
    "Free space where the biggest directories are (`du -xh -d 2 MOUNT | sort -h`); vacuum "
    "journals, rotate logs, prune Docker; `lsof +L1` finds deleted files still open.",
)

DISK_INODES_FULL = Code(
    "disk.inodes_full",
    "host",
    "Filesystem out of inodes",
    "Every inode used: no new file can be created although space is free.",
    "Find directories with many small files (`du -x --inodes -d 2 MOUNT | sort -n`) and remove or "
    "archive them.",
)

CODES = (DISK_FULL, DISK_INODES_FULL)


def _top_dirs(usage: Facts | None, unit: str) -> tuple[list[dict[str, Any]], str]:
    if not usage:
        return [], ""
    shown = [
        f"{e['path']} {human_kb(e['size']) if unit == 'kb' else format(e['size'], ',')}"
        for e in usage["entries"]
    ]
    note = " (du ran out of time; partial)" if usage.get("partial") else ""
    return list(usage["entries"]), ", ".join(shown) + note


def _disk(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    for fs in facts["filesystems"]:
        mount = fs["mount"]
        pct = fs["use_pct"]
        severity = None if pct is None else level(pct, t.disk_warning_pct, t.disk_critical_pct)
        if severity is not None:
            entries, biggest = _top_dirs(extra.get(f"disk_usage:{mount}"), "kb")
            where = f" Biggest under {mount}: {biggest}." if biggest else ""
            yield DISK_FULL.finding(
                severity=severity,
                title=f"{mount} is {pct}% full ({human_kb(fs['avail_kb'])} free of "
                f"{human_kb(fs['size_kb'])})",
                detail="Writes start failing when a filesystem fills: logs, uploads, databases.",
                evidence={
                    "mount": mount,
                    "use_pct": pct,
                    "avail_kb": fs["avail_kb"],
                    "filesystem": fs["filesystem"],
                    "biggest": entries,
                },
                suggestion=(
                    f"Free space on {mount}.{where} Look deeper with "
                    f"`du -xh -d 2 {mount} | sort -h | tail -20`; trim logs "
                    "(`journalctl --vacuum-size=500M`, old rotated files in /var/log), "
                    "`docker system prune` if /var/lib/docker is big, and check for deleted "
                    "files still held open (`lsof +L1`), which free nothing until restarted."
                ),
                host=host.name,
            )
        ipct = fs["iuse_pct"]
        isev = None if ipct is None else level(ipct, t.inode_warning_pct, t.inode_critical_pct)
        if isev is not None:
            entries, biggest = _top_dirs(extra.get(f"inode_usage:{mount}"), "inodes")
            where = f" Most inodes under {mount}: {biggest}." if biggest else ""
            yield DISK_INODES_FULL.finding(
                severity=isev,
                title=f"{mount} has used {ipct}% of its inodes ({fs['ifree']:,} left)",
                detail="No inodes means no new files even with free space: 'No space left on "
                "device' while df -h shows room.",
                evidence={
                    "mount": mount,
                    "iuse_pct": ipct,
                    "ifree": fs["ifree"],
                    "filesystem": fs["filesystem"],
                    "biggest": entries,
                },
                suggestion=(
                    f"Find the many small files.{where} Count with "
                    f"`du -x --inodes -d 2 {mount} | sort -n | tail -20`; usual culprits are "
                    "session or cache directories, mail queues and unrotated tiny logs. Delete "
                    "or archive them; a filesystem's inode count is fixed at mkfs time."
                ),
                host=host.name,
            )


def over_threshold(disk_facts: Facts, thresholds: Thresholds) -> tuple[list[str], list[str]]:
    """Mount points worth a du: (over the space warning, over the inode warning)."""
    space = [
        f["mount"]
        for f in disk_facts["filesystems"]
        if f["use_pct"] is not None and f["use_pct"] >= thresholds.disk_warning_pct
    ]
    inodes = [
        f["mount"]
        for f in disk_facts["filesystems"]
        if f["iuse_pct"] is not None and f["iuse_pct"] >= thresholds.inode_warning_pct
    ]
    return space, inodes


RULES: dict[str, Rule] = {"disk": _disk}
