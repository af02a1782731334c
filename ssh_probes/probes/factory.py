"""How the registry holds a probe: a function of the config that returns it."""

from __future__ import annotations

from collections.abc import Callable

from ssh_probes.model import Probe, ProbeConfig

ProbeFactory = Callable[[ProbeConfig], Probe]


def static(probe: Probe) -> ProbeFactory:
    """A factory for a probe whose command does not depend on the config."""
    return lambda _config: probe
