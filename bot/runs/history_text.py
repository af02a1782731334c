"""`/history [TARGET] [--since 24h]` typed in Slack: past runs as text, of one channel.

In Slack a member sees the runs posted in the channel they typed it in (they are there);
admins see every channel's. The CLI's `triagebot history` (a person at the machine) sees all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.store.db import Store
from bot.store.models import utcnow
from bot.store.runs import RunRepo
from ssh_probes.errors import InputError

USAGE = "usage: `/history [TARGET] [--since 24h]` (30m, 24h, 7d)"
_TARGET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@%+=-]{0,200}")
MAX_LINES = 30


@dataclass(frozen=True)
class HistoryRequest:
    """Which target (None: all) and how far back."""

    target: str | None
    since: timedelta


def since(text: str) -> timedelta:
    """`30m`, `24h`, `7d` -> a timedelta; anything else is an InputError."""
    match = re.fullmatch(r"(\d{1,5})([mhd])", text.strip())
    if not match:
        raise InputError(f"invalid --since {text[:20]!r}: use a number and m, h or d (24h)")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match[2]]
    return timedelta(**{unit: int(match[1])})


def parse(words: Sequence[str]) -> HistoryRequest:
    """The request of `/history` words; bad input is a one-line InputError."""
    rest = list(words)
    window = timedelta(hours=24)
    if "--since" in rest:
        at = rest.index("--since")
        if at + 1 >= len(rest):
            raise InputError(f"--since needs a value. {USAGE}")
        window = since(rest[at + 1])
        del rest[at : at + 2]
    if len(rest) > 1 or (rest and not _TARGET.fullmatch(rest[0])):
        raise InputError(USAGE)
    return HistoryRequest(rest[0] if rest else None, window)


async def answer(store: Store, words: Sequence[str], channel: str | None) -> str:
    """The runs as lines, newest first (`channel` None: every channel's)."""
    request = parse(words)
    rows = await RunRepo(store).history(
        request.target, utcnow() - request.since, MAX_LINES, channel=channel
    )
    if not rows:
        what = f" of `{request.target}`" if request.target else ""
        return f"no runs{what} here in that window"
    return "\n".join(
        f"{r.started_at:%Y-%m-%d %H:%M} run {r.run_id} `{r.command} {r.target}` {r.status}"
        + (f"  worst: {r.worst}" if r.worst else "")
        for r in rows
    )
