"""One module per area; every probe is a fixed command and a pure parser.

A probe whose source is missing on a host (no systemd, no docker) parses to
`{"available": False, "why": "...", "hint": "..."}`: an info finding, not a failed probe.

FACTORIES (probe name -> function of ProbeConfig returning the Probe) and DEFAULT_PROBES
(what `triage` runs, in report order) are derived from the check registry,
ssh_probes.checks, and read from there on first use: the registry imports these modules.
"""

from __future__ import annotations

from typing import Any

from ssh_probes.model import Probe, ProbeConfig
from ssh_probes.probes.factory import ProbeFactory, static

__all__ = ["DEFAULT_PROBES", "FACTORIES", "FOUNDATION_PROBES", "ProbeFactory", "build", "static"]

FOUNDATION_PROBES: tuple[str, ...] = ("load", "disk", "sockets")


def build(name: str, config: ProbeConfig | None = None) -> Probe:
    """The probe called `name` under `config` (KeyError for an unknown name)."""
    from ssh_probes import checks

    return checks.FACTORIES[name](config or ProbeConfig())


def __getattr__(name: str) -> Any:
    """FACTORIES and DEFAULT_PROBES, the registry's views, under their old names."""
    if name in ("FACTORIES", "DEFAULT_PROBES"):
        from ssh_probes import checks

        return getattr(checks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
