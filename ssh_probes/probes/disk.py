"""Disk space and inodes: `df -PT` and `df -PTi` for real (non-pseudo) filesystems."""

from __future__ import annotations

from typing import Any

from ssh_probes.model import CommandResult, Facts, Probe

SEPARATOR = "--- inodes ---"
# Memory-backed or read-only images: they never "fill up" the way a disk does.
PSEUDO_TYPES = frozenset(
    {
        "tmpfs",
        "devtmpfs",
        "ramfs",
        "squashfs",
        "iso9660",
        "udf",
        "proc",
        "sysfs",
        "cgroup",
        "cgroup2",
        "nsfs",
        "efivarfs",
        "devpts",
        "mqueue",
        "debugfs",
        "tracefs",
        "securityfs",
        "pstore",
        "bpf",
        "autofs",
        "fusectl",
        "configfs",
        "hugetlbfs",
        "binfmt_misc",
        "fuse.lxcfs",
        "fuse.snapfuse",
    }
)


def _pct(text: str) -> int | None:
    return None if text in ("-", "") else int(text.rstrip("%"))


def _rows(block: str, header: str) -> list[list[str]]:
    lines = [line for line in block.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("Filesystem") or header not in lines[0]:
        raise ValueError(f"no df header with {header!r}")
    rows = []
    for line in lines[1:]:
        # The mount point is the last column and may contain spaces: split six times only.
        fields = line.split(None, 6)
        if len(fields) == 7:
            rows.append(fields)
    return rows


def parse(result: CommandResult) -> Facts:
    """One entry per real filesystem: size, use and inode use; pseudo filesystems skipped."""
    space, sep, inodes = result.stdout.partition(SEPARATOR)
    if not sep:
        raise ValueError("df output lacks the inode section")
    by_mount: dict[str, dict[str, Any]] = {}
    for fs, fstype, size, used, avail, pct, mount in _rows(space, "Capacity"):
        if fstype in PSEUDO_TYPES:
            continue
        by_mount[mount] = {
            "filesystem": fs,
            "type": fstype,
            "mount": mount,
            "size_kb": int(size),
            "used_kb": int(used),
            "avail_kb": int(avail),
            "use_pct": _pct(pct),
            "inodes": None,
            "iused": None,
            "ifree": None,
            "iuse_pct": None,
        }
    for _fs, _type, total, iused, ifree, ipct, mount in _rows(inodes, "IUse%"):
        entry = by_mount.get(mount)
        if entry is None:
            continue
        entry.update(inodes=int(total), iused=int(iused), ifree=int(ifree), iuse_pct=_pct(ipct))
    return {"filesystems": sorted(by_mount.values(), key=lambda e: e["mount"])}


DISK = Probe(
    name="disk",
    area="disk",
    command=("sh", "-c", f"df -PT; echo '{SEPARATOR}'; df -PTi"),
    parse=parse,
    timeout_s=10.0,
)
