"""The check every outgoing connection of a command passes: resolve once, decide, refuse.

A `Guard` holds the policy's `targets:` rules, the command they are for and whether the
requester is remote (Slack, the scheduler: the bot's loopback is refused) or at the machine
(CLI, console). Callers connect to the address the guard returned, never to the name again,
so DNS cannot answer differently between the check and the connection.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from commands.targets import Targets, decide, normalise
from ssh_probes.errors import InputError


class TargetRefused(InputError):
    """A target the rules refuse: one line naming the rule; nothing ran, nothing was stored."""

    outcome = "refused"


@dataclass(frozen=True)
class Guard:
    """Rules + command + requester; `check` raises TargetRefused with the rule that refused."""

    targets: Targets = field(default_factory=Targets)
    command: str = "http"
    remote: bool = False

    def for_command(self, command: str) -> Guard:
        """The same rules and requester, for another command's section (`from`, `dig`, ...)."""
        return replace(self, command=command)

    def check(self, address: str, name: str | None = None, what: str = "") -> str:
        """The canonical form of `address` if it may be reached; else TargetRefused."""
        ip = normalise(address)
        if ip is None:
            raise TargetRefused(f"refused: {what or address}: not an IP address")
        verdict = decide(ip, name, self.command, self.targets, self.remote)
        if not verdict.allowed:
            reason = verdict.reason
            if what:
                reason = reason.replace("refused: ", f"refused: {what}: ", 1)
            raise TargetRefused(reason)
        return str(ip)

    def refusal(self, address: str, name: str | None = None) -> str:
        """Why `address` is refused, or "" when it may be reached (for lists that skip)."""
        try:
            self.check(address, name)
        except TargetRefused as exc:
            return str(exc)
        return ""

    def check_all(self, addresses: Iterable[str], name: str | None, what: str = "") -> list[str]:
        """Every address must pass: a name with one forbidden address is refused as a whole."""
        return [self.check(a, name, what) for a in addresses]

    async def resolve(self, host: str, port: int, timeout_s: float, what: str = "") -> list[str]:
        """The checked addresses of `host` (an IP in any spelling, or a name resolved here)."""
        if normalise(host) is not None:
            return [self.check(host, None, what)]
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout_s
            )
        except (TimeoutError, OSError) as exc:
            why = getattr(exc, "strerror", "") or "no answer in time"
            raise InputError(f"cannot resolve {host}: {why}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        return self.check_all(addresses, host, what)


# The CLI without a policy file: only the built-in defaults, loopback allowed.
AT_THE_MACHINE = Guard()
