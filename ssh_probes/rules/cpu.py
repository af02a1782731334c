"""CPU rules: cpu.saturated."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.rules.base import Rule, Thresholds, level


def _cpu(
    facts: Facts, host: HostTarget, t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    per_core = facts["load1"] / facts["cpus"]
    severity = level(per_core, t.load_per_core, t.load_per_core_critical)
    if severity is None:
        return
    yield Finding(
        code="cpu.saturated",
        severity=severity,
        title=(
            f"load {facts['load1']:.2f} on {facts['cpus']} CPU(s): {per_core:.2f} per core "
            f"(threshold {t.load_per_core:g})"
        ),
        detail="More runnable (or uninterruptible) tasks than CPUs: requests queue for CPU time.",
        evidence={k: facts[k] for k in ("load1", "load5", "load15", "cpus", "running")},
        suggestion=(
            "See what runs: `ps -eo pid,ppid,user,%cpu,%mem,cmd --sort=-%cpu | head -15` and "
            "`top -H` for hot threads; `vmstat 1 5` tells CPU-bound (r high, wa low) from "
            "IO-bound (wa high, b high). Scale out or cap the offender before restarting it."
        ),
        host=host.name,
    )


RULES: dict[str, Rule] = {"load": _cpu}
