"""`dig` input: what is accepted, and one-line refusals for everything that is not plain data."""

from __future__ import annotations

import pytest

from commands.dig import DEFAULT_TYPES, DigRequest, parse
from ssh_probes.errors import InputError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.com", DigRequest("example.com", "example.com")),
        ("EXAMPLE.com.", DigRequest("example.com", "example.com")),
        (
            "example.com mx A mx @1.1.1.1 @9.9.9.9:5353 --trace --from web-1",
            DigRequest(
                "example.com",
                "example.com",
                ("MX", "A"),
                (("1.1.1.1", 53), ("9.9.9.9", 5353)),
                trace=True,
                from_host="web-1",
            ),
        ),
        (
            "example.com @2606:4700::1111 @[::1]:5353 --from=db.eu",
            DigRequest(
                "example.com",
                "example.com",
                resolvers=(("2606:4700::1111", 53), ("::1", 5353)),
                from_host="db.eu",
            ),
        ),
        ("bücher.example", DigRequest("xn--bcher-kva.example", "bücher.example")),
        ("xn--bcher-kva.example", DigRequest("xn--bcher-kva.example", "xn--bcher-kva.example")),
        (
            "_dmarc.example.com TXT",
            DigRequest("_dmarc.example.com", "_dmarc.example.com", ("TXT",)),
        ),
        ("localhost", DigRequest("localhost", "localhost")),
    ],
    ids=[
        "plain",
        "case-and-dot",
        "types-resolvers-modes",
        "ipv6-resolvers",
        "idn",
        "punycode",
        "service-label",
        "single-label",
    ],
)
def test_accepted(text: str, expected: DigRequest) -> None:
    assert parse(text.split()) == expected


def test_defaults_cover_the_issue_types() -> None:
    assert DEFAULT_TYPES == ("A", "AAAA", "CNAME", "NS", "SOA", "MX", "TXT", "CAA")


@pytest.mark.parametrize(
    ("words", "says"),
    [
        ([], "no domain"),
        (["a.com", "b.com"], "one domain"),
        (["example.com;id"], "invalid domain"),
        (["$(id).example.com"], "invalid domain"),
        (["`id`.example.com"], "invalid domain"),
        (["example.com|nc"], "invalid domain"),
        (["a.com&&reboot"], "invalid domain"),
        (["exa mple.com\nid"], "invalid domain"),
        (["x" * 64 + ".com"], "63"),
        ([".".join(["a" * 60] * 5)], "253"),
        (["-oProxyCommand=x"], "unknown option"),
        (["example.com", "-oProxyCommand=x"], "unknown option"),
        (["example.com", "--from", "-oProxyCommand=x"], "invalid host name"),
        (["example.com", "--from"], "--from needs"),
        (["example.com", "--from", "web;id"], "invalid host name"),
        (["example.com", "@dns.google"], "invalid resolver"),
        (["example.com", "@1.2.3"], "invalid resolver"),
        (["example.com", "@8.8.8.8:0"], "invalid port"),
        (["example.com", "@8.8.8.8:65536"], "invalid port"),
        (["example.com", "@8.8.8.8:53;id"], "invalid resolver"),
        (["example.com", "@[1.2.3.4]:53"], "invalid resolver"),
        (["example.com", "@"], "invalid resolver"),
        (["example.com", *(f"@10.0.0.{n}" for n in range(5))], "at most"),
        (["_x.bücher.de"], "ASCII"),
        (["-"], "unknown option"),
    ],
    ids=lambda v: repr(v)[:40] if isinstance(v, list) else None,
)
def test_refused_with_one_line(words: list[str], says: str) -> None:
    with pytest.raises(InputError) as caught:
        parse(words)
    message = str(caught.value)
    assert says in message
    assert message and "\n" not in message
