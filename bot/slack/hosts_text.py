"""`/hosts ...` typed in Slack: parse the words, act on the registry, answer in text.

From Slack a host key is given as text (`--host-key`) only: `--known-hosts` and `--key` name
files on the bot's machine, and a file the bot reads on a chat user's word is an oracle (its
content, or whether it exists). They are for the CLI and the console.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from bot.store.db import Store
from bot.store.hosts import HostRepo
from commands import validate
from commands.hosts import LOCAL_SPEC, HostSpec, build_spec
from ssh_probes.errors import InputError

USAGE = (
    "usage: `/hosts list` | `/hosts show NAME` | `/hosts remove NAME` | "
    "`/hosts watch NAME` | `/hosts unwatch NAME` (in digests or not) | "
    "`/hosts add NAME --address ADDR [--port 22] [--user root] "
    "--host-key 'ssh-ed25519 AAAA...' [--expect-port N]... [--log PATH]... [--label K=V]...`"
)
SINGLE = {"--address", "--port", "--user"}
FILE_FLAGS = {"--known-hosts", "--key"}  # the CLI's: paths on the bot's machine
MULTI = {"--host-key", "--expect-port", "--log", "--label"}


@dataclass(frozen=True)
class HostsRequest:
    """What `/hosts` was asked: a verb, maybe a name, and the add options."""

    verb: str
    name: str = ""
    words: tuple[str, ...] = ()

    @property
    def action(self) -> str:
        """The policy action: `hosts.write` for changes, `hosts` for reading."""
        return "hosts.write" if self.verb in ("add", "remove", "watch", "unwatch") else "hosts"


def parse(text: str) -> HostsRequest:
    """The verb and words of `/hosts` text; bad input is an InputError with the usage."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InputError(f"cannot read that: {exc}. {USAGE}") from None
    if not words:
        return HostsRequest("list")
    verb = words[0].lower()
    if verb == "list" and len(words) == 1:
        return HostsRequest("list")
    if verb in ("show", "remove", "watch", "unwatch") and len(words) == 2:
        return HostsRequest(verb, validate.host_name(words[1]))
    if verb == "add" and len(words) >= 2:
        return HostsRequest("add", words[1].lower(), tuple(words[2:]))
    raise InputError(USAGE)


def _options(words: Sequence[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {k: [] for k in MULTI}
    i = 0
    while i < len(words):
        word = words[i]
        flag, eq, value = word.partition("=")
        if flag in FILE_FLAGS:
            raise InputError(
                f"{flag} names a file on the bot's machine: from Slack give the key itself, "
                "--host-key 'ssh-ed25519 AAAA...' (file paths are for the `triagebot` CLI)"
            )
        if flag not in SINGLE | MULTI:
            raise InputError(f"unknown option {word!r}. {USAGE}")
        if not eq:
            if i + 1 >= len(words):
                raise InputError(f"{flag} needs a value. {USAGE}")
            value = words[i + 1]
            i += 1
        if flag in SINGLE:
            single[flag] = value
        else:
            multi[flag].append(value)
        i += 1
    return single, multi


def spec_from(request: HostsRequest, known_hosts: str | None = None) -> HostSpec:
    """Validate `/hosts add` into a HostSpec (same rules as the CLI; same default known_hosts)."""
    single, multi = _options(request.words)
    if known_hosts and "--known-hosts" not in single and not multi["--host-key"]:
        single["--known-hosts"] = known_hosts
    if "--address" not in single:
        raise InputError(f"--address is required. {USAGE}")
    try:
        port = int(single.get("--port", "22"))
        expect = [int(p) for p in multi["--expect-port"]]
    except ValueError:
        raise InputError(f"ports are numbers. {USAGE}") from None
    return build_spec(
        request.name,
        address=single["--address"],
        port=port,
        user=single.get("--user", "root"),
        known_hosts=single.get("--known-hosts"),  # only the operator's configured default
        host_keys=multi["--host-key"],
        expect_ports=expect,
        logs=multi["--log"],
        labels=multi["--label"],
    )


def _line(spec: HostSpec) -> str:
    where = "this machine" if spec.name == "local" else f"{spec.user}@{spec.address}:{spec.port}"
    ports = ",".join(map(str, spec.expect_ports)) or "-"
    return f"`{spec.name}`  {where}  expect {ports}"


async def run(store: Store, request: HostsRequest, known_hosts: str | None = None) -> str:
    """Do it and say what was done (errors are InputErrors)."""
    repo = HostRepo(store)
    if request.verb == "list":
        return "\n".join(_line(s) for s in [LOCAL_SPEC, *await repo.list()])
    if request.verb == "show":
        spec = await repo.get(request.name)
        keys = "\n".join(f"  {k[:40]}..." for k in spec.host_keys) or "  (none)"
        labels = ", ".join(f"{k}={v}" for k, v in spec.labels.items()) or "-"
        logs = ", ".join(spec.logs) or "-"
        digests = "watched" if await repo.is_watched(spec.name) else "not watched"
        return (
            f"{_line(spec)}\nlogs: {logs}\nlabels: {labels}\ndigests: {digests}\nhost keys:\n{keys}"
        )
    if request.verb == "remove":
        await repo.remove(request.name)
        return f"removed `{request.name}` (its history stays)"
    if request.verb in ("watch", "unwatch"):
        await repo.set_watched(request.name, request.verb == "watch")
        if request.verb == "watch":
            return f"`{request.name}` is in digests"
        return f"`{request.name}` is left out of digests (still triaged on demand)"
    spec = spec_from(request, known_hosts)
    await repo.add(spec)
    return f"added `{spec.name}` ({spec.user}@{spec.address}:{spec.port})"
