"""Pure rules: parsed facts -> Findings with severity, evidence and a suggested fix.

One module per area (`cpu`, `disk`, `sockets`, ...), each exporting `RULES`: probe name ->
rule. A rule reads the facts of its probe (and of the others, for follow-ups such as the du
drill-down) and knows nothing of executors, Slack or the database. Thresholds are a value
object so settings can change them; their defaults are the documented ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget, ProbeResult
from ssh_probes.rules import (
    base,
    clock,
    connections,
    cpu,
    disk,
    docker,
    docker_calls,
    docker_hairpin,
    happy_eyeballs,
    kernel,
    limits,
    logs,
    memory,
    resolve,
    services,
    sockets,
    unreachable,
)
from ssh_probes.rules.base import SOURCE_UNAVAILABLE, Rule, Thresholds, human_kb, level
from ssh_probes.rules.disk import over_threshold

__all__ = [
    "CODES",
    "RULES",
    "Rule",
    "Thresholds",
    "evaluate",
    "human_kb",
    "level",
    "over_threshold",
]

# Every host code, each declared beside the rule that emits it.
CODES: tuple[Code, ...] = (
    *base.CODES,
    *cpu.CODES,
    *memory.CODES,
    *disk.CODES,
    *sockets.CODES,
    *connections.CODES,
    *docker.CODES,
    *docker_calls.CODES,
    *docker_hairpin.CODES,
    *happy_eyeballs.CODES,
    *kernel.CODES,
    *clock.CODES,
    *limits.CODES,
    *services.CODES,
    *logs.CODES,
    *resolve.CODES,
    *unreachable.CODES,
)


def _chain(first: Rule, second: Rule) -> Rule:
    """Both rules on the same probe's facts, first's findings first."""

    def rule(
        facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
    ) -> Iterator[Finding]:
        yield from first(facts, host, t, extra)
        yield from second(facts, host, t, extra)

    return rule


def _merge(*tables: Mapping[str, Rule]) -> dict[str, Rule]:
    """One rule per probe; modules that read the same probe's facts are chained."""
    out: dict[str, Rule] = {}
    for table in tables:
        for probe, rule in table.items():
            out[probe] = _chain(out[probe], rule) if probe in out else rule
    return out


RULES: dict[str, Rule] = _merge(
    cpu.RULES,
    disk.RULES,
    sockets.RULES,
    docker.RULES,
    connections.RULES,
    kernel.RULES,
    clock.RULES,
    limits.RULES,
    services.RULES,
    logs.RULES,
    resolve.RULES,
    # Reads container logs (docker_detail) and the host's (logs) for Node's connect timeouts.
    happy_eyeballs.RULES,
)


def unavailable(probe: str, facts: Facts, host: HostTarget) -> Finding:
    """Info: the host lacks a source (no systemd, no docker, no permission); not an error."""
    why = str(facts.get("why") or "not available on this host")
    return SOURCE_UNAVAILABLE.finding(
        severity="info",
        title=f"{probe}: {why}",
        detail="This part of the routine could not look; nothing was concluded from it.",
        evidence={"probe": probe, "why": why},
        suggestion=str(facts.get("hint") or ""),
        host=host.name,
    )


def evaluate(
    results: Sequence[ProbeResult], host: HostTarget, thresholds: Thresholds | None = None
) -> list[Finding]:
    """Every finding the facts support; a failed probe yields none (its error is reported).

    Follow-up probes are named `base:detail` (`disk_usage:/var`); rules key on the base name.
    """
    t = thresholds or Thresholds()
    ok = {r.probe: r.facts for r in results if r.ok}
    findings: list[Finding] = []
    for probe, facts in ok.items():
        if facts.get("available") is False:
            findings.append(unavailable(probe, facts, host))
            continue
        rule = RULES.get(probe)
        if rule is not None:
            findings.extend(rule(facts, host, t, ok))
    return findings
