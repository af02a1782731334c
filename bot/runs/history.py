"""What changed since the previous run of the same command and target.

Findings are compared by (code, host). Areas are compared fact by fact where a change
means something to the person on call: listening ports opened or closed, disk and inode use
that moved, the run's status. Each area differ is a pure function of (before, now) facts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from bot.runs.differs import dns_diff
from bot.store.run_rows import PastRun
from commands.report import Changes, Report

Facts = dict[str, Any]
Differ = Callable[[Facts, Facts], dict[str, Any]]
# The bot's own differs. A report whose every probe is `dig:...` needs no other: no host
# check names a differ `dig...` (tests/unit/test_checks.py), so `triagebot dig` does not
# import the host checks (every probe module, ~0.1 s) to diff.
OWN_DIFFERS: dict[str, Differ] = {
    "dig": dns_diff,  # every dig:TYPE@resolver result (looked up by the part before ":")
}


def _codes(pairs: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(sorted({code for code, _host in pairs}))


@cache
def all_differs() -> dict[str, Differ]:
    """Probe name -> differ; areas without one are not compared (their findings still are)."""
    from ssh_probes.checks import DIFFERS as HOST_DIFFERS

    return {**HOST_DIFFERS, **OWN_DIFFERS}


def differs_for(report: Report) -> dict[str, Differ]:
    """The differs `report` can need: the bot's own for a dig, else every one."""
    if all(r.probe.startswith("dig:") for r in report.results):
        return OWN_DIFFERS
    return all_differs()


def diff(report: Report, previous: PastRun | None) -> Changes:
    """Findings new, resolved and still present, and per-area changes, since `previous`."""
    now = {(f.code, f.host) for f in report.findings}
    if previous is None:
        return Changes(since=None, previous_run_id=None, new=_codes(now))
    before = set(previous.finding_codes)
    areas: dict[str, Any] = {}
    differs = differs_for(report)
    if previous.status != report.status:
        areas["status"] = {"before": previous.status, "now": report.status}
    for result in report.results:
        differ = differs.get(result.probe) or differs.get(result.probe.split(":", 1)[0])
        old = previous.facts.get(result.probe)
        if differ is None or old is None or not result.ok:
            continue
        change = differ(old, result.facts)
        if change:
            areas[result.probe] = change
    return Changes(
        since=previous.started_at,
        previous_run_id=previous.run_id,
        new=_codes(now - before),
        resolved=_codes(before - now),
        still=_codes(now & before),
        areas=areas,
    )
