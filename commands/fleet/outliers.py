"""One check per kind of difference between a host and the majority of its siblings.

Each check reads the host's facts and its siblings' (probe -> facts, from their runs) and
yields `Outlier`s. A fact missing on the host, or on every sibling, is not compared (other
builds and other hosts gather different facts). Noise never counts: PIDs, uptime, timestamps
and ephemeral ports are not compared, and numbers must be far apart (an absolute floor and a
ratio) before a difference is said.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from commands.fleet.words import compared, host_list
from ssh_probes.model import Facts
from ssh_probes.rules.base import Thresholds

HostFacts = Mapping[str, Facts]  # probe name -> facts of the run's ok results


@dataclass(frozen=True)
class Limits:
    """How far from the group a number must be to count (beyond the rules' own thresholds)."""

    disk_gap_pct: float = 25.0  # use at least this many points above the siblings' median
    disk_floor_pct: float = 70.0  # ... and at least this full
    magnitude: float = 10.0  # an order of magnitude above the siblings' median
    time_wait_floor: int = 100
    close_wait_floor: int = 10
    syn_sent_floor: int = 5
    cpu_factor: float = 2.0  # load, I/O wait, steal: at least twice the siblings' median
    cpu_gap_pct: float = 10.0  # I/O wait and steal: and this many points above it
    steal_floor_pct: float = 10.0
    ephemeral_from: int = 32768  # Linux's default ip_local_port_range starts here


@dataclass(frozen=True)
class Outlier:
    """One difference: its kind and key, a title naming the values, and the evidence."""

    kind: str
    key: str
    title: str
    values: str
    suggestion: str
    evidence: dict[str, Any] = field(default_factory=dict)


Check = Callable[[str, HostFacts, Mapping[str, HostFacts], Thresholds, Limits], Iterator[Outlier]]


def usable(facts: HostFacts, probe: str) -> Facts | None:
    """The probe's facts when it ran and its source was there."""
    f = facts.get(probe)
    if not isinstance(f, dict) or f.get("available") is False:
        return None
    return f


def having(siblings: Mapping[str, HostFacts], probe: str) -> dict[str, Facts]:
    """Siblings whose run has usable facts of `probe`."""
    out = {}
    for name, facts in siblings.items():
        f = usable(facts, probe)
        if f is not None:
            out[name] = f
    return out


def majority(values: Mapping[str, Hashable]) -> Hashable | None:
    """The value more than half of the hosts share, if any."""
    counts: dict[Hashable, int] = {}
    for v in values.values():
        counts[v] = counts.get(v, 0) + 1
    for v, n in counts.items():
        if n * 2 > len(values):
            return v
    return None


def num(v: object) -> float | None:
    """A number, or None for anything else (booleans included)."""
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def numbers(others: Mapping[str, Facts], *path: str) -> dict[str, float]:
    """Each host's number at `path` in its facts (`"states", "TIME-WAIT"`), hosts without one
    left out."""
    out = {}
    for name, f in others.items():
        v: object = f
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        n = num(v)
        if n is not None:
            out[name] = n
    return out


def ports(
    host: str, mine: HostFacts, sibs: Mapping[str, HostFacts], t: Thresholds, lim: Limits
) -> Iterator[Outlier]:
    """A port most siblings listen on and the host does not, or the reverse."""
    own, others = usable(mine, "sockets"), having(sibs, "sockets")
    if own is None or not others:
        return

    def listening(f: Facts) -> set[int]:
        found = {s.get("port") for s in f.get("listeners") or []}
        return {p for p in found if isinstance(p, int) and p < lim.ephemeral_from}

    have, theirs = listening(own), {n: listening(f) for n, f in others.items()}
    for port in sorted(have.union(*theirs.values())):
        with_it = sorted(n for n, p in theirs.items() if port in p)
        yes = {n: ("listening" if port in p else "not listening") for n, p in theirs.items()}
        if port not in have and len(with_it) * 2 > len(theirs):
            title = f"{host} does not listen on port {port}; {host_list(with_it)} do"
            fix = f"On {host}: `ss -lntp 'sport = :{port}'`; start the service that serves {port}."
        elif port in have and len(with_it) * 2 < len(theirs):
            title = f"{host} listens on port {port}; most of its siblings do not"
            fix = f"On {host}: `ss -lntp 'sport = :{port}'` names the process; is it meant to run?"
        else:
            continue
        state = "listening" if port in have else "not listening"
        yield Outlier(
            "port",
            str(port),
            title,
            compared(host, state, yes),
            fix,
            {"port": port, "host_value": state, "siblings": yes},
        )


def failed_units(
    host: str, mine: HostFacts, sibs: Mapping[str, HostFacts], t: Thresholds, lim: Limits
) -> Iterator[Outlier]:
    """A systemd unit failed on the host and on fewer than half of its siblings."""
    own, others = usable(mine, "services"), having(sibs, "services")
    if own is None or not others:
        return
    failed = {n: {u.get("unit") for u in f.get("failed") or []} for n, f in others.items()}
    for unit in sorted({str(u.get("unit")) for u in own.get("failed") or []}):
        states = {n: ("failed" if unit in units else "not failed") for n, units in failed.items()}
        if sum(s == "failed" for s in states.values()) * 2 >= len(states):
            continue
        yield Outlier(
            "unit",
            unit,
            f"{unit} failed on {host}, not on most of its siblings",
            compared(host, "failed", states),
            f"On {host}: `systemctl status {unit}` and `journalctl -u {unit} -n 100`.",
            {"unit": unit, "host_value": "failed", "siblings": states},
        )


def containers(
    host: str, mine: HostFacts, sibs: Mapping[str, HostFacts], t: Thresholds, lim: Limits
) -> Iterator[Outlier]:
    """A container (by name) on another image than most siblings', or restarting far more."""
    own, others = usable(mine, "docker"), having(sibs, "docker")
    if own is None or not others:
        return

    def by_name(f: Facts) -> dict[str, Facts]:
        return {str(c.get("name")): c for c in f.get("containers") or [] if c.get("name")}

    theirs = {n: by_name(f) for n, f in others.items()}
    for name, c in sorted(by_name(own).items()):
        peers = {n: cs[name] for n, cs in theirs.items() if name in cs}
        if len(peers) * 2 <= len(theirs):
            continue  # most siblings do not run it: nothing to compare with
        images = {n: str(p.get("image")) for n, p in peers.items()}
        usual = majority(images)
        if usual is not None and c.get("image") != usual:
            yield Outlier(
                "image",
                name,
                f"container {name} on {host} runs another image",
                compared(host, c.get("image"), images),
                f"On {host}: `docker inspect {name}`; redeploy it with {usual}.",
                {"container": name, "host_value": c.get("image"), "siblings": images},
            )
        restarts = numbers(peers, "restart_count")
        own_restarts = num(c.get("restart_count"))
        if own_restarts is None or not restarts:
            continue
        usual_restarts = statistics.median(restarts.values())
        if own_restarts >= t.docker_restarts_warning and own_restarts >= lim.magnitude * max(
            usual_restarts, 1
        ):
            shown = {n: int(v) for n, v in restarts.items()}
            yield Outlier(
                "restarts",
                name,
                f"container {name} restarts on {host} only",
                compared(host, int(own_restarts), shown),
                f"On {host}: `docker logs --tail 100 {name}` and `docker inspect "
                f"{name}` (State.ExitCode, OOMKilled).",
                {"container": name, "host_value": int(own_restarts), "siblings": shown},
            )


def versions(
    host: str, mine: HostFacts, sibs: Mapping[str, HostFacts], t: Thresholds, lim: Limits
) -> Iterator[Outlier]:
    """Another kernel release or OS than most siblings run."""
    own, others = usable(mine, "load"), having(sibs, "load")
    if own is None or not others:
        return
    for key, what in (("kernel", "kernel"), ("os", "OS")):
        theirs = {n: str(f[key]) for n, f in others.items() if f.get(key)}
        usual = majority(theirs) if theirs else None
        if not own.get(key) or usual is None or own[key] == usual:
            continue
        yield Outlier(
            key,
            key,
            f"{host} runs another {what} than most of its siblings",
            compared(host, own[key], theirs),
            f"Was {host} upgraded (or missed an upgrade)? Align it with {usual} or "
            "roll the group forward together.",
            {"host_value": own[key], "siblings": theirs},
        )
