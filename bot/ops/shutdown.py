"""Graceful shutdown: SIGTERM/SIGINT stop new work, in-flight runs finish or are interrupted.

The bot is PID 1 in its pod, where the kernel delivers no signal the process has no handler
for: without these handlers SIGTERM would be ignored until the kubelet's SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.store.db import Store
from bot.store.models import RunRow, utcnow
from commands.report import Report
from ssh_probes.errors import StoreError
from ssh_probes.redact import redact

if TYPE_CHECKING:
    from bot.slack.context import Context

log = logging.getLogger("triagebot.shutdown")
SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Bounds on the clean-up itself, after the grace period: cancelled runs are stored, users told.
CANCEL_WAIT_S = 10.0
RECORD_S = 5.0
INTERRUPTED = "interrupted"


class Stopper:
    """The first SIGTERM/SIGINT asks for a graceful stop; a second one cuts the grace short."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.hurry = asyncio.Event()

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Handle the signals in `loop` (instead of dying, or of KeyboardInterrupt)."""
        for sig in SIGNALS:
            loop.add_signal_handler(sig, self.signalled, sig)

    def uninstall(self, loop: asyncio.AbstractEventLoop) -> None:
        """Give the signals back their default behaviour."""
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)

    def signalled(self, sig: signal.Signals) -> None:
        """Record a signal: stop, or hurry when already stopping."""
        if self.stop.is_set():
            log.warning("%s again: interrupting the runs still in flight", sig.name)
            self.hurry.set()
            return
        log.info("%s: shutting down", sig.name)
        self.stop.set()


async def finish_in_flight(bot: Context, grace_s: float, hurry: asyncio.Event | None = None) -> int:
    """Wait up to `grace_s` for the bot's background work, then cancel what is left.

    Returns how many tasks were cancelled; their runs store themselves as interrupted
    (bot.slack.running.execute), which this waits for, up to CANCEL_WAIT_S.
    """
    if not bot.tasks:
        return 0
    log.info("waiting up to %gs for %d task(s) in flight", grace_s, len(bot.tasks))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    hurried = asyncio.ensure_future((hurry or asyncio.Event()).wait())
    try:
        # Tasks may start others (an audit write after a run): wait until none is left.
        while bot.tasks and not hurried.done() and loop.time() < deadline:
            waits: set[asyncio.Future[Any]] = {hurried, *bot.tasks}
            await asyncio.wait(
                waits, timeout=deadline - loop.time(), return_when=asyncio.FIRST_COMPLETED
            )
    finally:
        hurried.cancel()
    left = list(bot.tasks)
    if not left:
        return 0
    log.warning("grace period over: interrupting %d task(s)", len(left))
    for task in left:
        task.cancel()
    await asyncio.wait(left, timeout=CANCEL_WAIT_S)
    return len(left)


async def save_interrupted(
    store: Store,
    *,
    command: str,
    words: Sequence[str],
    started_at: datetime,
    duration_ms: int,
    requested_by: str | None,
    channel: str | None,
    error: str,
) -> int:
    """Store a run that could not finish (status `interrupted`, no results); returns its id."""
    run = RunRow(
        command=command[:32],
        target=redact(" ".join(words))[:255],
        status=INTERRUPTED,
        started_at=started_at,
        duration_ms=duration_ms,
        source="slack",
        requested_by=requested_by,
        channel=channel,
        error=error,
    )
    async with store.session() as session:
        session.add(run)
        await session.flush()
        return run.id


async def interrupted(
    bot: Context,
    name: str,
    words: Sequence[str],
    user: str,
    channel: str,
    audit_id: int,
    runs: Sequence[asyncio.Task[Report]],
    started_at: datetime,
) -> None:
    """A cancelled command: stop its run, store it as interrupted unless it was stored, tell."""
    task = runs[0] if runs else None
    if task is not None and not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_WAIT_S)
    if task is not None and task.done() and not task.cancelled():
        return  # it ended (stored, or refused with nothing to store) before the cancel hit
    why = "interrupted: the bot shut down before the run finished"
    started = time.monotonic()
    duration_ms = int((utcnow() - started_at).total_seconds() * 1000)
    try:
        async with asyncio.timeout(RECORD_S):
            run_id = await save_interrupted(
                bot.store,
                command=name,
                words=words,
                started_at=started_at,
                duration_ms=duration_ms,
                requested_by=user,
                channel=channel,
                error=why,
            )
            await bot.repo.finish_audit(audit_id, INTERRUPTED, run_id)
    except (StoreError, TimeoutError) as exc:
        log.error("could not store the interrupted run: %s", exc)
        return
    log.warning("stored as run %s (%s)", run_id, why, extra={"run": run_id})
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(0.5, RECORD_S - (time.monotonic() - started))):
            text = f":warning: `/{name} {' '.join(words)}` was {why} (run {run_id}): run it again."
            await bot.poster.ephemeral(channel, user, text)
