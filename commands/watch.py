"""`/dig watch DOMAIN` and `/dig unwatch DOMAIN`: which domains the digests follow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from commands.dns.words import parse_domain
from ssh_probes.errors import InputError

VERBS = ("watch", "unwatch")


@dataclass(frozen=True)
class WatchRequest:
    """Watch or unwatch one domain (its ASCII name)."""

    verb: str
    domain: str


def is_watch(command: str, words: Sequence[str]) -> bool:
    """True for `dig watch ...` / `dig unwatch ...`."""
    return command == "dig" and bool(words) and words[0].lower() in VERBS


def parse(words: Sequence[str]) -> WatchRequest:
    """`watch DOMAIN` | `unwatch DOMAIN`; anything else is an InputError."""
    if not words or words[0].lower() not in VERBS or len(words) != 2:
        raise InputError("usage: `/dig watch DOMAIN` | `/dig unwatch DOMAIN`")
    return WatchRequest(words[0].lower(), parse_domain(words[1])[0])
