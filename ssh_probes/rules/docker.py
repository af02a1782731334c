"""Docker rules: docker.restarting and docker.memory_near_limit; the calls between containers
(docker.network_isolated, docker.hairpin) are in docker_calls and docker_hairpin.

A failure counts while the container restarts or stopped within the last 24 hours (its
State.FinishedAt against the host's clock when the probe ran); an older one is an info line.
The advice uses the container's own limit and usage (docker stats) and its last log lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget, Severity
from ssh_probes.rules import docker_calls, docker_hairpin
from ssh_probes.rules.base import Rule, Thresholds

DOCKER_RESTARTING = Code(
    "docker.restarting",
    "host",
    "Container restarting",
    "A container keeps restarting (crash loop or failing health check).",
    "`docker logs --tail 200 CONTAINER` and `docker inspect` for its exit code and OOM flag.",
)

DOCKER_MEMORY_NEAR_LIMIT = Code(
    "docker.memory_near_limit",
    "host",
    "Container near its memory limit",
    "A container uses 90 % or more of its memory limit: the next spike gets it OOM-killed.",
    "Raise the limit (`docker update --memory`, mem_limit in compose) or find what grows.",
)

CODES = (DOCKER_RESTARTING, DOCKER_MEMORY_NEAR_LIMIT)


_EXIT_HINT = {
    137: "137 = killed (SIGKILL): an OOM kill, `docker kill` or a stop timeout",
    139: "139 = SIGSEGV: the process crashed",
    143: "143 = SIGTERM: it was stopped",
    1: "1 = the application exited with an error: its last log lines say why",
}


_STATUS_CODE = re.compile(r"^(?:Restarting|Exited) \((\d+)\)")


def _mib(n: int) -> str:
    return f"{n / 1048576:.0f} MiB"


FRESH_S = 24 * 3600  # a failure older than this is history, not an incident


def _age_s(c: dict[str, Any], now: int | None) -> float | None:
    """Seconds since the container last stopped (State.FinishedAt), None when unknown."""
    stamp = str(c.get("finished_at") or "")
    if now is None or not stamp or stamp.startswith("0001-"):
        return None
    try:
        # Docker prints nanoseconds; fromisoformat takes at most microseconds.
        head, _, frac = stamp.rstrip("Z").partition(".")
        at = datetime.fromisoformat(head + (f".{frac[:6]}" if frac else "")).replace(tzinfo=UTC)
    except ValueError:
        return None
    return now - at.timestamp()


def _memory_advice(c: dict[str, Any], oom: bool) -> str:
    name, limit, used = c["name"], int(c["memory_limit"]), c.get("memory_usage")
    use = f" (in use now: {_mib(int(used))})" if used is not None else ""
    if limit:
        more = max(2 * limit // 1048576, 1)
        return (
            f"Its memory limit is {_mib(limit)}{use}: raise it (`docker update --memory {more}m "
            f"--memory-swap {more}m {name}`, or mem_limit in compose) or find what grows."
        )
    if oom:
        return (
            f"It has no memory limit{use}: the host itself ran short; check `free -h` and what "
            "else grew, or set a limit so one container cannot starve the rest."
        )
    return (
        "Exit 137 without OOMKilled: it was killed (SIGKILL): the OOM killer of the host, "
        f"`docker kill`, or a stop timeout (`docker stop` waits 10 s, then kills){use}."
    )


def _words(c: dict[str, Any], logs: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The container's own last words: its biggest log groups and last line."""
    entry = logs.get(c["id"]) or {}
    groups = list(entry.get("groups") or [])
    last = list(entry.get("last") or [])
    if not groups and not last:
        return "", []
    said = "; ".join(f"{g['example']} (x{g['count']})" for g in groups[:3]) or last[-1]
    return f" Its last log lines say: {said[:600]}", groups


