"""Hostile user text for the parser fuzz and the no-shell tests, and the checks on what comes out.

Strategies are built from a fixed list of nasty atoms (shell metacharacters, option injection,
line breaks, NUL, Slack's `<url|text>` wrapping, homoglyphs, 10 KB strings) mixed with
arbitrary text, so 10,000 examples per parser stay fast.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from commands import validate
from ssh_probes.errors import InputError

T = TypeVar("T")

BIG = "A" * 10_000
ATOMS: tuple[str, ...] = (
    # shell metacharacters and substitutions
    ";", "|", "&", "&&", "||", "$(id)", "`id`", "${IFS}", "$HOME", "'", '"', "\\", ">", "<",
    "*", "?", "~", "!", "#", "{a,b}", "$((1+1))", "; rm -rf /tmp/x #",
    # option injection (ssh, curl, dig, getent)
    "-oProxyCommand=sh -c id", "-oProxyCommand=touch /tmp/pwn", "-o", "--", "-", "-K",
    "--config=/etc/passwd", "+short", "-f", "-x",
    # the parsers' own words
    "--from", "--from=", "--from=web-1", "--resolve", "--resolve=a.com:80:1.2.3.4",
    "--method", "--method=HEAD", "--trace", "port", "22", "0", "65536", "99999999999999999999",
    "@", "@1.1.1.1", "@[::1]:53", "@::1", "@1.1.1.1:99999", ":", "=", "k=v", "group=web",
    "add", "show", "remove", "list", "--address", "--host-key", "--label", "--log",
    "--expect-port", "--port", "--user", "--key", "--known-hosts",
    # line breaks, controls, NUL, odd spaces
    "\n", "\r\n", "\r", "\t", "\x00", "\x0b", "\x1b[31m", "\u2028", "\u0085", "\u00a0", " ",
    # Slack's wrapping
    "<https://example.com|example.com>", "<http://a.b>", "<mailto:x@y.z|x@y.z>", "<@U123>",
    "<#C123|general>", "<!here>", "<https://evil.com|https://good.com>", "<", ">", "|",
    # homoglyphs and invisible characters
    "\u0430", "ex\u0430mple.com",
    "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d",
    "\u212a", "\u017f", "\u0130", "\u0131", "\u200b", "\u00ad", "\ufeff", "\u202e", "\u0301",
    "\ud800",
    # names, addresses and URLs, good and bad
    "example.com", "web-1", "local", "LOCAL", "a.b-c_d", "http://", "https://", "http://a.com",
    "https://user:pw@a.com:8443/p?q=1#f", "file:///etc/passwd", "gopher://x", "javascript:x",
    "ftp://a.com", "http://[::1]:80/", "http://1.2.3.4", "//a.com", "xn--", "xn--80ak6aa92e.com",
    "_dmarc.example.com", "1.1.1.1", "::1", "[::1]", "a..b", ".", "..", "/", "/var/log/x.log",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    # long strings
    BIG, "a." * 5000, "\u0430" * 3000, "x" * 64, "x" * 63,
)  # fmt: skip

# By index: hypothesis is several times slower sampling the 10 KB strings themselves.
atom = st.integers(0, len(ATOMS) - 1).map(ATOMS.__getitem__)
piece = st.one_of(atom, atom, st.text(max_size=8))
# Flat on purpose: each nested draw costs hypothesis time, and there are 10,000 examples.
pieces = st.lists(piece, max_size=8)
# A line as typed in Slack; atoms glue into words, space and line-break atoms split them.
line = pieces.map("".join)
# One value (a name, an address, an option's argument).
word = st.lists(piece, min_size=1, max_size=3).map("".join)
# The words a parser gets: `text.split()` in Slack, or CLI arguments that may hold anything.
words = st.one_of(line.map(str.split), pieces)

FUZZ = settings(
    max_examples=10_000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_HOST_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_LDH = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


def one_line(message: str) -> bool:
    """True for a non-empty message with no line break and no control character."""
    return (
        bool(message)
        and len(message.splitlines()) == 1
        and not any(unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") for c in message)
    )


def refused_or(parse: Callable[[], T], check: Callable[[T], None]) -> None:
    """Either `parse` raises InputError with a one-line message, or its value passes `check`."""
    try:
        value = parse()
    except InputError as exc:
        assert one_line(str(exc)), repr(str(exc))
        return
    check(value)


def host_name_ok(name: Any) -> None:
    """A registry name: ASCII, lowercase, the registry pattern."""
    assert isinstance(name, str) and name.isascii() and _HOST_NAME.fullmatch(name), repr(name)


def domain_ok(name: str, *, service: bool = False) -> None:
    """ASCII LDH labels (punycode for IDN), at most 253 characters, valid IDNA when decoded."""
    assert name.isascii() and 0 < len(name) <= 253, repr(name)
    for label in name.split("."):
        assert _LDH.fullmatch(label), repr(name)
        assert service or "_" not in label, repr(name)
    assert validate.domain(name.replace("_", "x")) == name.replace("_", "x")


def ip_ok(text: str) -> None:
    """A canonical IP literal."""
    assert str(ipaddress.ip_address(text)) == text, repr(text)


def url_ok(url: str, host: str, port: int, scheme: str) -> None:
    """An http(s) URL with no space or control character whose host is `host`."""
    assert scheme in ("http", "https") and url.startswith(scheme + "://"), repr(url)
    assert not any(c.isspace() or unicodedata.category(c) == "Cc" for c in url), repr(url)
    assert "\\" not in url
    parts = urlsplit(url)
    assert parts.hostname == host and (parts.port or {"http": 80, "https": 443}[scheme]) == port
    if validate.ip_address(host) is None:
        domain_ok(host)
    else:
        ip_ok(host)
    assert 1 <= port <= 65535
