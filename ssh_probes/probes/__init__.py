"""One module per area; every probe is a fixed command and a pure parser.

A probe whose source is missing on a host (no systemd, no docker) parses to
`{"available": False, "why": "...", "hint": "..."}`: an info finding, not a failed probe.

FACTORIES maps a probe name to a function of ProbeConfig that returns the Probe (most
ignore the config; sampling and log probes take their window from it). DEFAULT_PROBES is
what `triage` runs, in report order.
"""

from __future__ import annotations

from collections.abc import Callable

from ssh_probes.model import Probe, ProbeConfig
from ssh_probes.probes.clock import probe as clock_probe
from ssh_probes.probes.connections import CONNECTIONS
from ssh_probes.probes.disk import DISK
from ssh_probes.probes.docker import DOCKER
from ssh_probes.probes.kernel import KERNEL
from ssh_probes.probes.limits import probe as limits_probe
from ssh_probes.probes.load import LOAD
from ssh_probes.probes.logs import probe as logs_probe
from ssh_probes.probes.processes import probe as processes_probe
from ssh_probes.probes.resolve import RESOLVE
from ssh_probes.probes.services import SERVICES
from ssh_probes.probes.sockets import SOCKETS
from ssh_probes.probes.stat import probe as stat_probe

ProbeFactory = Callable[[ProbeConfig], Probe]


def static(probe: Probe) -> ProbeFactory:
    """A factory for a probe whose command does not depend on the config."""
    return lambda _config: probe


FACTORIES: dict[str, ProbeFactory] = {
    "load": static(LOAD),
    "stat": lambda c: stat_probe(c),
    "processes": lambda c: processes_probe(c),
    "disk": static(DISK),
    "sockets": static(SOCKETS),
    "connections": static(CONNECTIONS),
    "docker": static(DOCKER),
    "kernel": static(KERNEL),
    "limits": lambda c: limits_probe(c),
    "clock": lambda c: clock_probe(c),
    "services": static(SERVICES),
    "logs": lambda c: logs_probe(c),
    "resolve": static(RESOLVE),
}
FOUNDATION_PROBES: tuple[str, ...] = ("load", "disk", "sockets")
DEFAULT_PROBES: tuple[str, ...] = tuple(FACTORIES)


def build(name: str, config: ProbeConfig | None = None) -> Probe:
    """The probe called `name` under `config` (KeyError for an unknown name)."""
    return FACTORIES[name](config or ProbeConfig())
