"""systemd rules: service.failed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.rules.base import Rule, Thresholds

SERVICE_FAILED = Code(
    "service.failed",
    "host",
    "Failed systemd unit",
    "A unit is in the failed state.",
    "`systemctl status UNIT` and `journalctl -u UNIT -n 200`, fix, `systemctl restart UNIT`.",
)

CODES = (SERVICE_FAILED,)


def _failed(
    facts: Facts, host: HostTarget, _t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    for unit in facts.get("failed", []):
        name = unit["unit"]
        what = f" ({unit['description']})" if unit.get("description") else ""
        yield SERVICE_FAILED.finding(
            severity="critical",
            title=f"systemd unit {name}{what} is {unit['active']}/{unit['sub']}",
            detail="The unit stopped in the failed state: it crashed, exited non-zero, hit its "
            "restart limit or a dependency failed.",
            evidence=dict(unit),
            suggestion=(
                f"`systemctl status {name} --no-pager` for the exit code, then "
                f"`journalctl -u {name} -n 200 --no-pager` for why; fix the cause and "
                f"`systemctl restart {name}` (after a restart limit, "
                f"`systemctl reset-failed {name}` first)."
            ),
            host=host.name,
        )


RULES: dict[str, Rule] = {"services": _failed}
