"""Compare a host with its siblings: a pure function of their stored facts -> findings.

`compare` gives the host's `fleet.outlier` findings (each naming the siblings' values) and one
`fleet.siblings` info finding saying plainly what it was compared with: a group of one,
unreachable siblings (which do not count toward the majority), runs reused from the store.
`stand_out` compares every member of a group with the others, for the digest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from commands.fleet import answers, measures, outliers
from commands.fleet.codes import FLEET_OUTLIER, FLEET_SIBLINGS
from commands.fleet.outliers import Check, HostFacts, Limits
from commands.fleet.words import host_list
from ssh_probes.model import Finding
from ssh_probes.rules.base import Thresholds

__all__ = ["CHECKS", "Limits", "Member", "compare", "outlier_findings", "stand_out"]

CHECKS: tuple[Check, ...] = (
    outliers.ports,
    outliers.failed_units,
    outliers.containers,
    outliers.versions,
    measures.disk,
    measures.tcp_states,
    measures.cpu,
    answers.log_groups,
    answers.dns_answers,
)


@dataclass(frozen=True)
class Member:
    """One host of the group as its run left it: facts of the ok results, or why none."""

    name: str
    facts: HostFacts = field(default_factory=dict)
    unreachable: str = ""  # the run's ssh.* code (or why it has no facts); "" when it has facts
    run_id: int | None = None
    reused_age_s: int | None = None  # a stored run reused, this old; None: run just now

    @property
    def comparable(self) -> bool:
        """True when the run gathered facts (an unreachable host does not count)."""
        return not self.unreachable and bool(self.facts)


def outlier_findings(
    host: Member,
    siblings: Sequence[Member],
    group: str,
    thresholds: Thresholds | None = None,
    limits: Limits | None = None,
) -> list[Finding]:
    """The host's fleet.outlier findings against its comparable siblings (none: no finding)."""
    t, lim = thresholds or Thresholds(), limits or Limits()
    sibs = {s.name: s.facts for s in siblings if s.comparable and s.name != host.name}
    if not sibs or not host.comparable:
        return []
    found = []
    for check in CHECKS:
        for o in check(host.name, host.facts, sibs, t, lim):
            found.append(
                FLEET_OUTLIER.finding(
                    severity="warning",
                    title=f"{o.title} ({group}): {o.values}",
                    detail=f"Compared with {len(sibs)} sibling{'s' if len(sibs) != 1 else ''} "
                    f"labelled {group}: {o.values}.",
                    evidence={"kind": o.kind, "key": o.key, "group": group, **o.evidence},
                    suggestion=o.suggestion,
                    host=host.name,
                )
            )
    return found


def siblings_finding(host: Member, siblings: Sequence[Member], group: str) -> Finding:
    """Info, said plainly: which siblings were compared, which could not be, and why."""
    others = [s for s in siblings if s.name != host.name]
    counted = [s for s in others if s.comparable]
    lost = [s for s in others if not s.comparable]
    lost_text = ", ".join(f"{s.name} ({s.unreachable or 'no facts'})" for s in lost)
    if not host.comparable:
        title = f"{host.name} could not be compared with {group}: its own run gathered no facts"
    elif not others:
        title = f"{host.name} is the only host labelled {group}: nothing to compare it with"
    elif not counted:
        title = f"No sibling of {host.name} in {group} could be compared: {lost_text} unreachable"
    else:
        title = f"Compared {host.name} with {len(counted)} of {len(others)} siblings in {group}: "
        title += host_list([s.name for s in counted])
        if lost:
            title += f"; not counted (unreachable): {lost_text}"
    reused = [s for s in counted if s.reused_age_s is not None]
    detail = "; ".join(
        f"{s.name} from stored run {s.run_id} ({(s.reused_age_s or 0) // 60} min old)"
        for s in reused
    )
    return FLEET_SIBLINGS.finding(
        severity="info",
        title=title,
        detail=("Reused: " + detail) if detail else "Every sibling was triaged just now.",
        evidence={
            "group": group,
            "compared": [s.name for s in counted],
            "unreachable": {s.name: s.unreachable or "no facts" for s in lost},
            "runs": {s.name: s.run_id for s in counted},
            "reused": {s.name: s.reused_age_s for s in reused},
        },
        host=host.name,
    )


def compare(
    host: Member,
    siblings: Sequence[Member],
    group: str,
    thresholds: Thresholds | None = None,
    limits: Limits | None = None,
) -> list[Finding]:
    """The host's outliers against the majority of its siblings, then what it was compared with."""
    found = outlier_findings(host, siblings, group, thresholds, limits)
    return [*found, siblings_finding(host, siblings, group)]


def stand_out(
    members: Sequence[Member],
    group: str,
    thresholds: Thresholds | None = None,
    limits: Limits | None = None,
) -> Mapping[str, list[Finding]]:
    """Each member compared with the rest: name -> its outliers (hosts with none left out)."""
    out: dict[str, list[Finding]] = {}
    for m in members:
        found = outlier_findings(m, [s for s in members if s is not m], group, thresholds, limits)
        if found:
            out[m.name] = found
    return out
