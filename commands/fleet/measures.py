"""Numeric differences: disk and inode use, connection states, load, I/O wait and steal.

A number counts only when it is far from the siblings' median: above an absolute floor (the
rules' thresholds, or `Limits`) and by a ratio or a gap, so small differences in load and
counts that move every second are never an outlier.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Mapping

from commands.fleet.outliers import HostFacts, Limits, Outlier, having, num, numbers, usable
from commands.fleet.words import compared
from ssh_probes.model import Facts
from ssh_probes.rules.base import Thresholds


def disk(
    host: str, mine: HostFacts, sibs: Mapping[str, HostFacts], t: Thresholds, lim: Limits
) -> Iterator[Outlier]:
    """A filesystem (same mount point) far fuller, in space or inodes, than on the siblings."""
    own, others = usable(mine, "disk"), having(sibs, "disk")
    if own is None or not others:
        return

    def mounts(f: Facts) -> dict[str, Facts]:
        return {str(fs.get("mount")): fs for fs in f.get("filesystems") or []}

    theirs = {n: mounts(f) for n, f in others.items()}
    for mount, fs in sorted(mounts(own).items()):
        peers = {n: ms[mount] for n, ms in theirs.items() if mount in ms}
        if len(peers) * 2 <= len(theirs):
            continue  # most siblings have no such filesystem
        for key, what in (("use_pct", "disk"), ("iuse_pct", "inode")):
            mine_pct, pcts = num(fs.get(key)), numbers(peers, key)
            if mine_pct is None or not pcts:
                continue
            median = statistics.median(pcts.values())
            if mine_pct < lim.disk_floor_pct or mine_pct - median < lim.disk_gap_pct:
                continue
            shown = {n: int(v) for n, v in pcts.items()}
            kind = "disk" if key == "use_pct" else "inodes"
            du = "du -xh" if kind == "disk" else "du -x --inodes"
            fix = f"On {host}: `{du} --max-depth=2 {mount} | sort -h | tail`"
            yield Outlier(
                kind,
                mount,
                f"{mount} {what} use on {host} far above its siblings'",
                compared(host, int(mine_pct), shown, "%"),
                fix + "; what grows there that does not on the siblings?",
                {"mount": mount, "host_value": mine_pct, "siblings": shown},
            )


TCP_STATES = (
    ("TIME-WAIT", "time_wait_floor"),
    ("CLOSE-WAIT", "close_wait_floor"),
    ("SYN-SENT", "syn_sent_floor"),
)


def tcp_states(
    host: str, mine: HostFacts, sibs: Mapping[str, HostFacts], t: Thresholds, lim: Limits
) -> Iterator[Outlier]:
    """TIME-WAIT, CLOSE-WAIT or SYN-SENT counts an order of magnitude above the siblings'."""
    own, others = usable(mine, "connections"), having(sibs, "connections")
    if own is None or not others:
        return
    for state, floor in TCP_STATES:
        count = num((own.get("states") or {}).get(state))
        counts = numbers(others, "states", state)
        if count is None or not counts:
            continue
        median = statistics.median(counts.values())
        if count < getattr(lim, floor) or count < lim.magnitude * max(median, 1):
            continue
        shown = {n: int(v) for n, v in counts.items()}
        yield Outlier(
            "tcp",
            state,
            f"{state} sockets on {host} an order of magnitude above its siblings'",
            compared(host, int(count), shown),
            f"On {host}: `ss -tan state {state.lower()}` (peers and ports); the "
            "siblings serve the same traffic without it.",
            {"state": state, "host_value": int(count), "siblings": shown},
        )


def cpu(
    host: str, mine: HostFacts, sibs: Mapping[str, HostFacts], t: Thresholds, lim: Limits
) -> Iterator[Outlier]:
    """Load per core, I/O wait or steal well above the siblings' (and above the rule floor)."""
    checks = (
        ("load", "load1_per_core", "load per core", t.load_per_core, 0.0, ""),
        ("stat", "iowait_pct", "I/O wait", t.iowait_warning_pct, lim.cpu_gap_pct, "%"),
        ("stat", "steal_pct", "CPU steal", lim.steal_floor_pct, lim.cpu_gap_pct, "%"),
    )
    for probe, key, what, floor, gap, unit in checks:
        own, others = usable(mine, probe), having(sibs, probe)
        value = num(own.get(key)) if own is not None else None
        values = numbers(others, key)
        if value is None or not values:
            continue
        median = statistics.median(values.values())
        if value < floor or value < lim.cpu_factor * median or value - median < gap:
            continue
        shown = {n: round(v, 2) for n, v in values.items()}
        yield Outlier(
            "cpu",
            key,
            f"{what} on {host} well above its siblings'",
            compared(host, round(value, 2), shown, unit),
            f"On {host}: `top -o %CPU` and `vmstat 1 5`; "
            + (
                "ask the provider about a noisy neighbour (steal)."
                if key == "steal_pct"
                else "which process does the siblings' work differently here?"
            ),
            {"metric": key, "host_value": value, "siblings": shown},
        )