def _restarting(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    logs = (extra.get("docker_detail") or {}).get("logs") or {}
    for c in facts["containers"]:
        name, count = c["name"], c["restart_count"]
        status = str(c.get("status") or "")
        # ps and inspect run a moment apart: a crash-looping container may be `running` (just
        # restarted, ExitCode 0, OOMKilled still set) in one and `Restarting (137)` in the other.
        looping = c["state"] == "restarting" or status.startswith("Restarting")
        was = _STATUS_CODE.match(status)
        code = c["exit_code"] or (int(was[1]) if was else 0)
        oom = c["oom_killed"] and (
            c["state"] in ("exited", "dead", "restarting") or (looping or count > 0)
        )
        if not (looping or oom or count >= t.docker_restarts_warning):
            continue
        age = _age_s(c, facts.get("now"))
        stale = not looping and c["state"] != "running" and age is not None and age > FRESH_S
        why = []
        if looping:
            why.append("in state restarting")
        if oom:
            why.append("killed for lack of memory (OOMKilled)")
        why.append(f"{count} restarts, last exit code {code}")
        if stale:
            assert age is not None
            why.append(f"stopped {age / 86400:.0f} days ago")
        hint = _EXIT_HINT.get(code, "")
        words, groups = _words(c, logs)
        memory = _memory_advice(c, c["oom_killed"])
        severity: Severity = "critical" if looping or oom else "warning"
        yield DOCKER_RESTARTING.finding(
            severity="info" if stale else severity,
            title=f"container {name} " + ", ".join(why),
            detail=(c.get("status") or f"state {c['state']}")
            + (f"; exit {hint}" if hint else "")
            + words,
            evidence={
                "container": name,
                "image": c["image"],
                "state": c["state"],
                "status": c.get("status"),
                "restart_count": count,
                "exit_code": code,
                "oom_killed": c["oom_killed"],
                "restart_policy": c["restart_policy"],
                "memory_limit": c["memory_limit"],
                "memory_usage": c.get("memory_usage"),
                "finished_at": c.get("finished_at"),
                "log_groups": groups,
            },
            suggestion=(
                f"Read why it stops: `docker logs --tail 200 {name}` and "
                f"`docker inspect {name} --format '{{{{.State.OOMKilled}}}} "
                f"{{{{.State.ExitCode}}}} {{{{.State.FinishedAt}}}}'`. "
                + (
                    memory
                    if c["oom_killed"] or code == 137
                    else f"If it runs out of memory: {memory}"
                    if c["memory_limit"]
                    else ""
                )
            ).strip(),
            host=host.name,
        )


NEAR_LIMIT = 0.90


def _near_limit(facts: Facts, host: HostTarget) -> Iterator[Finding]:
    for c in facts["containers"]:
        limit, used = int(c.get("memory_limit") or 0), c.get("memory_usage")
        if not limit or used is None or used < NEAR_LIMIT * limit:
            continue
        name, more = c["name"], max(2 * limit // 1048576, 1)
        yield DOCKER_MEMORY_NEAR_LIMIT.finding(
            severity="warning",
            title=f"container {name} uses {_mib(used)} of its {_mib(limit)} memory limit "
            f"({100 * used / limit:.0f} %)",
            detail="At its limit the kernel OOM-kills it (exit 137, OOMKilled) and Docker "
            "restarts it: requests in flight fail.",
            evidence={"container": name, "memory_usage": used, "memory_limit": limit},
            suggestion=f"Watch it: `docker stats {name}`; raise the limit (`docker update "
            f"--memory {more}m --memory-swap {more}m {name}`, or mem_limit in compose) or find "
            "what grows.",
            host=host.name,
        )


def _docker(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    yield from _restarting(facts, host, t, extra)
    yield from _near_limit(facts, host)
    found = docker_calls.calls(facts)
    yield from docker_hairpin.hairpin(found, host, extra.get("docker_detail") or {})
    yield from docker_calls.network_isolated(facts, host, found)


RULES: dict[str, Rule] = {"docker": _docker}
