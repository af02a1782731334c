"""`--from HOST`: resolve the name on a registered host (getent, and dig when it has it).

The commands are fixed Probes built per request; the validated name is one argv element of its
own, never shell text. Parsers are pure functions of the CommandResult; `run_probe` runs them
(timeouts, output caps, redaction, an unreachable host as a result) as for triage.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ssh_probes.model import CommandResult, Facts, HostTarget, Probe, ProbeResult
from ssh_probes.runner import could_not_run, run_probe

if TYPE_CHECKING:
    from ssh_probes.executor import Executor

NOT_FOUND = 127  # what a shell (and LocalExecutor) reports for a missing command
AREA = "dns"
DIG_NO_ANSWER = "dig: no answer from the host's resolver"


def getent_argv(name: str) -> list[str]:
    """`getent ahosts NAME`: the host's own view, through nsswitch (/etc/hosts, then DNS)."""
    return ["getent", "ahosts", name]


def dig_argv(name: str, rdtype: str, time_s: int) -> list[str]:
    """`dig +noall +answer NAME TYPE`: the host's resolv.conf resolver, bypassing /etc/hosts."""
    return ["dig", "+noall", "+answer", f"+time={time_s}", "+tries=1", name, rdtype]


def parse_getent(result: CommandResult) -> dict[str, Any]:
    """Addresses from `getent ahosts` (exit 2: the name is not found)."""
    if result.exit_status == NOT_FOUND:
        return {"available": False, "addresses": [], "error": "getent is not installed"}
    addresses: list[str] = []
    for line in result.stdout.splitlines():
        fields = line.split()
        if fields and fields[0] not in addresses:
            addresses.append(fields[0])
    error = None
    if result.timed_out:
        error = "getent timed out"
    elif result.exit_status == 2:
        error = "the host cannot resolve the name (getent: not found)"
    elif result.exit_status != 0:
        error = f"getent exited {result.exit_status}: {result.stderr.strip()[:200]}"
    return {"available": True, "addresses": sorted(addresses), "error": error}


def parse_dig(result: CommandResult) -> dict[str, Any]:
    """Records from `dig +noall +answer` (name ttl class type value per line)."""
    if result.exit_status == NOT_FOUND:
        return {"available": False, "records": [], "error": None}
    records = []
    for line in result.stdout.splitlines():
        fields = line.split(None, 4)
        if len(fields) == 5 and not line.startswith(";"):
            name, ttl, _cls, rdtype, value = fields
            records.append(
                {"name": name.rstrip("."), "type": rdtype, "ttl": int(ttl), "value": value.strip()}
            )
    error = None
    if result.timed_out or result.exit_status == 9:
        error = DIG_NO_ANSWER
    elif result.exit_status != 0:
        error = f"dig exited {result.exit_status}: {result.stderr.strip()[:200]}"
    return {"available": True, "records": records, "error": error}


def getent_probe(name: str, timeout_s: float) -> Probe:
    """`getent ahosts NAME` as a probe (fixed argv, the name one element of its own)."""
    return Probe("getent", AREA, tuple(getent_argv(name)), parse_getent, timeout_s=timeout_s)


def getent_facts(result: ProbeResult) -> Facts:
    """The getent facts of a probe that ran (a timeout reads as the parser says it)."""
    return _parsed(result, {"available": True, "addresses": [], "error": "getent timed out"})


def probes(name: str, wait_s: float) -> tuple[Probe, Probe, Probe]:
    """getent, dig A and dig AAAA for the validated `name`, each a fixed argv + parser."""
    secs, limit = max(1, round(wait_s)), wait_s * 2
    return (
        getent_probe(name, limit),
        Probe("dig:A", AREA, tuple(dig_argv(name, "A", secs)), parse_dig, timeout_s=limit),
        Probe("dig:AAAA", AREA, tuple(dig_argv(name, "AAAA", secs)), parse_dig, timeout_s=limit),
    )


def _parsed(result: ProbeResult, timed_out: Facts) -> Facts:
    """The parser's facts; a command that ran out of time reads as the parser says it."""
    return result.facts if result.ok else timed_out


async def resolve_on(executor: Executor, name: str, *, wait_s: float) -> dict[str, Any]:
    """Run getent and dig A/AAAA on the host at once, through the probe runner; JSON-ready facts.

    The host unreachable is data: `error`, `code` and `detail` instead of the views.
    """
    host = HostTarget(name=executor.host)
    got = await asyncio.gather(*(run_probe(executor, p, host) for p in probes(name, wait_s)))
    base = {"kind": "from", "host": executor.host, "name": name}
    # Any of them unreachable (they share one connection): nothing there can be trusted.
    gone = next((found for r in got if (found := could_not_run(r)) is not None), None)
    if gone is not None:
        code, detail = gone
        return {**base, "error": f"{executor.host}: {detail}", "detail": detail, "code": code}
    getent = getent_facts(got[0])
    no_answer = {"available": True, "records": [], "error": DIG_NO_ANSWER}
    digs = [_parsed(r, no_answer) for r in got[1:]]
    dig: dict[str, Any] = {"available": digs[0]["available"]}
    if dig["available"]:
        records = digs[0]["records"] + digs[1]["records"]
        dig["records"] = records
        dig["addresses"] = sorted(r["value"] for r in records if r["type"] in ("A", "AAAA"))
        dig["error"] = digs[0]["error"] or digs[1]["error"]
    return {**base, "getent": getent, "dig": dig}
