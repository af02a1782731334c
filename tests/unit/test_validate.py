"""Validation refuses anything that is not plain data, with one line saying why."""

from __future__ import annotations

import pytest

from commands import triage, validate
from ssh_probes.errors import InputError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web-1", "web-1"),
        ("Web-1", "web-1"),
        ("db_primary.eu", "db_primary.eu"),
    ],
    ids=["plain", "uppercase-folded", "dots-underscores"],
)
def test_host_names_accepted(text: str, expected: str) -> None:
    assert validate.host_name(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-oProxyCommand=x",
        "web;id",
        "web 1",
        "$(id)",
        "`id`",
        "a|b",
        "web\n1",
        "x" * 64,
        "../etc",
        "we\u0431",
    ],
    ids=[
        "empty",
        "option",
        "semicolon",
        "space",
        "subst",
        "backtick",
        "pipe",
        "newline",
        "too-long",
        "dotdot",
        "homoglyph",
    ],
)
def test_host_names_refused(text: str) -> None:
    with pytest.raises(InputError) as info:
        validate.host_name(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.com", "example.com"),
        ("Example.COM.", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
    ],
    ids=["plain", "case-and-root-dot", "idn", "punycode", "63-char-label"],
)
def test_domains_accepted(text: str, expected: str) -> None:
    assert validate.domain(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a" * 64 + ".com", "exceeds 63"),
        (".".join(["abcdefghi"] * 26), "longer than 253"),
        ("exa mple.com", "letters, digits"),
        ("example.com;rm -rf /", "letters, digits"),
        ("-lead.example", "letters, digits"),
        ("", "empty"),
    ],
    ids=["label-64", "name-over-253", "space", "metachar", "leading-hyphen", "empty"],
)
def test_domains_refused(text: str, why: str) -> None:
    with pytest.raises(InputError, match=why):
        validate.domain(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("198.18.0.2", "198.18.0.2"),
        ("[::1]", "::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("db.internal", "db.internal"),
    ],
    ids=["ipv4", "bracketed-ipv6", "ipv6-canonical", "dns-name"],
)
def test_addresses(text: str, expected: str) -> None:
    assert validate.address(text) == expected


@pytest.mark.parametrize("text", ["-oProxyCommand=id", "a;b", "1.2.3.4 5.6.7.8", ""])
def test_addresses_refused(text: str) -> None:
    with pytest.raises(InputError, match="invalid address"):
        validate.address(text)


def test_triage_parse_takes_exactly_one_host() -> None:
    assert triage.parse("  web-1 ").host == "web-1"
    for text in ("", "a b", "web;reboot"):
        with pytest.raises(InputError):
            triage.parse(text)


@pytest.mark.parametrize(
    ("words", "host", "port"),
    [("web-1 port 8080", "web-1", 8080), (["local", "PORT", "22"], "local", 22)],
    ids=["text", "words"],
)
def test_triage_parse_port(words: str | list[str], host: str, port: int) -> None:
    request = triage.parse(words)
    assert (request.host, request.port) == (host, port)


@pytest.mark.parametrize(
    "text",
    [
        "web-1 port",
        "web-1 port 0",
        "web-1 port 70000",
        "web-1 port -1",
        "web-1 port 22;id",
        "web-1 url",
        "web-1 port 1e3",
        "web-1 port 000000022",
    ],
)
def test_triage_parse_port_refused(text: str) -> None:
    with pytest.raises(InputError):
        triage.parse(text)


def test_triage_parse_url_and_port_in_any_order() -> None:
    request = triage.parse("web-1 url https://api.example.com/health port 443")
    assert request.port == 443 and request.url is not None
    assert request.url.shown == "https://api.example.com/health"
    assert triage.symptom_target("web-1", 443, request.url) == (
        "web-1 port 443 url https://api.example.com/health"
    )
    for bad in (
        "web-1 url file:///etc/passwd",
        "web-1 url http://a;b/",
        "web-1 url",
        "web-1 url http://a/ url http://b/",
    ):
        with pytest.raises(InputError):
            triage.parse(bad)
