"""The host named `local`: argv run as a subprocess of the bot, never through a shell."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Sequence

from ssh_probes.capture import capture
from ssh_probes.executor_base import LOCALE_ENV, ExecutorBase, signal_name
from ssh_probes.model import LOCAL_HOST, CommandResult, SSHOptions


class LocalExecutor(ExecutorBase):
    """Runs argv as a subprocess of the bot: the host named `local`."""

    def __init__(self, host: str = LOCAL_HOST, options: SSHOptions | None = None) -> None:
        self.host = host
        self.options = options or SSHOptions()

    async def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - per-command limit, part of the API
        input: str | None = None,
    ) -> CommandResult:
        """Run `argv` directly (no shell), in a process group of its own so a kill gets all."""
        if not argv:
            raise ValueError("empty argv")
        started = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL if input is None else asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, **LOCALE_ENV},
                start_new_session=True,
            )
        except OSError as exc:
            # What a shell would say: a missing command is a result (127), not a crash.
            return CommandResult("", f"{argv[0]}: {exc.strerror}", 127, time.monotonic() - started)

        async def finished() -> None:
            if input is not None and proc.stdin is not None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    proc.stdin.write(input.encode())
                    await proc.stdin.drain()
                proc.stdin.close()
            await proc.wait()

        def kill() -> None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

        assert proc.stdout is not None and proc.stderr is not None
        got = await capture(
            proc.stdout.read,
            proc.stderr.read,
            finished(),
            cap=self.options.output_cap_bytes,
            limit_s=self.options.command_timeout_s if timeout is None else timeout,
            kill=kill,
        )
        if got.timed_out:
            # A grandchild that escaped the group may still hold a pipe: let go of it.
            transport = getattr(proc, "_transport", None)
            if transport is not None:
                transport.close()
        code = proc.returncode
        if code is not None and code < 0:
            return got.result(None, signal_name(-code), started)
        return got.result(code, "", started)
