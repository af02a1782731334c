"""systemd rules: service.failed and service.crash_loop.

A unit in `activating (auto-restart)` exited and systemd waits RestartSec= to start it again:
a crash loop caught before StartLimitBurst= turns it `failed`. Warning on the first restarts,
critical from `service_restarts_critical` NRestarts; a unit still starting (`activating
(start)`) is a crash loop only with that many restarts behind it (a slow start is not).
"""

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

SERVICE_CRASH_LOOP = Code(
    "service.crash_loop",
    "host",
    "systemd unit restarting in a loop",
    "The unit keeps exiting and systemd keeps restarting it (`activating (auto-restart)`, "
    "NRestarts growing): it is down most of the time and will end `failed` at its start limit.",
    "`journalctl -u UNIT -n 200` for why each start dies (config error, missing dependency, "
    "port in use, OOM); fix the cause rather than restarting again.",
)

CODES = (SERVICE_FAILED, SERVICE_CRASH_LOOP)


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


def _crash_loop(
    facts: Facts, host: HostTarget, t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    for unit in facts.get("restarting", []):
        name, restarts = unit["unit"], unit.get("restarts")
        many = restarts is not None and restarts >= t.service_restarts_critical
        if unit["sub"] != "auto-restart" and not many:
            continue  # starting, perhaps slowly, with no restarts behind it
        count = f"{restarts} restart(s)" if restarts is not None else "restart count unknown"
        yield SERVICE_CRASH_LOOP.finding(
            severity="critical" if many else "warning",
            title=f"systemd unit {name} is crash-looping: {unit['active']} ({unit['sub']}), "
            f"{count}" + (f", last result {unit['result']}" if unit.get("result") else ""),
            detail="The service exits shortly after each start and systemd starts it again: "
            "it is down most of the time, and reaches `failed` at its start limit.",
            evidence=dict(unit),
            suggestion=(
                f"Why each start dies: `journalctl -u {name} -n 200 --no-pager` (look above "
                f"each 'Main process exited'), `systemctl status {name} --no-pager` for the "
                f"exit code. Usual causes: a config error, a port in use (`ss -lntp`), a "
                f"missing dependency or file, the OOM killer. To stop the loop while you fix "
                f"it: `systemctl stop {name}` (the service stays down)."
            ),
            host=host.name,
        )


def _services(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    yield from _failed(facts, host, t, extra)
    yield from _crash_loop(facts, host, t, extra)


RULES: dict[str, Rule] = {"services": _services}
