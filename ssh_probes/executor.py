"""Run a fixed argv on a host over one pinned-key SSH connection (or locally: local.py).

Foreign errors (OSError, asyncssh) become the ExecutorError tree at the boundary
(ssh_probes.ssh_errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import shlex
import time
import weakref
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import asyncssh

from ssh_probes.batch import KILLED, batch
from ssh_probes.capture import capture
from ssh_probes.errors import (
    ExecutorError,
    InputError,
)
from ssh_probes.executor_base import LOCALE_ENV, ExecutorBase
from ssh_probes.executor_base import Executor as Executor  # re-exported
from ssh_probes.hostkeys import host_key_algs
from ssh_probes.hostkeys import pinned_host_keys as pinned_host_keys  # re-exported
from ssh_probes.local import LocalExecutor as LocalExecutor  # re-exported
from ssh_probes.model import CommandResult, HostTarget
from ssh_probes.model import SSHOptions as SSHOptions  # re-exported: options need no asyncssh
from ssh_probes.quickack import ack_at_once
from ssh_probes.ssh_errors import load_client_key, map_error

SSH_KILL_GRACE_S = 0.25
# Over SSH, our deadline closes the channel, but OpenSSH ignores signal requests for root
# sessions, and a command that hangs without writing (df on a dead mount, docker facing a
# wedged daemon) would outlive it on the host, one more with every triage. So every remote
# command runs under the host's own `timeout -s KILL`, a little after our deadline.
REMOTE_KILL_AFTER_S = 2.0
# AES-GCM first: in asyncssh each ChaCha20-Poly1305 packet costs several Python-level cipher
# set-ups (14 us to seal a 200-byte packet here, against 2.5 us for AES-GCM), and sshd has
# AES-NI. Every default stays offered after them, so a server without GCM still connects.
CIPHERS = ("aes256-gcm@openssh.com", "aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com",
           "aes256-ctr", "aes192-ctr", "aes128-ctr")  # fmt: skip
# Every connection this process opened, for the bot's gauge; dead ones drop out by themselves.
_CONNECTIONS: weakref.WeakSet[asyncssh.SSHClientConnection] = weakref.WeakSet()


def open_ssh_connections() -> int:
    """How many SSH connections are open in this process right now."""
    return sum(1 for conn in list(_CONNECTIONS) if not conn.is_closed())


class SSHExecutor(ExecutorBase):
    """Runs argv over one asyncssh connection per host, host key pinned, channels bounded."""

    def __init__(self, target: HostTarget, options: SSHOptions | None = None) -> None:
        self.host = target.name
        self.target = target
        self.options = options or SSHOptions()
        self._conn: asyncssh.SSHClientConnection | None = None
        self._channels = asyncio.Semaphore(self.options.max_channels)
        self._lock = asyncio.Lock()
        self._remote_timeout = True  # until the host shows it has no `timeout`
        self._early: asyncio.Task[None] | None = None

    def start_connect(self) -> None:
        """Begin connecting now, in a task, while the caller prepares (imports, builds the
        probes); the next connect() takes over this attempt, its error included, so a host
        that is down is tried once, not twice."""
        if self._early is None:
            self._early = asyncio.ensure_future(self._connect())

    async def connect(self) -> None:
        """Open the connection if it is not open; concurrent callers share one attempt."""
        early, self._early = self._early, None
        if early is not None:
            await early
        await self._connect()  # open already (returns at once), or opened again after a drop

    async def _connect(self) -> None:
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return
            self._conn = None
            self._conn = await self._open()
            ack_at_once(self._conn)  # the first session opens in ~2 ms, not ~45 (quickack.py)
            _CONNECTIONS.add(self._conn)
            self._channels = asyncio.Semaphore(self.options.max_channels)

    async def _open(self) -> asyncssh.SSHClientConnection:
        t, o = self.target, self.options
        keys, cas, revoked = pinned_host_keys(t)  # before any packet: no pin, no connection
        client_keys = [load_client_key(t.key_path)] if t.key_path else None
        try:
            async with asyncio.timeout(o.connect_timeout_s):
                return await asyncssh.connect(
                    t.address or t.name,
                    port=t.port,
                    username=t.user,
                    known_hosts=(keys, cas, revoked),
                    server_host_key_algs=host_key_algs(keys, cas),
                    encryption_algs=list(CIPHERS),
                    client_keys=client_keys,
                    # Nothing from ~/.ssh or the environment: no config file, agent,
                    # default keys, X.509 bundle, GSS or host-based auth.
                    config=None,
                    agent_path=None,
                    agent_identities=None,
                    pkcs11_provider=None,
                    x509_trusted_certs=None,
                    x509_trusted_cert_paths=[],
                    host_based_auth=False,
                    gss_host=None,
                    gss_auth=False,
                    gss_kex=False,
                    kbdint_auth=False,
                    password_auth=False,
                    preferred_auth="publickey",
                    connect_timeout=o.connect_timeout_s,
                    login_timeout=o.connect_timeout_s,
                    keepalive_interval=o.keepalive_interval_s,
                )
        except (OSError, asyncssh.Error) as exc:
            raise map_error(self.host, exc) from exc

    async def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - per-command limit, part of the API
        input: str | None = None,
    ) -> CommandResult:
        """Run `argv` remotely, every element quoted as data; connects first if needed."""
        if not argv:
            raise ValueError("empty argv")
        await self.connect()
        conn, channels = self._conn, self._channels
        assert conn is not None
        limit = self.options.command_timeout_s if timeout is None else timeout
        wrapped = self._remote_timeout
        result = await self._run(conn, channels, self.command_line(argv, limit), limit, input)
        if wrapped and _no_remote_timeout(result, _kill_after(limit)):
            # A host without a usable `timeout`: remember, run it (and the rest) bare.
            self._remote_timeout = False
            result = await self._run(conn, channels, self.command_line(argv, limit), limit, input)
        return result

    def command_line(self, argv: Sequence[str], limit: float) -> str:
        """The remote command line: the remote side always runs the login shell on it, and
        shlex.join makes each element one literal word of it."""
        return shlex.join(self.wrapped(argv, limit))

    def wrapped(self, argv: Sequence[str], limit: float) -> list[str]:
        """`argv` under the C locale and, where the host has it, its own `timeout`."""
        words = ["env", *(f"{k}={v}" for k, v in LOCALE_ENV.items())]
        if self._remote_timeout:
            words += ["timeout", "-s", "KILL", _kill_after(limit)]
        return [*words, *argv]

    async def run_many(
        self, commands: Sequence[Sequence[str]], limits: Sequence[float]
    ) -> list[CommandResult]:
        """Run every argv at once in ONE remote session (ssh_probes.batch): the login shell
        starts once. Each command keeps its own limit (the host's `timeout`, one per distinct
        limit, enforces it; a host without a usable one runs them bare in the same session);
        a host without a writable temporary directory gets one session per command."""
        if not commands:
            return []
        await self.connect()
        got = await self._batch(commands, limits)
        if got is not None:
            return got
        return list(
            await asyncio.gather(
                *(self.run(a, timeout=lim) for a, lim in zip(commands, limits, strict=True))
            )
        )

    async def _batch(
        self, commands: Sequence[Sequence[str]], limits: Sequence[float]
    ) -> list[CommandResult] | None:
        conn, channels = self._conn, self._channels
        assert conn is not None
        cap = self.options.output_cap_bytes
        # The batch script exports the C locale itself and runs one `timeout` per limit.
        seconds = [_kill_after(lim) for lim in limits]
        plan = batch(commands, cap, seconds, timeout=self._remote_timeout)
        # The host's `timeout` ends each command at its limit + REMOTE_KILL_AFTER_S; the
        # session gets a little longer, so it ends with every command's output.
        limit = max(limits) + REMOTE_KILL_AFTER_S + 1.0
        out = await self._run(
            conn, channels, shlex.join(plan.argv), limit, None, cap=cap * 2 * len(commands) + 4096
        )
        parts = plan.split(out)
        if parts is None:
            return None
        if plan.bare(out):
            self._remote_timeout = False  # the host has no usable `timeout`: later runs bare
        return [
            # Killed by the host's `timeout -s KILL` (128 + 9): the command hit its limit.
            replace(r, exit_status=None, timed_out=True) if r.exit_status == KILLED else r
            for r in parts
        ]

    async def _run(
        self,
        conn: asyncssh.SSHClientConnection,
        channels: asyncio.Semaphore,
        command: str,
        limit: float,
        input: str | None,
        *,
        cap: int | None = None,
    ) -> CommandResult:
        stdin: dict[str, Any] = (
            {"stdin": asyncssh.DEVNULL} if input is None else {"input": input.encode()}
        )
        async with channels:
            started = time.monotonic()
            try:
                # A server that never confirms the channel must not outlive the limit either.
                async with asyncio.timeout(limit):
                    proc = await self._session(conn, command, stdin, started + limit)
            except TimeoutError:
                return CommandResult("", "", None, time.monotonic() - started, timed_out=True)
            except (OSError, asyncssh.Error) as exc:
                raise map_error(self.host, exc, "opening a session") from exc

            def kill() -> None:
                with contextlib.suppress(asyncssh.Error, OSError):
                    # OpenSSH honours this only for non-root users; root's command is left
                    # to die of SIGPIPE on its next write once the channel is closed.
                    proc.send_signal("KILL")
                proc.close()

            got = await capture(
                proc.stdout.read,
                proc.stderr.read,
                proc.wait_closed(),
                cap=self.options.output_cap_bytes if cap is None else cap,
                limit_s=limit - (time.monotonic() - started),
                kill=kill,
                # sshd holds a closed channel open until its command exits: keep only what
                # is already in flight rather than wait for that.
                grace_s=SSH_KILL_GRACE_S,
            )
        dropped = got.error is not None or (proc.exit_status is None and conn.is_closed())
        if dropped and not got.timed_out:
            raise map_error(self.host, got.error or asyncssh.ConnectionLost("closed"), "running")
        signal_name = proc.exit_signal[0] if proc.exit_signal else ""
        return got.result(proc.exit_status, signal_name, started)

    @staticmethod
    async def _session(
        conn: asyncssh.SSHClientConnection, command: str, stdin: dict[str, Any], deadline: float
    ) -> asyncssh.SSHClientProcess[bytes]:
        pause = 0.02
        while True:
            try:
                return await conn.create_process(command, encoding=None, **stdin)
            except asyncssh.ChannelOpenError:
                # sshd frees a session slot only a main-loop pass after the channel closes,
                # so a burst can briefly exceed MaxSessions even under max_channels (or the
                # host has a lower MaxSessions); it then answers a plain "open failed"
                # (OPEN_CONNECT_FAILED). Back off and retry until the deadline.
                if conn.is_closed() or time.monotonic() + pause > deadline:
                    raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.25)

    async def close(self) -> None:
        """Close the connection and wait (briefly) until it is gone."""
        early, self._early = self._early, None
        if early is not None:  # started, never taken over: stop it, or close what it opened
            early.cancel()
            with contextlib.suppress(asyncio.CancelledError, ExecutorError, InputError):
                await early
        async with self._lock:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        conn.close()
        try:
            async with asyncio.timeout(2.0):
                await conn.wait_closed()
        except TimeoutError:
            conn.abort()


def _kill_after(limit: float) -> str:
    """The host-side `timeout` in whole seconds, a little after our own deadline."""
    return str(math.ceil(limit + REMOTE_KILL_AFTER_S))


def _no_remote_timeout(result: CommandResult, seconds: str) -> bool:
    """True when exit 127 came from the wrapper, not from the command: `env` found no
    `timeout` ("env: 'timeout': No such file ..."), or a `timeout` of another syntax (busybox
    before 1.30 wanted -t SECS) tried to run our seconds as the program ("can't execute '12'").
    """
    if result.exit_status != 127:
        return False
    first = result.stderr.lstrip().split("\n", 1)[0]
    if first.startswith("env:"):
        return "timeout" in first
    return first.startswith("timeout:") and f"'{seconds}'" in first


def executor_for(target: HostTarget, options: SSHOptions | None = None) -> Executor:
    """The executor for `target`: a subprocess for `local`, SSH otherwise."""
    if target.is_local:
        return LocalExecutor(target.name, options)
    return SSHExecutor(target, options)
