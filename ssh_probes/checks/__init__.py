"""The check registry: one `Check` per area of the host routine, one line each in CHECKS.

Everything else is derived from it: the probes `triage` runs (FACTORIES, DEFAULT_PROBES, in
registry order), the rule per probe (RULES, chained in registry order where two checks read
the same probe), what each rule may read (NEEDS), the follow-up probes, the summary lines,
the differs and the codes (CODES, for the catalog). Adding a check = one module holding its
probe, rule, code, summary and differ (see checks/uptime.py) + one line in CHECKS.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from ssh_probes.checks import follow_ups, uptime
from ssh_probes.checks import lines as L
from ssh_probes.checks.base import Check, Differ, ProbeFactory, Summary, static
from ssh_probes.checks.differs import connections_diff, disk_diff, sockets_diff
from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget, Probe, ProbeResult
from ssh_probes.probes import clock as clock_p
from ssh_probes.probes import limits as limits_p
from ssh_probes.probes import logs as logs_p
from ssh_probes.probes import processes as processes_p
from ssh_probes.probes import stat as stat_p
from ssh_probes.probes.connections import CONNECTIONS
from ssh_probes.probes.disk import DISK
from ssh_probes.probes.docker import DOCKER
from ssh_probes.probes.kernel import KERNEL
from ssh_probes.probes.load import LOAD
from ssh_probes.probes.resolve import RESOLVE
from ssh_probes.probes.services import SERVICES
from ssh_probes.probes.sockets import SOCKETS
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
from ssh_probes.rules.base import SOURCE_UNAVAILABLE, Rule, Thresholds

__all__ = ["CHECKS", "CODES", "DEFAULT_PROBES", "FACTORIES", "NEEDS", "RULES", "Check"]

CHECKS: tuple[Check, ...] = (
    Check("source", "host", codes=base.CODES),  # source.unavailable, for every probe
    Check("load", "cpu", {"load": static(LOAD)}, summaries={"load": L.load_lines}),
    Check(
        "cpu",
        "cpu",
        {"stat": stat_p.probe},
        cpu.RULES,
        needs=frozenset({"load", "processes"}),
        summaries={"stat": L.stat_lines},
        codes=(*cpu.CODES, *memory.CODES),
    ),
    Check(
        "processes",
        "cpu",
        {"processes": processes_p.probe},
        summaries={"processes": L.processes_lines},
    ),
    Check(
        "disk",
        "disk",
        {"disk": static(DISK)},
        disk.RULES,
        needs=frozenset({"disk_usage", "inode_usage"}),
        follow_ups=follow_ups.disk,
        summaries={"disk": L.disk_lines, "disk_usage": L.usage_lines, "inode_usage": L.usage_lines},
        differs={"disk": disk_diff},
        codes=disk.CODES,
    ),
    Check(
        "sockets",
        "network",
        {"sockets": static(SOCKETS)},
        sockets.RULES,
        needs=frozenset({"docker", "kernel", "limits"}),
        summaries={"sockets": L.sockets_lines},
        differs={"sockets": sockets_diff},
        codes=sockets.CODES,
    ),
    Check(
        "connections",
        "network",
        {"connections": static(CONNECTIONS)},
        connections.RULES,
        summaries={"connections": L.connections_lines},
        differs={"connections": connections_diff},
        codes=connections.CODES,
    ),
    Check(
        "docker",
        "docker",
        {"docker": static(DOCKER)},
        docker.RULES,
        needs=frozenset({"docker_detail"}),
        follow_ups=follow_ups.docker,
        summaries={"docker": L.docker_lines, "docker_detail": L.docker_detail_lines},
        codes=(*docker.CODES, *docker_calls.CODES, *docker_hairpin.CODES),
    ),
    Check(
        "kernel",
        "kernel",
        {"kernel": static(KERNEL)},
        kernel.RULES,
        needs=frozenset({"limits"}),
        summaries={"kernel": L.kernel_lines},
        codes=kernel.CODES,
    ),
    Check(
        "limits",
        "kernel",
        {"limits": limits_p.probe},
        limits.RULES,
        needs=frozenset({"kernel", "logs", "sockets"}),
        summaries={"limits": L.limits_lines},
        codes=limits.CODES,
    ),
    Check(
        "clock",
        "kernel",
        {"clock": clock_p.probe},
        clock.RULES,
        summaries={"clock": L.clock_lines},
        codes=clock.CODES,
    ),
    Check(
        "services",
        "services",
        {"services": static(SERVICES)},
        services.RULES,
        summaries={"services": L.services_lines},
        codes=services.CODES,
    ),
    Check(
        "logs",
        "logs",
        {"logs": logs_p.probe},
        logs.RULES,
        summaries={"logs": L.logs_lines},
        codes=logs.CODES,
    ),
    Check(
        "resolve",
        "dns",
        {"resolve": static(RESOLVE)},
        resolve.RULES,
        summaries={"resolve": L.resolve_lines},
        codes=resolve.CODES,
    ),
    # Node's IPv6-first connect timeouts, in container logs (docker_detail) and the host's (logs).
    Check(
        "happy_eyeballs",
        "logs",
        rules=happy_eyeballs.RULES,
        needs=frozenset({"docker"}),
        codes=happy_eyeballs.CODES,
    ),
    uptime.CHECK,
    Check("ssh", "ssh", codes=unreachable.CODES),  # a host out of reach: commands/triage.py
)


def _chain(first: Rule, second: Rule) -> Rule:
    """Both rules on the same probe's facts, first's findings first."""

    def rule(
        facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
    ) -> Iterator[Finding]:
        yield from first(facts, host, t, extra)
        yield from second(facts, host, t, extra)

    return rule


def _rules() -> dict[str, Rule]:
    out: dict[str, Rule] = {}
    for check in CHECKS:
        for probe, rule in check.rules.items():
            out[probe] = _chain(out[probe], rule) if probe in out else rule
    return out


def _needs() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for check in CHECKS:
        for probe in check.rules:
            out[probe] = out.get(probe, frozenset()) | check.needs | {probe}
    return out


FACTORIES: dict[str, ProbeFactory] = {n: f for c in CHECKS for n, f in c.probes.items()}
DEFAULT_PROBES: tuple[str, ...] = tuple(FACTORIES)
RULES: dict[str, Rule] = _rules()
# probe -> the probes (base names) whose facts its rule may read, its own included.
NEEDS: dict[str, frozenset[str]] = _needs()
SUMMARIES: dict[str, Summary] = {n: s for c in CHECKS for n, s in c.summaries.items()}
DIFFERS: dict[str, Differ] = {n: d for c in CHECKS for n, d in c.differs.items()}
CODES: tuple[Code, ...] = tuple(code for c in CHECKS for code in c.codes)


def follow_up_probes(results: Sequence[ProbeResult], thresholds: Thresholds) -> list[Probe]:
    """Every check's follow-up probes for this run's first-round results, in registry order."""
    return [p for c in CHECKS if c.follow_ups for p in c.follow_ups(results, thresholds)]


def visible(probe: str, ok: Mapping[str, Facts]) -> dict[str, Facts]:
    """The facts `probe`'s rule declared it needs (`disk_usage:/var` counts as `disk_usage`)."""
    needs = NEEDS.get(probe, frozenset({probe}))
    return {k: v for k, v in ok.items() if k.split(":", 1)[0] in needs}


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
    Each rule sees its own probe's facts and those its check declares in `needs`.
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
            findings.extend(rule(facts, host, t, visible(probe, ok)))
    return findings
