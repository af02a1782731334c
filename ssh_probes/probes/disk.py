"""Disk space and inodes: `df -PT`, `df -PTi`, and `/proc/mounts` for mount options.

One entry per real filesystem. Left out: kernel pseudo filesystems, read-only images
(squashfs snaps are always 100%), union mounts (a Docker `overlay` reports the usage of the
filesystem under it, which has its own entry; only a container's own `/` is kept), tmpfs
that is read-only or of size 0. A filesystem seen at several mount points (bind mounts,
Docker volumes, kubelet pod directories) is one entry at its shortest mount point. Network
filesystems (NFS, SMB, Ceph, ...) are marked `network`: nothing may walk them with du.
busybox df works too (its inode header says Capacity). `/proc/mounts` is optional.
"""

from __future__ import annotations

from typing import Any

from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, Probe

SEPARATOR = "--- inodes ---"
ALSO_SHOWN = 10  # other mount points of one filesystem kept as evidence
MOUNTS = "--- mounts ---"
# Kernel pseudo filesystems and read-only images: they never "fill up" the way a disk does.
PSEUDO_TYPES = frozenset(
    {
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
        "fuse.gvfsd-fuse",
        "fuse.portal",
        "rpc_pipefs",
        "selinuxfs",
        "none",
    }
)
# Union filesystems: their df line repeats the usage of the filesystem below them.
UNION_TYPES = frozenset({"overlay", "overlayfs", "aufs", "shiftfs", "fuse.fuse-overlayfs"})
# Memory-backed: reported (a full /dev/shm or /run breaks PostgreSQL and systemd), never deduped.
MEMORY_TYPES = frozenset({"tmpfs"})
NETWORK_TYPES = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "glusterfs",
        "fuse.glusterfs",
        "ceph",
        "fuse.ceph",
        "fuse.ceph-fuse",
        "cephfs",
        "fuse.sshfs",
        "9p",
        "lustre",
        "gpfs",
        "afs",
        "fuse.s3fs",
        "fuse.rclone",
        "fuse.juicefs",
        "fuse.gcsfuse",
        "beegfs",
        "ocfs2",
        "gfs2",
    }
)


def _pct(text: str) -> int | None:
    return None if text in ("-", "") else int(text.rstrip("%"))


def _rows(block: str, *headers: str) -> list[list[str]]:
    lines = [line for line in block.splitlines() if line.strip()]
    if (
        not lines
        or not lines[0].startswith("Filesystem")
        or not any(h in lines[0] for h in headers)
    ):
        raise ValueError(f"no df header with {headers[0]!r}")
    rows = []
    for line in lines[1:]:
        # The mount point is the last column and may contain spaces: split six times only.
        fields = line.split(None, 6)
        if len(fields) == 7:
            rows.append(fields)
    return rows


def _unescape(field: str) -> str:
    r"""/proc/mounts writes a space in a mount point as \040 (tab \011, newline \012)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def _mounts(block: str) -> list[tuple[str, str, str, list[str]]]:
    """(source, mount point, type, options) for each line of /proc/mounts."""
    rows = []
    for line in block.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            rows.append(
                (_unescape(fields[0]), _unescape(fields[1]), fields[2], fields[3].split(","))
            )
    return rows


def _also_mounted(
    entries: list[dict[str, Any]], mounts: list[tuple[str, str, str, list[str]]]
) -> None:
    """GNU df already folds bind mounts of one device: name the other mount points anyway."""
    for entry in entries:
        if entry["kind"] == "memory":
            continue
        seen = {entry["mount"], *entry["also_mounted_at"]}
        for source, point, fstype, _opts in mounts:
            if source == entry["filesystem"] and fstype == entry["type"] and point not in seen:
                seen.add(point)
                if len(entry["also_mounted_at"]) < ALSO_SHOWN:
                    entry["also_mounted_at"].append(point)
        entry["also_mounted_at"].sort()


def kind(fstype: str) -> str:
    """`network`, `memory` or `local`."""
    if fstype in NETWORK_TYPES or fstype.startswith("nfs"):
        return "network"
    return "memory" if fstype in MEMORY_TYPES else "local"


def _skipped(fstype: str, mount: str, size_kb: int, options: list[str] | None) -> bool:
    if fstype in PSEUDO_TYPES or size_kb <= 0:
        return True
    if fstype in UNION_TYPES:
        return mount != "/"  # a container's root is its only view of its disk
    return fstype in MEMORY_TYPES and options is not None and "ro" in options


def _dedupe(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per filesystem: same source, type and size is the same filesystem mounted
    again (bind mounts); the shortest mount point stays, the others are listed with it."""
    kept: dict[tuple[str, ...], dict[str, Any]] = {}
    for entry in sorted(entries, key=lambda e: (len(e["mount"]), e["mount"])):
        key: tuple[str, ...] = (entry["filesystem"], entry["type"], str(entry["size_kb"]))
        if entry["kind"] == "memory":
            key = ("memory", entry["mount"])  # every tmpfs is its own, whatever its source
        if key in kept:
            kept[key]["also_mounted_at"].append(entry["mount"])
        else:
            kept[key] = entry
    return sorted(kept.values(), key=lambda e: e["mount"])


def parse(result: CommandResult) -> Facts:
    """One entry per real filesystem: size, use and inode use; pseudo filesystems skipped."""
    space, sep, rest = result.stdout.partition(SEPARATOR)
    if not sep:
        raise ValueError("df output lacks the inode section")
    inodes, _, mounts_text = rest.partition(MOUNTS)
    mounts = _mounts(mounts_text)
    # The last mount on a point wins: it hides the ones below it.
    options = {point: opts for _src, point, _type, opts in mounts}
    by_mount: dict[str, dict[str, Any]] = {}
    for fs, fstype, size, used, avail, pct, mount in _rows(space, "Capacity", "Use%"):
        if _skipped(fstype, mount, int(size), options.get(mount) if options else None):
            continue
        by_mount[mount] = {
            "filesystem": fs,
            "type": fstype,
            "kind": kind(fstype),
            "mount": mount,
            "size_kb": int(size),
            "used_kb": int(used),
            "avail_kb": int(avail),
            "use_pct": _pct(pct),
            "inodes": None,
            "iused": None,
            "ifree": None,
            "iuse_pct": None,
            "also_mounted_at": [],
        }
    # busybox's `df -Pi` header says Capacity, GNU's IUse%; the columns are the same.
    for _fs, _type, total, iused, ifree, ipct, mount in _rows(inodes, "IUse%", "Inodes"):
        entry = by_mount.get(mount)
        if entry is None or not total.isdigit():
            continue
        entry.update(inodes=int(total), iused=int(iused), ifree=int(ifree), iuse_pct=_pct(ipct))
    filesystems = _dedupe(list(by_mount.values()))
    _also_mounted(filesystems, mounts)
    return {"filesystems": filesystems}


DISK = Probe(
    name="disk",
    area="disk",
    command=(
        "sh",
        "-c",
        f"df -PT; echo '{SEPARATOR}'; df -PTi; echo '{MOUNTS}'; cat /proc/mounts",
    ),
    parse=parse,
    timeout_s=QUICK_LIMIT_S,
)
