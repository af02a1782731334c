"""Log rules: log.errors (repeated errors, grouped), plus info for sources that could not be read.

A group at or above `log_repeat_warning` occurrences is a warning, at ten times that a
critical. When every error is a timeout (or a reset connection) and none has a stack
trace, the code is probably fine and something it waits on is not: the seed's routine says
suspect the network, a dependency or pool exhaustion, and correlate by request id. sshd
scanner noise (probes.logwords) is never an error group: it is counted apart and only
mentioned. The command each finding suggests selects the lines the detector counted.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.probes import logwords
from ssh_probes.rules.base import SOURCE_UNAVAILABLE, Rule, Thresholds, level

LOG_ERRORS = Code(
    "log.errors",
    "host",
    "Repeated errors in logs",
    "The same error repeats; only timeouts without stack traces point at the network, a dependency"
    " or pool exhaustion.",
    "Read the grouped messages; correlate the first occurrence with deploys and changes.",
)

CODES = (LOG_ERRORS,)


CRITICAL_FACTOR = 10
SHOWN = 5


def _where(group: dict[str, Any], window_min: int) -> str:
    """The command that shows this group's lines at its source."""
    source = str(group["source"])
    if source.startswith("journal:"):
        unit = source.removeprefix("journal:")
        flag = "-u" if "." in unit else "-t"
        journal = f"journalctl {flag} {shlex.quote(unit)}"
        if group.get("found_by") == "priority":
            return f"{journal} -p err --since '-{window_min}min' --no-pager"
        # stdout of a service: journald stored it at info, so select by the same words.
        return (
            f"{journal} -p 4..7 --since '-{window_min}min' --no-pager | {logwords.grep_command()}"
        )
    return f"{logwords.grep_command(source)} | tail -n 50"


def _noise(facts: Facts) -> str:
    """`. Not counted: 312 line(s) of sshd scanner noise.` (or nothing)."""
    total = int(facts.get("noise_total") or 0)
    return f". Not counted: {total} line(s) of sshd scanner noise." if total else ""


def _suggestion(facts: Facts, top: list[dict[str, Any]]) -> str:
    window = int(facts.get("window_min") or 15)
    look = "; ".join(f"`{_where(g, window)}`" for g in top[:2])
    if facts.get("only_timeouts"):
        return (
            "Only timeouts, and no stack trace: the code is waiting on something. Suspect the "
            "network, a dependency or connection-pool exhaustion rather than this service: check "
            "the dependency it calls (DB, external API) from this host (`curl -v --max-time 5 "
            "URL`, `nc -vz -w 5 HOST PORT`, `ss -antp` for SYN-SENT/CLOSE-WAIT to it), its pool "
            "size and wait times, and correlate the failing requests by request/correlation id "
            f"across services. Lines: {look}."
        )
    trace = facts.get("first_trace")
    if trace:
        at = f" at {trace['at']}" if trace.get("at") else ""
        head = next((x.strip() for x in reversed(trace["lines"]) if x[:1] not in " \t"), "")
        return (
            f"Read the first stack trace ({trace['source']}{at}: {head[:160]}) and fix its cause; "
            f"then correlate the first occurrence with deploys and config changes. Lines: {look}."
        )
    return (
        "Read the grouped messages at their source and correlate the first occurrence with "
        f"deploys, config changes and the dependencies they name. Lines: {look}."
    )


def _unavailable(what: str, why: str, hint: str, host: HostTarget) -> Finding:
    return SOURCE_UNAVAILABLE.finding(
        severity="info",
        title=f"logs: {what}: {why}",
        detail="This log source could not be read; nothing was concluded from it.",
        evidence={"probe": "logs", "source": what, "why": why},
        suggestion=hint,
        host=host.name,
    )


def _logs(
    facts: Facts, host: HostTarget, t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    journal = facts.get("journal") or {}
    if journal and not journal.get("available"):
        yield _unavailable("journal", str(journal.get("why")), str(journal.get("hint", "")), host)
    for f in facts.get("files", []):
        if f.get("status") != "read":
            yield _unavailable(
                f["path"],
                str(f["status"]),
                f"Check the path registered for this host (`triagebot hosts show {host.name}`) "
                f"and that the bot's user may read it (`ls -l {shlex.quote(f['path'])}`).",
                host,
            )
    groups = facts.get("groups") or []
    noisy = [g for g in groups if g["count"] >= t.log_repeat_warning]
    if not noisy:
        return
    worst = max((g["count"] for g in noisy), default=0)
    severity = level(worst, t.log_repeat_warning, CRITICAL_FACTOR * t.log_repeat_warning)
    if severity is None:
        return
    top = noisy[:SHOWN]
    kind = (
        "timeouts only, no stack trace"
        if facts.get("only_timeouts")
        else (f"{facts.get('stack_traces', 0)} with a stack trace")
    )
    yield LOG_ERRORS.finding(
        severity=severity,
        title=(
            f'{top[0]["count"]}x "{top[0]["example"][:100]}" in {top[0]["source"]}; '
            f"{facts.get('errors_total')} error(s) in {facts.get('groups_total')} group(s) ({kind})"
        ),
        detail="The same error repeats: "
        + "; ".join(f"{g['count']}x in {g['source']}: {g['message'][:120]}" for g in top)
        + _noise(facts),
        evidence={
            "groups": [
                {
                    k: g.get(k)
                    for k in (
                        "count",
                        "source",
                        "message",
                        "example",
                        "first_seen",
                        "last_seen",
                        "timeout",
                        "stack_trace",
                    )
                }
                for g in top
            ],
            "errors_total": facts.get("errors_total"),
            "only_timeouts": facts.get("only_timeouts"),
            "stack_traces": facts.get("stack_traces"),
            "threshold": t.log_repeat_warning,
            "noise_total": facts.get("noise_total", 0),
        },
        suggestion=_suggestion(facts, top),
        host=host.name,
    )


RULES: dict[str, Rule] = {"logs": _logs}
