"""The shape of one check: everything the routine knows about one area, in one value."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Probe, ProbeResult
from ssh_probes.probes.factory import ProbeFactory, static
from ssh_probes.rules.base import Rule, Thresholds

__all__ = ["Check", "Differ", "FollowUp", "ProbeFactory", "Summary", "static"]

Summary = Callable[[Facts], list[str]]
Differ = Callable[[Facts, Facts], dict[str, Any]]
# This run's results -> more probes (the du drill-down of a full disk, Docker's detail).
FollowUp = Callable[[Sequence[ProbeResult], Thresholds], list[Probe]]


@dataclass(frozen=True)
class Check:
    """One area of the host routine.

    `probes`: probe name -> factory, run by `triage` in registry order. `rules`: probe name ->
    rule over that probe's facts. `needs`: the other probes whose facts the rules read (base
    names: `disk_usage` covers `disk_usage:/var`); a rule sees only its own probe and these.
    `follow_ups`: probes to run after the first round, from its results. `summaries` and
    `differs`: probe base name -> lines / (before, now) -> changes. `codes`: what it emits.
    """

    name: str
    area: str
    probes: Mapping[str, ProbeFactory] = field(default_factory=dict)
    rules: Mapping[str, Rule] = field(default_factory=dict)
    needs: frozenset[str] = frozenset()
    follow_ups: FollowUp | None = None
    summaries: Mapping[str, Summary] = field(default_factory=dict)
    differs: Mapping[str, Differ] = field(default_factory=dict)
    codes: tuple[Code, ...] = ()
