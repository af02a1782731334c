"""Output capture shared by the executors: read streams concurrently, keep at most a cap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ssh_probes.model import CommandResult

CHUNK = 64 * 1024
# After a kill, whatever still holds the pipe (a grandchild that left the process group,
# a stuck channel) must not hold us: reading gets this long, then it is abandoned.
DRAIN_GRACE_S = 1.0

Read = Callable[[int], Awaitable[bytes]]


class CappedBuffer:
    """Bytes from one stream, at most `cap` of them; the rest is counted and dropped."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.truncated = False

    def feed(self, chunk: bytes) -> None:
        """Keep what fits under the cap, note that anything beyond it was dropped."""
        room = self.cap - len(self.data)
        if len(chunk) > room:
            self.truncated = True
            chunk = chunk[: max(room, 0)]
        self.data += chunk

    def text(self) -> str:
        """The kept bytes as text; invalid UTF-8 becomes U+FFFD rather than an error."""
        return self.data.decode("utf-8", errors="replace")


async def drain(read: Read, buf: CappedBuffer) -> None:
    """Read until EOF into `buf`; keeps reading past the cap so the writer never blocks."""
    while chunk := await read(CHUNK):
        buf.feed(chunk)


async def settle(tasks: Iterable[asyncio.Task[Any]], grace: float = DRAIN_GRACE_S) -> None:
    """Give `tasks` `grace` seconds to finish, then cancel what is left and wait for it."""
    tasks = list(tasks)
    pending = {t for t in tasks if not t.done()}
    if pending:
        _, pending = await asyncio.wait(pending, timeout=grace)
    for task in pending:
        task.cancel()
    # Collect results so no "exception was never retrieved" warnings escape.
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class Captured:
    """What came out of one command: both streams, whether it hit its deadline, any read error."""

    stdout: CappedBuffer
    stderr: CappedBuffer
    timed_out: bool = False
    error: BaseException | None = None

    @property
    def truncated(self) -> bool:
        """True when either stream went over the cap."""
        return self.stdout.truncated or self.stderr.truncated

    def result(self, status: int | None, signal_name: str, started: float) -> CommandResult:
        """The CommandResult; a command that timed out or died of a signal has no exit status."""
        stderr = self.stderr.text()
        if signal_name and not self.timed_out:
            stderr += f"\n[killed by signal {signal_name}]"
        return CommandResult(
            stdout=self.stdout.text(),
            stderr=stderr,
            exit_status=None if self.timed_out or signal_name else status,
            duration_s=time.monotonic() - started,
            truncated=self.truncated,
            timed_out=self.timed_out,
        )


async def capture(
    out: Read,
    err: Read,
    finished: Awaitable[object],
    *,
    cap: int,
    limit_s: float,
    kill: Callable[[], None],
    grace_s: float = DRAIN_GRACE_S,
) -> Captured:
    """Read both streams while waiting for `finished`; after `limit_s`, `kill` and keep what came.

    Also kills when the caller is cancelled, so an abandoned run never leaves a process behind.
    """
    result = Captured(CappedBuffer(cap), CappedBuffer(cap))
    tasks: list[asyncio.Task[Any]] = [
        asyncio.ensure_future(drain(out, result.stdout)),
        asyncio.ensure_future(drain(err, result.stderr)),
        asyncio.ensure_future(finished),
    ]
    try:
        _, pending = await asyncio.wait(tasks, timeout=max(limit_s, 0.0))
        if pending:
            result.timed_out = True
    finally:
        if any(not t.done() for t in tasks):
            kill()
        await settle(tasks, grace_s)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            result.error = task.exception()
            break
    return result
