"""What changed since the previous run of the same command and target."""

from __future__ import annotations

from collections.abc import Iterable

from bot.store.runs import PastRun
from commands.report import Changes, Report


def _codes(pairs: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(sorted({code for code, _host in pairs}))


def diff(report: Report, previous: PastRun | None) -> Changes:
    """Findings new, resolved and still present since the previous run of the same target."""
    now = {(f.code, f.host) for f in report.findings}
    if previous is None:
        return Changes(since=None, previous_run_id=None, new=_codes(now))
    before = set(previous.finding_codes)
    return Changes(
        since=previous.started_at,
        previous_run_id=previous.run_id,
        new=_codes(now - before),
        resolved=_codes(before - now),
        still=_codes(now & before),
        areas={"status": {"before": previous.status, "now": report.status}}
        if previous.status != report.status
        else {},
    )
