"""The App Home tab (pure): registered hosts with their last status, recent runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.render.blocks import MAX_BLOCKS, chunks, context, escape, section
from bot.render.kit import MARK
from bot.store.digests import Schedule
from bot.store.runs import RunSummary
from commands.hosts import HostSpec

RECENT = 10


def mark(run: RunSummary) -> str:
    """The run's mark as in the channel: its worst finding, not its status."""
    severity = (run.worst or "").split(" ", 1)[0]
    if severity in ("critical", "warning"):
        return MARK[severity]
    return MARK["warning" if run.status == "failed" else None]


def home_view(
    hosts: Sequence[HostSpec] | None,
    runs: Sequence[RunSummary],
    commands: Sequence[str],
    schedules: Sequence[Schedule] | None = (),
) -> dict[str, Any]:
    """A `home` view: hosts (last triage status), the latest runs, digest schedules.

    None for hosts or schedules: the viewer may not see them (the policy's `/hosts` and
    `/digest`); they are left out with a line saying so.
    """
    last: dict[str, RunSummary] = {}
    for run in runs:  # newest first: keep the first seen per target
        if run.command == "triage":
            last.setdefault(run.target, run)
    host_lines = []
    for spec in hosts or ():
        seen = last.get(spec.name)
        status = (
            f"{mark(seen)} {seen.status} ({seen.started_at:%Y-%m-%d %H:%M} UTC, run {seen.run_id})"
            if seen
            else "never triaged"
        )
        where = "this machine" if spec.name == "local" else f"{spec.address}:{spec.port}"
        host_lines.append(f"*{escape(spec.name)}*  {escape(where)}  {status}")
    run_lines = [
        f"{mark(r)} `{escape(r.command)} {escape(r.target)}`  "
        f"{r.started_at:%Y-%m-%d %H:%M} UTC  {r.duration_ms} ms"
        + (f"  worst: {escape(r.worst)}" if r.worst else "")
        for r in runs[:RECENT]
    ]
    offer = (
        "Try " + ", ".join(f"`/{c}`" for c in commands) + " in a channel."
        if commands
        else "The access policy lets you run no command yet: ask an admin."
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "triagebot"}},
        context(offer),
        {"type": "header", "text": {"type": "plain_text", "text": "Hosts"}},
    ]
    no_hosts = "no hosts registered" if hosts is not None else "not shown (needs `/hosts`)"
    blocks += [section(c) for c in chunks("\n".join(host_lines) or no_hosts)]
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Recent runs"}})
    blocks += [section(c) for c in chunks("\n".join(run_lines) or "no runs yet")]
    schedule_lines = [
        f"`{s.id}`  <#{escape(s.channel)}>  `{escape(s.cron)}` {escape(s.tz)}"
        f"  hosts={escape(s.hosts)}"
        + (f"  domains={escape(','.join(s.domains))}" if s.domains else "")
        + ("" if s.enabled else "  (disabled)")
        for s in schedules or ()
    ]
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Digests"}})
    none = "no digest schedules (`/digest add`)" if schedules is not None else "not shown"
    blocks += [section(c) for c in chunks("\n".join(schedule_lines) or none)]
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}
