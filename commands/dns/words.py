"""The words of `dig`: resolvers as IP literals with optional ports, domain names (IDN,
service labels). Anything else is an InputError with one line saying why."""

from __future__ import annotations

import re

from commands import validate
from commands.dns.query import Server
from ssh_probes.errors import InputError

_BRACKETED = re.compile(r"^\[([0-9a-fA-F:.]+)\](?::([0-9]{1,5}))?$")


def shown(text: str) -> str:
    """The user's word, quoted and cut short for an error message."""
    return validate.show(text, 60)


def parse_resolver(text: str) -> Server:
    """'1.1.1.1', '1.1.1.1:5353', '2606:4700::1111', '[::1]:53' -> (address, port)."""
    bad = InputError(
        f"invalid resolver {shown('@' + text)}: give an IP address, e.g. @1.1.1.1, "
        "@9.9.9.9:53 or @[2606:4700::1111]:53"
    )
    host, port = text, "53"
    match = _BRACKETED.fullmatch(text)
    if match:
        host, port = match.group(1), match.group(2) or "53"
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    address = validate.ip_address(host)
    if address is None or not port.isdigit() or (match and ":" not in address):
        raise bad
    return address, validate.port(int(port))


def parse_domain(word: str) -> tuple[str, str]:
    """(ASCII name, name as typed); service labels such as `_dmarc` are allowed."""
    if "_" in word:
        if not word.isascii():
            raise InputError(f"invalid domain name {shown(word)}: '_' only in ASCII names")
        validate.domain(word.replace("_", "x"))  # same lengths, same other characters
        name = word.strip().rstrip(".").lower()
        return name, name
    name = validate.domain(word)
    return name, word.strip().rstrip(".") if not word.isascii() else name
