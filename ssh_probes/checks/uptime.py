"""Uptime: did the host reboot a few minutes ago? The whole check in one module.

A recent reboot explains a lot at once (services still starting, caches cold, tmpfs empty,
a kernel panic or watchdog behind it), so the routine says so. The probe reads
`/proc/uptime` and the boot time (`btime` of /proc/stat) with shell builtins only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ssh_probes.checks.base import Check, static
from ssh_probes.codes import Code
from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, Finding, HostTarget, Probe
from ssh_probes.rules.base import Thresholds

HOST_REBOOTED = Code(
    "host.rebooted",
    "host",
    "The host rebooted a few minutes ago",
    "The kernel booted recently: a deliberate restart, an update, or a crash (kernel panic, "
    "watchdog, power loss). Services may still be starting and caches are cold.",
    "`journalctl --list-boots` and `journalctl -b -1 -e` (the end of the previous boot) for "
    "why; `last -x reboot shutdown`; check that every expected service came back.",
)

SCRIPT = r"""
read -r up idle < /proc/uptime || exit 1
echo "uptime $up"
while read -r key value; do
  if [ "$key" = btime ]; then echo "btime $value"; break; fi
done < /proc/stat
exit 0
"""
# btime is computed from the uptime by the kernel, so two reads of one boot can differ by 1 s.
BOOT_JITTER_S = 5


def parse(result: CommandResult) -> Facts:
    """`uptime 6610.65` and `btime 1764435508` -> seconds up and the boot time (UTC)."""
    values = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    if "uptime" not in values:
        raise ValueError(f"expected /proc/uptime, got {result.stdout[:80]!r}")
    facts: Facts = {"uptime_s": round(float(values["uptime"]), 1)}
    if "btime" in values:
        boot = int(values["btime"])
        facts["boot_epoch"] = boot
        facts["boot_time"] = datetime.fromtimestamp(boot, UTC).isoformat()
    return facts


UPTIME = Probe(
    name="uptime", area="kernel", command=("sh", "-c", SCRIPT), parse=parse, timeout_s=QUICK_LIMIT_S
)


def _ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def rule(
    facts: Facts, host: HostTarget, t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    """host.rebooted (warning) when the host has been up less than reboot_recent_min."""
    up = float(facts["uptime_s"])
    if up >= t.reboot_recent_min * 60:
        return
    boot = facts.get("boot_time") or "unknown"
    yield HOST_REBOOTED.finding(
        severity="warning",
        title=f"{host.name} rebooted {_ago(up)} ago (booted {boot})",
        detail=f"Up {up:.0f} s, under the {t.reboot_recent_min:g} min threshold: other "
        "findings may be the boot itself (services starting, caches cold).",
        evidence={"uptime_s": up, "boot_time": boot},
        suggestion=f"On {host.name}: `journalctl -b -1 -e` (how the previous boot ended), "
        "`journalctl --list-boots`, `last -x reboot shutdown`; then check that every "
        "expected service is back (`systemctl --failed`).",
        host=host.name,
    )


def lines(facts: Facts) -> list[str]:
    """`up 1 h 50 min, booted 2026-11-29T17:08:28+00:00`."""
    boot = f", booted {facts['boot_time']}" if facts.get("boot_time") else ""
    return [f"up {_ago(float(facts['uptime_s']))}{boot}"]


def differ(before: Facts, now: Facts) -> dict[str, Any]:
    """A reboot between the two runs: the boot time moved."""
    old, new = before.get("boot_epoch"), now.get("boot_epoch")
    if old is None or new is None or abs(new - old) <= BOOT_JITTER_S:
        return {}
    return {"rebooted": {"before": before.get("boot_time"), "now": now.get("boot_time")}}


CHECK = Check(
    name="uptime",
    area="kernel",  # shown with the kernel's facts ("Kernel and limits")
    probes={"uptime": static(UPTIME)},
    rules={"uptime": rule},
    summaries={"uptime": lines},
    differs={"uptime": differ},
    codes=(HOST_REBOOTED,),
)
