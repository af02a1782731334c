"""What every executor is: the Executor protocol, `async with` support, the C locale."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from typing import Protocol, Self

from ssh_probes.model import CommandResult

# Probe parsers expect C-locale output (decimal points, English words) on every host.
LOCALE_ENV = {"LC_ALL": "C"}


class Executor(Protocol):
    """Runs argv on one host; a non-zero exit is data, an unreachable host an ExecutorError."""

    host: str

    async def connect(self) -> None:
        """Open what `run` needs; raises an ExecutorError subclass on failure."""

    async def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - per-command limit, part of the API
        input: str | None = None,
    ) -> CommandResult:
        """Run `argv` (never through a local shell) and return its output."""
        ...

    async def close(self) -> None:
        """Release the connection, if any."""

    async def __aenter__(self) -> Self:
        """Connect."""
        ...

    async def __aexit__(self, *exc_info: object) -> None:
        """Close."""


class ExecutorBase:
    """`async with` support for both executors."""

    async def connect(self) -> None:
        """Nothing to open by default."""

    async def close(self) -> None:
        """Nothing to release by default."""

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # real-time signals have no name
        return f"signal {number}"
