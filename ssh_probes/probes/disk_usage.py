"""The biggest entries of one filesystem: `du -x -a -d 1`, bounded in time.

`-a` lists files beside directories: a full /dev/shm or /tmp holds big files at its top.

Run only for a filesystem that is over its threshold; the mount point comes from the disk
probe's own output and is passed as one argv element after `--`, never through a shell.
"""

from __future__ import annotations

from typing import Any

from ssh_probes.model import CommandResult, Facts, Probe

DU_TIME_LIMIT_S = 5
TOP = 5


def parse(result: CommandResult) -> Facts:
    """The largest entries below the mount, biggest first; `partial` if du ran out of time."""
    entries: list[dict[str, Any]] = []
    for line in result.stdout.splitlines():
        size, sep, path = line.partition("\t")
        if sep and size.strip().isdigit():
            entries.append({"path": path, "size": int(size)})
    if not entries:
        why = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise ValueError(why[0])
    # du prints the mount itself last, as the total; keep it apart from its children.
    total = entries[-1] if result.exit_status in (0, 1) else None
    children = [e for e in entries if total is None or e is not total]
    children.sort(key=lambda e: -int(e["size"]))
    return {
        "entries": children[:TOP],
        "total": total["size"] if total else None,
        # 124: `timeout` stopped du; what it printed so far is complete for those directories.
        "partial": result.exit_status not in (0, 1),
    }


def probe(mount: str, *, inodes: bool = False) -> Probe:
    """A du probe for `mount`: kilobytes, or inodes with `inodes=True`."""
    unit = ("--inodes",) if inodes else ("-k",)
    return Probe(
        name=f"{'inode' if inodes else 'disk'}_usage:{mount}",
        area="disk",
        command=(
            "timeout",
            str(DU_TIME_LIMIT_S),
            "du",
            "-x",
            "-a",
            *unit,
            "-d",
            "1",
            "--",
            mount,
        ),
        parse=parse,
        timeout_s=DU_TIME_LIMIT_S + 2.0,
    )
