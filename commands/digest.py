"""`/digest ...`: parse the words of a schedule command (no I/O, no Slack).

    /digest add [#channel|<#C123|name>] CRON [hosts=PATTERN] [domains=a,b] [tz=Area/City]
    /digest list | /digest remove ID | /digest run ID

CRON is five fields (`0 9 * * 1-5`) or an alias (`@daily`), read by croniter in the time
zone `tz` (default UTC). Every mistake is an InputError of one line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commands.dns.words import parse_domain, shown
from ssh_probes.errors import InputError

USAGE = (
    "usage: `/digest add [#channel] CRON [hosts=PATTERN] [domains=a,b] [tz=Area/City]` | "
    "`/digest list` | `/digest remove ID` | `/digest run ID`"
)
ALIASES = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
MAX_DOMAINS = 20
_CHANNEL_REF = re.compile(r"<#(C[A-Z0-9]{2,20})(?:\|[^>]{0,80})?>")
_CHANNEL_NAME = re.compile(r"#([a-z0-9][a-z0-9_-]{0,79})")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{6,20}")
_PATTERN = re.compile(r"[a-z0-9*?][a-z0-9*?._-]{0,63}")


@dataclass(frozen=True)
class DigestRequest:
    """What `/digest` was asked."""

    verb: str  # add | list | remove | run
    schedule_id: int | None = None
    channel: str | None = None  # a channel id, or `#name`; None: where the command was typed
    cron: str = ""
    tz: str = "UTC"
    hosts: str = "*"
    domains: tuple[str, ...] = ()


def parse_channel(word: str) -> str:
    """`<#C123|ops>` or `C123` -> `C123`; `#ops` -> `#ops`; anything else is an InputError."""
    for pattern, keep in ((_CHANNEL_REF, 1), (_CHANNEL_ID, 0), (_CHANNEL_NAME, 0)):
        match = pattern.fullmatch(word)
        if match:
            return match[keep]
    raise InputError(f"invalid channel {shown(word)}: use #name or a channel id such as C0123ABC")


def parse_cron(expr: str) -> str:
    """A validated cron expression (five fields or an @alias)."""
    from croniter import croniter

    expr = " ".join(expr.split())
    fields = expr.split(" ")
    if expr.lower() in ALIASES:
        return expr.lower()
    if len(fields) != 5:
        raise InputError(
            f"invalid cron {shown(expr)}: give five fields (minute hour day month weekday), "
            "e.g. `0 9 * * 1-5`, or @daily"
        )
    if not croniter.is_valid(expr):
        raise InputError(f"invalid cron {shown(expr)}: a field is out of range or unreadable")
    return expr


def parse_tz(name: str) -> str:
    """A time zone name zoneinfo knows (`Europe/Paris`, `UTC`)."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+/-]{0,63}", name) or ".." in name:
        raise InputError(f"invalid time zone {shown(name)}: use an Area/City name such as UTC")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InputError(
            f"unknown time zone {shown(name)}: use an Area/City name such as Europe/Paris"
        ) from None
    return name


def parse_pattern(text: str) -> str:
    """A host-name glob (`web-*`, `db?`, `*`)."""
    pattern = text.strip().lower()
    if not _PATTERN.fullmatch(pattern):
        raise InputError(
            f"invalid host pattern {shown(text)}: letters, digits, . _ - and the globs * ?"
        )
    return pattern


def parse_domains(text: str) -> tuple[str, ...]:
    """`a.example,b.example` -> validated ASCII names."""
    names = [w for w in text.split(",") if w.strip()]
    if not names:
        raise InputError("domains= needs at least one name: domains=example.com,api.example.com")
    if len(names) > MAX_DOMAINS:
        raise InputError(f"at most {MAX_DOMAINS} domains per digest")
    return tuple(dict.fromkeys(parse_domain(n.strip())[0] for n in names))


def _schedule_id(words: Sequence[str]) -> int:
    if len(words) != 2 or not words[1].isdigit() or len(words[1]) > 9:
        raise InputError(f"`{words[0]}` takes one schedule id (see `/digest list`). {USAGE}")
    return int(words[1])


def _add(words: Sequence[str]) -> DigestRequest:
    channel = None
    rest = list(words)
    if rest and (rest[0].startswith(("#", "<#")) or _CHANNEL_ID.fullmatch(rest[0])):
        channel = parse_channel(rest.pop(0))
    options: dict[str, str] = {}
    cron_words: list[str] = []
    for word in rest:
        key, eq, value = word.partition("=")
        if not eq:
            cron_words.append(word)
        elif key.lower() in ("hosts", "domains", "tz") and key.lower() not in options:
            options[key.lower()] = value
        else:
            raise InputError(f"unknown or repeated option {shown(word)}. {USAGE}")
    if not cron_words:
        raise InputError(f"no cron schedule given. {USAGE}")
    return DigestRequest(
        "add",
        channel=channel,
        cron=parse_cron(" ".join(cron_words)),
        tz=parse_tz(options.get("tz", "UTC")),
        hosts=parse_pattern(options.get("hosts", "*")),
        domains=parse_domains(options["domains"]) if "domains" in options else (),
    )


def parse(words: Sequence[str]) -> DigestRequest:
    """The request of `/digest` words; bad input is a one-line InputError."""
    if not words:
        return DigestRequest("list")
    verb = words[0].lower()
    if verb == "list" and len(words) == 1:
        return DigestRequest("list")
    if verb in ("remove", "run"):
        return DigestRequest(verb, schedule_id=_schedule_id(words))
    if verb == "add":
        return _add(words[1:])
    raise InputError(USAGE)
