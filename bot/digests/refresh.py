"""Before a digest: triage its watched hosts and dig its domains, so it reports fresh facts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.settings import Settings
from bot.store import digest_data
from bot.store.db import Store
from bot.store.digests import DigestRepo, Schedule
from ssh_probes.errors import TriagebotError

if TYPE_CHECKING:
    from bot.digests.scheduler import Refresh

log = logging.getLogger("triagebot.digest")


async def refresh(store: Store, settings: Settings, schedule: Schedule) -> None:
    """Run and store `triage` per watched host and `dig` per domain; failures are logged."""
    # Straight to the service layer: the digest command is itself in the command registry.
    from bot.service import Who, dig_name, triage_host

    hosts = await digest_data.watched_hosts(store, schedule.hosts)
    domains = sorted(set(schedule.domains) | set(await DigestRepo(store).watched()))
    gate = asyncio.Semaphore(settings.max_parallel_hosts)
    who = Who("scheduler", None, schedule.channel)

    runners = {"triage": triage_host, "dig": dig_name}

    async def one(command: str, words: Sequence[str]) -> None:
        async with gate:
            try:
                await runners[command](store, settings, words, who)
            except TriagebotError as exc:  # an unreachable host is in the digest as stale
                log.warning("digest %s: %s %s: %s", schedule.id, command, " ".join(words), exc)

    await asyncio.gather(*(one("triage", [h]) for h in hosts), *(one("dig", [d]) for d in domains))


def refresh_for(settings: Settings) -> Refresh | None:
    """The refresh step when settings.digest_refresh is on, else None."""
    return refresh if settings.digest_refresh else None
