"""Kernel rules: mem.oom_kill.

Critical when a kill happened within RECENT_MIN minutes (it is likely part of the incident
at hand), warning when it is older but within the probe's 24 h lookback, or of unknown age.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.rules.base import Rule, Thresholds, human_kb

MEM_OOM_KILL = Code(
    "mem.oom_kill",
    "host",
    "Process killed by the OOM killer",
    "The kernel killed a process to free memory; the service restarted or died.",
    "`journalctl -k | grep -i oom` names the victim; raise its limit or fix its growth.",
)

CODES = (MEM_OOM_KILL,)


RECENT_MIN = 60


def _ago(age_s: int | None) -> str:
    if age_s is None:
        return "at an unknown time"
    if age_s < 120:
        return f"{age_s}s ago"
    if age_s < 7200:
        return f"{age_s // 60} min ago"
    return f"{age_s // 3600} h ago"


def _fix(event: dict[str, Any]) -> str:
    name, pid = event["process"], event["pid"]
    see = (
        f"See what grew: `journalctl -k --no-pager | grep -i -B1 -A1 'killed process {pid}'`, "
        f"`ps -o pid,rss,vsz,cmd -C {name}` now that it restarted, and its memory over time."
    )
    if event.get("container"):
        where = (
            f" It ran in container {event['container']} (cgroup {event['cgroup']}): raise its "
            f"memory limit (`docker update --memory 1g --memory-swap 1g {event['container']}` or "
            "the compose/k8s limit) or fix the leak; `docker inspect -f '{{.State.OOMKilled}}' "
            f"{event['container']}` confirms."
        )
    elif event.get("scope") == "cgroup" and event.get("cgroup"):
        where = (
            f" The limit of cgroup {event['cgroup']} was hit: raise MemoryMax= for that unit "
            "(`systemctl set-property UNIT MemoryMax=...`) or fix the growth."
        )
    else:
        where = (
            " The whole host ran out of memory: cap the offender (systemd MemoryMax=, a "
            "container limit), add memory or swap, or reduce its workers/caches."
        )
    return see + where


def _oom(
    facts: Facts, host: HostTarget, _t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    events = facts.get("events") or []
    if not events:
        return
    recent = [e for e in events if e["age_s"] is not None and e["age_s"] <= RECENT_MIN * 60]
    latest = (recent or events)[-1]
    victims = sorted({f"{e['process']} (pid {e['pid']})" for e in events})
    rss = latest.get("anon_rss_kb")
    size = f", {human_kb(rss)} resident" if rss else ""
    yield MEM_OOM_KILL.finding(
        severity="critical" if recent else "warning",
        title=(
            f"OOM killer killed {latest['process']} (pid {latest['pid']}{size}) "
            f"{_ago(latest['age_s'])}; {facts.get('total', len(events))} kill(s) in "
            f"{facts.get('lookback_h', 24)} h"
        ),
        detail=(
            "The kernel killed a process to free memory"
            + (f" (limit of {latest['cgroup']})" if latest.get("scope") == "cgroup" else "")
            + ": the service restarted or died and lost its in-flight work."
        ),
        evidence={
            "source": facts.get("source"),
            "victims": victims[:10],
            "latest": {
                k: latest.get(k)
                for k in (
                    "time",
                    "age_s",
                    "process",
                    "pid",
                    "scope",
                    "cgroup",
                    "container",
                    "anon_rss_kb",
                    "total_vm_kb",
                )
            },
            "recent_min": RECENT_MIN,
        },
        suggestion=_fix(latest),
        host=host.name,
    )


RULES: dict[str, Rule] = {"kernel": _oom}
