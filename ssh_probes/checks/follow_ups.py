"""Follow-up probes: what a check runs after the first round, from that round's results."""

from __future__ import annotations

from collections.abc import Sequence

from ssh_probes.model import Probe, ProbeResult
from ssh_probes.probes import disk_usage, docker_detail
from ssh_probes.rules.base import Thresholds
from ssh_probes.rules.disk import over_threshold
from ssh_probes.rules.docker_calls import detail_targets


def _ok(results: Sequence[ProbeResult], probe: str) -> ProbeResult | None:
    return next((r for r in results if r.probe == probe and r.ok), None)


def disk(results: Sequence[ProbeResult], thresholds: Thresholds) -> list[Probe]:
    """du on each filesystem over a threshold, so the finding can name the biggest directories."""
    found = _ok(results, "disk")
    if found is None:
        return []
    space, inodes = over_threshold(found.facts, thresholds)
    return [disk_usage.probe(m) for m in space] + [disk_usage.probe(m, inodes=True) for m in inodes]


def docker(results: Sequence[ProbeResult], _thresholds: Thresholds) -> list[Probe]:
    """The names containers call (resolved on the host) and failing containers' logs."""
    found = _ok(results, "docker")
    if found is None:
        return []
    names, ids = detail_targets(found.facts)
    return [docker_detail.probe(names, ids)] if names or ids else []
