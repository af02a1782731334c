"""The "Compare with group" button on a host's triage summary.

The button carries only the run id, never a command: on a click the bot loads the stored run,
checks it is a triage of a registered host posted in the clicking channel, reads the host's
`group` label now, authorizes `triage` for the clicking user there, and runs
`triage HOST compare group=VALUE` in the summary's thread.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.store.db import Store
from bot.store.hosts import HostRepo
from bot.store.models import RunRow
from commands.report import Report
from ssh_probes.errors import InputError

ACTION = "compare_group"


async def group_of(store: Store, target: str) -> str | None:
    """The first `group` label value of the registered host `target`, if it has one."""
    if not target or " " in target:  # `web-1 port 443`, `web-1 compare ...`: not a plain triage
        return None
    spec = await HostRepo(store).find(target)
    groups = [g for g in (spec.labels.get("group", "") if spec else "").split(",") if g]
    return groups[0] if groups else None


async def button_for(store: Store, report: Report) -> dict[str, Any] | None:
    """The button for a stored triage of a host with a group label; None for anything else."""
    if report.command != "triage" or report.run_id is None:
        return None
    group = await group_of(store, report.target)
    if group is None:
        return None
    return {
        "type": "button",
        "action_id": ACTION,
        "text": {"type": "plain_text", "text": f"Compare with group={group}"[:75]},
        "value": str(report.run_id),
    }


def add_to_summary(messages: list[dict[str, Any]], button: dict[str, Any]) -> None:
    """Append the button to the summary's (the first message's) actions block."""
    for block in messages[0].get("blocks") or []:
        if block.get("type") == "actions":
            block["elements"].append(button)
            return


async def words_for_click(store: Store, value: str, channel: str) -> list[str]:
    """`[HOST, "compare", "group=V"]` for the clicked run; InputError when it cannot be."""
    if not value.isdigit() or len(value) > 18:
        raise InputError("this button names no run")
    async with store.session() as session:
        run = (
            await session.execute(
                select(RunRow.command, RunRow.target, RunRow.channel).where(RunRow.id == int(value))
            )
        ).first()
    if run is None:
        raise InputError(f"run {value} is no longer stored; run `/triage HOST compare group=...`")
    command, target, run_channel = run
    if run_channel != channel:
        raise InputError(f"run {value} was not posted in this channel")
    group = await group_of(store, target) if command == "triage" else None
    if group is None:
        raise InputError(f"run {value} is not the triage of a host with a `group` label")
    return [target, "compare", f"group={group}"]
