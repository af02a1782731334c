"""Validation of user-supplied names and addresses: refuse anything that is not plain data."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from ssh_probes.errors import InputError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_HOST_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")


def show(text: str, limit: int = 80) -> str:
    """User text quoted and cut short for a one-line error message."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def words_of(text: str | Sequence[str]) -> list[str]:
    """The words of a command: Slack and the console give text, the CLI gives argv."""
    return text.split() if isinstance(text, str) else list(text)


def host_name(name: str) -> str:
    """A registry name: lowercase letters, digits, '.', '_', '-'; at most 63 characters."""
    if not _HOST_NAME.fullmatch(name.lower()):
        raise InputError(
            f"invalid host name {show(name)}: use letters, digits, '.', '_' or '-' (max 63)"
        )
    return name.lower()


def ip_address(text: str) -> str | None:
    """The canonical form of an IPv4/IPv6 literal (brackets allowed), or None."""
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def domain(name: str) -> str:
    """A DNS name in ASCII (IDNA/punycode); refuses anything else with a one-line reason."""
    if not name or len(name) > 1000:
        raise InputError(f"invalid domain name {show(name)}: empty or far too long")
    text = name.strip().rstrip(".")
    try:
        ascii_name = text.encode("idna").decode("ascii") if not text.isascii() else text
    except UnicodeError as exc:
        raise InputError(f"invalid domain name {show(name)}: {exc}") from None
    ascii_name = ascii_name.lower()
    if len(ascii_name) > 253:
        raise InputError(f"invalid domain name {show(name)}: longer than 253 characters")
    labels = ascii_name.split(".")
    for label in labels:
        if len(label) > 63:
            raise InputError(f"invalid domain name {show(name)}: a label exceeds 63 characters")
        if not _LABEL.fullmatch(label):
            raise InputError(
                f"invalid domain name {show(name)}: labels are letters, digits and '-' only"
            )
    return ascii_name


def address(text: str) -> str:
    """An IP literal or a DNS name to connect to."""
    ip = ip_address(text)
    if ip is not None:
        return ip
    try:
        return domain(text)
    except InputError:
        raise InputError(
            f"invalid address {show(text)}: give an IP address or a DNS name"
        ) from None


def user(name: str) -> str:
    """A Unix login name."""
    if not _USER.fullmatch(name):
        raise InputError(f"invalid user {show(name)}: a Unix login name such as 'root' or 'ops'")
    return name


def port(value: int) -> int:
    """A TCP port, 1-65535."""
    if not 1 <= value <= 65535:
        raise InputError(f"invalid port {value}: must be 1-65535")
    return value
