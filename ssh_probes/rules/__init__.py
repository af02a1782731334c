"""Pure rules: parsed facts -> Findings with severity, evidence and a suggested fix.

One module per area (`cpu`, `disk`, `sockets`, ...), each exporting `RULES`: probe name ->
rule, and `CODES`. A rule reads the facts of its probe and of the probes its check declares
in `needs`, and knows nothing of executors, Slack or the database. Thresholds are a value
object so settings can change them; their defaults are the documented ones.

RULES, CODES, `evaluate` and `unavailable` are derived from the check registry
(ssh_probes.checks) and read from there on first use: the registry imports these modules.
"""

from __future__ import annotations

from typing import Any

from ssh_probes.rules.base import Rule, Thresholds, human_kb, level
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
    "unavailable",
]

_FROM_REGISTRY = ("RULES", "CODES", "evaluate", "unavailable")


def __getattr__(name: str) -> Any:
    """The registry's views under their old names."""
    if name in _FROM_REGISTRY:
        from ssh_probes import checks

        return getattr(checks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
