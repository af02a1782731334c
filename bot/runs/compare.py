"""`triage HOST compare LABEL=VALUE`: triage HOST and its siblings at once, compare, store.

Siblings are the other registered hosts with that label. A sibling's stored triage younger
than TRIAGEBOT_COMPARE_REUSE_S (and not failed) is reused; the others are triaged with HOST
through the group triage (bounded concurrency), and each fresh run is stored as its own
`triage NAME` run. The answer is HOST's report plus the fleet findings, stored under the
target `HOST compare LABEL=VALUE` (so Re-run compares again).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from bot.settings import Settings
from bot.store.db import Store
from bot.store.hosts import HostRepo
from bot.store.run_rows import PastRun
from bot.store.runs import RunRepo
from commands.fleet.compare import Member, compare
from commands.hosts import HostSpec
from commands.report import Report
from commands.triage import selects, symptom_target
from ssh_probes.errors import InputError
from ssh_probes.rules import Thresholds

# Triages these hosts at once and stores each run (bot.service.triage_specs, passed in so
# this module does not import the service that dispatches to it).
RunFresh = Callable[[Sequence[HostSpec]], Awaitable[list[Report]]]


def member_of(report: Report) -> Member:
    """A fresh run as a comparison member; a run that reached nothing says why."""
    facts = {r.probe: r.facts for r in report.results if r.ok}
    why = ""
    if report.status == "failed" or not facts:
        codes = [f.code for f in report.findings if f.code.startswith("ssh.")]
        why = codes[0] if codes else "no facts"
    return Member(report.target, facts, unreachable=why, run_id=report.run_id)


def _age_s(past: PastRun, now: datetime) -> float:
    started = past.started_at
    if started.tzinfo is None:  # SQLite hands back naive UTC
        started = started.replace(tzinfo=UTC)
    return (now - started).total_seconds()


async def compare_host(
    store: Store,
    settings: Settings,
    spec: HostSpec,
    selector: tuple[str, str],
    run_fresh: RunFresh,
    thresholds: Thresholds,
) -> Report:
    """Run HOST (and siblings without a fresh stored run) at once: its report with the fleet
    findings, not yet stored."""
    key, value = selector
    group = f"{key}={value}"
    everyone = await HostRepo(store).list()
    siblings = [s for s in everyone if selects(s.labels, key, value) and s.name != spec.name]
    if not siblings and not selects(spec.labels, key, value):
        raise InputError(f"no registered host has label {group}")
    t0 = time.monotonic()
    runs = RunRepo(store, raw_limit=settings.raw_output_store_bytes)
    now = datetime.now(UTC)
    reused: list[Member] = []
    stale: list[HostSpec] = []
    for s in siblings:
        past = await runs.previous("triage", s.name)
        age = _age_s(past, now) if past is not None else None
        if past is None or past.status == "failed" or age is None or age > settings.compare_reuse_s:
            stale.append(s)
        else:
            reused.append(Member(s.name, past.facts, run_id=past.run_id, reused_age_s=int(age)))
    fresh = await run_fresh([spec, *stale])
    own = fresh[0]
    members = [member_of(r) for r in fresh[1:]] + reused
    found = compare(member_of(own), members, group, thresholds)
    return replace(
        own,
        target=symptom_target(spec.name, None, None, selector),
        findings=(*own.findings, *found),
        duration_ms=int((time.monotonic() - t0) * 1000),
        run_id=None,
        changes=None,
    )
