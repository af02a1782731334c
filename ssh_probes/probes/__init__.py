"""One module per area; every probe is a fixed command and a pure parser.

PROBES maps a probe name to its Probe; FOUNDATION_PROBES is what `triage` runs by default.
"""

from __future__ import annotations

from ssh_probes.model import Probe
from ssh_probes.probes.disk import DISK
from ssh_probes.probes.load import LOAD
from ssh_probes.probes.sockets import SOCKETS

PROBES: dict[str, Probe] = {p.name: p for p in (LOAD, DISK, SOCKETS)}
FOUNDATION_PROBES: tuple[str, ...] = ("load", "disk", "sockets")
