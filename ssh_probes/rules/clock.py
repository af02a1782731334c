"""Clock rule: clock.skew, from the host's reading and the bot's clock around the call.

The host read its clock at some instant inside [sent, received] of the bot's clock (give or
take the reading's own precision). Only the distance outside that interval counts as skew: a
slow round trip widens the interval and never creates skew. An NTP that is not synchronised
is a warning even when the clocks agree today: it drifts, and TLS, tokens and log
correlation break with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.rules.base import Rule, Thresholds, level

CLOCK_SKEW = Code(
    "clock.skew",
    "host",
    "Clock skew or NTP not synchronised",
    "The host's clock differs from the bot's by more than the threshold, or NTP is not "
    "synchronised: TLS validity, JWT/OAuth tokens, TOTP, caches and log timelines break.",
    "`timedatectl` and `chronyc tracking` (or `timedatectl timesync-status`): enable NTP "
    "(`timedatectl set-ntp true`), check the NTP servers are reachable (UDP 123).",
)

CODES = (CLOCK_SKEW,)


def skew_s(facts: Facts) -> float | None:
    """Seconds the host is ahead (+) or behind (-) the bot, beyond the round trip; None if
    the bot's clock around the call is unknown."""
    bot = facts.get("bot_clock")
    if not bot:
        return None
    # A reading truncated to `precision` (whole seconds from busybox) means [host, host + p).
    host = float(facts["host_time"])
    precision = float(facts.get("precision_s") or 0)
    # The host slept `slept_s` after the command reached it, so it read its clock after that.
    sent = float(bot["sent"]) + float(facts.get("slept_s") or 0)
    received = float(bot["received"])
    if host + precision < sent:
        return round(host + precision - sent, 3)
    if host > received:
        return round(host - received, 3)
    return 0.0


def _clock(
    facts: Facts, host: HostTarget, t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    skew = skew_s(facts)
    ntp = facts.get("ntp") or {}
    bot = facts.get("bot_clock") or {}
    evidence = {
        "skew_s": skew,
        "round_trip_s": round(bot["received"] - bot["sent"], 3) if bot else None,
        "host_time": facts.get("host_time"),
        "ntp": ntp,
    }
    fix_ntp = (
        "Check time sync: `timedatectl`, then `chronyc tracking` / `chronyc sources -v` (chrony) "
        "or `timedatectl timesync-status` (systemd-timesyncd); turn it on with `timedatectl "
        "set-ntp true` and make sure UDP 123 to the NTP servers is open."
    )
    sev = level(abs(skew), t.clock_skew_warning_s, t.clock_skew_critical_s) if skew else None
    if sev is not None and skew is not None:
        way = "ahead of" if skew > 0 else "behind"
        yield CLOCK_SKEW.finding(
            sev,
            f"host clock is {abs(skew):.1f}s {way} the bot's"
            + ("" if ntp.get("synchronized") is not False else "; NTP not synchronised"),
            detail="Certificates look not-yet-valid or expired, tokens are rejected (JWT "
            "nbf/exp, TOTP), and its logs do not line up with other hosts'.",
            evidence=evidence,
            suggestion=fix_ntp + " A large offset is stepped with `chronyc makestep` (or a "
            "restart of the time service); applications that cache time may need a restart.",
            host=host.name,
        )
    elif ntp.get("synchronized") is False:
        off = "disabled" if ntp.get("enabled") is False else "enabled but not synchronised"
        yield CLOCK_SKEW.finding(
            "warning",
            f"NTP {off}" + (f" (clock {skew:+.1f}s vs the bot's)" if skew is not None else ""),
            detail="The clock agrees today but drifts with nothing correcting it.",
            evidence=evidence,
            suggestion=fix_ntp,
            host=host.name,
        )


RULES: dict[str, Rule] = {"clock": _clock}
