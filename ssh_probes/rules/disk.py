"""Disk rules: disk.full and disk.inodes_full, naming the biggest directories.

One finding per filesystem (the disk probe drops union and pseudo mounts and folds bind
mounts). A network filesystem is named as such and never walked with du: a du over NFS
mid-incident loads the server everyone shares and may hang. A full tmpfs is memory.
"""

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
    "journals, rotate logs; for Docker read `docker system df` before any prune (it deletes "
    "stopped containers, unused networks, dangling images and build cache); `lsof +L1` finds "
    "deleted files still open. A network share is freed on its server, never walked with du.",
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


DOCKER_ADVICE = (
    "If /var/lib/docker is big, see what `docker system df` counts first; `docker system "
    "prune` then deletes stopped containers, unused networks, dangling images and build cache "
    "(check that no stopped container is one you need: `docker ps -a --filter status=exited`); "
    "`-a` also deletes every image no container uses and `--volumes` deletes data, so never "
    "add them blindly."
)


def _space_advice(fs: Facts, where: str) -> str:
    mount = fs["mount"]
    if fs.get("kind") == "network":
        return (
            f"{mount} is a network filesystem ({fs['type']} from {fs['filesystem']}): free "
            "space on its server, where its owner can see what grew; do not run du over the "
            "network mid-incident (slow, and it loads the server every client shares). Ask "
            "the storage owner, or check the export's usage on the server."
        )
    if fs.get("kind") == "memory":
        return (
            f"{mount} is a tmpfs: its files are held in memory, and when it is full "
            "PostgreSQL (dynamic shared memory in /dev/shm), systemd and anything writing PID "
            f"or socket files (/run) fail.{where} Look with `du -xh -d 2 {mount} | sort -h | "
            "tail -20` and `ls -la` for stale files of dead processes; remove only what no "
            f"running process holds (`lsof +D {mount}`), or grow it (`mount -o remount,size=2G "
            f"{mount}`)."
        )
    return (
        f"Free space on {mount}.{where} Look deeper with "
        f"`du -xh -d 2 {mount} | sort -h | tail -20`; trim logs "
        "(`journalctl --vacuum-size=500M`, old rotated files in /var/log) and check for deleted "
        "files still held open (`lsof +L1`), which free nothing until their process closes "
        f"them. {DOCKER_ADVICE}"
    )


def _what(fs: Facts) -> str:
    kinds = {"network": f" (network share {fs['type']})", "memory": " (tmpfs, in memory)"}
    return kinds.get(str(fs.get("kind")), "")


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
                title=f"{mount}{_what(fs)} is {pct}% full ({human_kb(fs['avail_kb'])} free of "
                f"{human_kb(fs['size_kb'])})",
                detail="Writes start failing when a filesystem fills: logs, uploads, databases.",
                evidence={
                    "mount": mount,
                    "use_pct": pct,
                    "avail_kb": fs["avail_kb"],
                    "filesystem": fs["filesystem"],
                    "type": fs.get("type"),
                    "kind": fs.get("kind", "local"),
                    "also_mounted_at": fs.get("also_mounted_at", []),
                    "biggest": entries,
                },
                suggestion=_space_advice(fs, where),
                host=host.name,
            )
        ipct = fs["iuse_pct"]
        isev = None if ipct is None else level(ipct, t.inode_warning_pct, t.inode_critical_pct)
        if isev is not None:
            entries, biggest = _top_dirs(extra.get(f"inode_usage:{mount}"), "inodes")
            where = f" Most inodes under {mount}: {biggest}." if biggest else ""
            count = f"Count with `du -x --inodes -d 2 {mount} | sort -n | tail -20`"
            if fs.get("kind") == "network":
                count = (
                    f"{mount} is a network filesystem ({fs['type']} from {fs['filesystem']}): "
                    "count on its server, never with du over the network"
                )
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
                    f"Find the many small files.{where} {count}; usual culprits are "
                    "session or cache directories, mail queues and unrotated tiny logs. Delete "
                    "or archive them; a filesystem's inode count is fixed at mkfs time."
                ),
                host=host.name,
            )


def over_threshold(disk_facts: Facts, thresholds: Thresholds) -> tuple[list[str], list[str]]:
    """Mount points worth a du: (over the space warning, over the inode warning).

    Never a network filesystem: du over NFS mid-incident is slow and loads a shared server.
    """
    local = [f for f in disk_facts["filesystems"] if f.get("kind") != "network"]
    space = [
        f["mount"]
        for f in local
        if f["use_pct"] is not None and f["use_pct"] >= thresholds.disk_warning_pct
    ]
    inodes = [
        f["mount"]
        for f in local
        if f["iuse_pct"] is not None and f["iuse_pct"] >= thresholds.inode_warning_pct
    ]
    return space, inodes


RULES: dict[str, Rule] = {"disk": _disk}
