"""The one command registry: each chat command's name, parser, runner, policy actions, usage.

Slack (bot.slack.app), the CLI's chat commands (bot.cli, bot.cli.digest) and the console
(bot.cli.console) dispatch through it, so a command works the same everywhere. An action ending
in `.write` changes something stored (the registry, schedules, watched domains): it needs an
admin or an explicit policy entry, and never runs from a button.

Import-light on purpose: runners and parsers import their command modules when called, so
`triagebot --help` does not pay for SSH, HTTP and the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.service import Runner, Who
    from bot.settings import Settings
    from bot.store.db import Store
    from commands.report import Report

HOSTS_WRITE_VERBS = frozenset({"add", "remove", "watch", "unwatch"})


def _triage_parse(words: Sequence[str]) -> object:
    from commands import triage
    from ssh_probes.errors import InputError

    chosen = triage.selector(words[0]) if words else None
    if chosen is not None:
        if len(words) > 1:
            raise InputError("a label selector takes no `port N`; triage one host for that")
        return chosen
    return triage.parse(words)


async def _triage_expand(store: Store, words: Sequence[str]) -> list[list[str]]:
    """`group=web` -> one `triage NAME` per registered host with that label."""
    from bot.store.hosts import HostRepo
    from commands import triage
    from ssh_probes.errors import InputError

    chosen = triage.selector(words[0]) if words else None
    if chosen is None:
        return [list(words)]
    key, value = chosen
    names = [s.name for s in await HostRepo(store).list() if triage.selects(s.labels, key, value)]
    if not names:
        raise InputError(f"no registered host has label {key}={value}")
    return [[name] for name in names]


def _http_parse(words: Sequence[str]) -> object:
    from commands import http

    return http.parse(list(words))


def _dig_parse(words: Sequence[str]) -> object:
    from commands import dig, watch

    return watch.parse(words) if watch.is_watch("dig", words) else dig.parse(words)


def _dig_action(words: Sequence[str]) -> str:
    from commands import watch

    return "dig.write" if watch.is_watch("dig", words) else "dig"


def _digest_parse(words: Sequence[str]) -> object:
    from commands import digest

    return digest.parse(words)


def _digest_action(words: Sequence[str]) -> str:
    return "digest.write" if words and words[0].lower() in ("add", "remove") else "digest"


async def _digest_channel(store: Store, words: Sequence[str]) -> str | None:
    """`digest run ID` posts into the schedule's channel: it is bound to that channel."""
    if not words or words[0].lower() != "run":
        return None
    from bot.store.digests import DigestRepo
    from commands import digest

    request = digest.parse(words)
    assert request.schedule_id is not None
    return (await DigestRepo(store).get(request.schedule_id)).channel


def _history_parse(words: Sequence[str]) -> object:
    from bot.runs.history_text import parse

    return parse(words)


# The runners, imported when called (each pulls in its command's SSH, HTTP or DNS stack).
def _triage_runner() -> Runner:
    from bot.service import triage_host

    return triage_host


def _http_runner() -> Runner:
    from bot.service import http_check

    return http_check


def _dig_runner() -> Runner:
    return dig


async def dig(store: Store, settings: Settings, words: Sequence[str], who: Who) -> Report:
    """`dig watch|unwatch DOMAIN` is the digests' (bot.digests.command); any other `dig` is
    bot.service's, which does not load the digests."""
    from commands import validate, watch

    words = validate.words_of(words)
    if watch.is_watch("dig", words):
        from bot.digests.command import watch_command

        return await watch_command(store, settings, words, who)
    from bot.service import dig_name

    return await dig_name(store, settings, words, who)


def _digest_runner() -> Runner:
    from bot.digests.command import digest

    return digest


def _hosts_action(words: Sequence[str]) -> str:
    return "hosts.write" if words and words[0].lower() in HOSTS_WRITE_VERBS else "hosts"


@dataclass(frozen=True)
class Command:
    """One chat command. `runner` loads the function returning its Report; None for the
    commands answered as text (`hosts`, `history`)."""

    name: str
    usage: str
    actions: tuple[str, ...]  # every policy action it can need (reads, then writes)
    action_of: Callable[[Sequence[str]], str]
    parse: Callable[[Sequence[str]], object] | None = None
    runner: Callable[[], Runner] | None = None
    # Commands acting on several targets (`triage group=web`): the words of each run.
    expand: Callable[[Store, Sequence[str]], Awaitable[list[list[str]]]] | None = None
    # Commands bound to a channel (`digest run ID`): only there, or by an admin.
    bound_channel: Callable[[Store, Sequence[str]], Awaitable[str | None]] | None = None

    def action(self, words: Sequence[str]) -> str:
        """The policy action of these words (`dig` or `dig.write`, ...)."""
        return self.action_of(words)

    def what(self, words: Sequence[str]) -> str:
        """What the "working on it" ack names: the command, and for triage its probes."""
        shown = f"`/{self.name} {' '.join(words)}`"
        if self.name == "triage":
            from ssh_probes.checks import DEFAULT_PROBES

            shown += f" (probes: {', '.join(DEFAULT_PROBES)})"
        return shown

    def check(self, words: Sequence[str]) -> None:
        """The syntax check before anything runs: bad words are an InputError."""
        if self.parse is not None:
            self.parse(words)

    async def targets(self, store: Store, words: Sequence[str]) -> list[list[str]]:
        """The words of each run these words ask for (one, or one per host of a group)."""
        return await self.expand(store, words) if self.expand else [list(words)]

    def run(self) -> Runner:
        """The runner of a report command."""
        if self.runner is None:
            raise LookupError(f"{self.name} is answered as text, not run as a report")
        return self.runner()


def _one(action: str) -> Callable[[Sequence[str]], str]:
    return lambda _words: action


REGISTRY: dict[str, Command] = {
    c.name: c
    for c in (
        Command("triage", "`/triage HOST [port N]` or `/triage group=web`: the incident routine",
                ("triage",), _one("triage"), _triage_parse, _triage_runner, _triage_expand),
        Command("http", "`/http URL [--resolve HOST:PORT:IP] [--from HOST]`: why it fails",
                ("http",), _one("http"), _http_parse, _http_runner),
        Command("dig", "`/dig DOMAIN [TYPE]... [@RESOLVER]`, `/dig watch|unwatch DOMAIN`",
                ("dig", "dig.write"), _dig_action, _dig_parse, _dig_runner),
        Command("digest", "`/digest list|add|remove|run`: scheduled digests",
                ("digest", "digest.write"), _digest_action, _digest_parse, _digest_runner,
                bound_channel=_digest_channel),
        Command("history", "`/history [TARGET]`: past runs of this channel",
                ("history",), _one("history"), _history_parse),
        Command("hosts", "`/hosts list|show NAME|add NAME --address ...|remove NAME`: the "
                "registry", ("hosts", "hosts.write"), _hosts_action),
    )
}  # fmt: skip
REPORT_COMMANDS = tuple(n for n, c in REGISTRY.items() if c.runner is not None)


def runners() -> dict[str, Runner]:
    """Command name -> runner, for every report command."""
    return {name: REGISTRY[name].run() for name in REPORT_COMMANDS}


async def run(
    name: str, store: Store, settings: Settings, words: Sequence[str], who: Who
) -> Report:
    """Run a report command by name (the CLI, the scheduler's refresh)."""
    return await REGISTRY[name].run()(store, settings, words, who)
