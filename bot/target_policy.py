"""The guard a run's connections pass: the policy file's `targets:` and who is asking.

Read at each run (the file is small), so an edited policy applies to the next command without
a restart. A person at the machine (CLI, console) may reach the bot's own loopback; Slack,
alert routines (their labels come from outside) and the scheduler may not. Everyone gets the
built-in refusals (cloud metadata, link-local).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from commands.target_guard import Guard

if TYPE_CHECKING:  # pydantic-settings: `triagebot dig` reads its settings without it
    from bot.settings import Settings

AT_THE_MACHINE = frozenset({"cli", "console"})


def guard_for(settings: Settings, source: str, command: str = "http") -> Guard:
    """The guard for a run started from `source` (cli, console, slack, scheduler)."""
    from bot.auth import load_policy  # slack_sdk behind it: not for every CLI start

    targets = load_policy(settings.policy_file, settings.admin_ids()).targets
    return Guard(targets, command, remote=source not in AT_THE_MACHINE)
