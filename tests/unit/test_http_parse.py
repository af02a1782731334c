"""`http` input: what is accepted, what is refused (one line each), and what curl is given."""

from __future__ import annotations

import pytest

from commands.http import HttpOptions, parse
from commands.web import curl, verdict
from ssh_probes.errors import InputError


@pytest.mark.parametrize(
    ("words", "url", "host", "port"),
    [
        (["https://example.com"], "https://example.com/", "example.com", 443),
        (
            ["<https://example.com/a?b=1|example.com/a>"],
            "https://example.com/a?b=1",
            "example.com",
            443,
        ),
        (["<http://example.com>"], "http://example.com/", "example.com", 80),
        (["example.com:8080/x"], "http://example.com:8080/x", "example.com", 8080),
        (["HTTPS://Example.COM/Path"], "https://example.com/Path", "example.com", 443),
        (["https://[::1]:8443/"], "https://[::1]:8443/", "::1", 8443),
        (["http://bücher.example/"], "http://xn--bcher-kva.example/", "xn--bcher-kva.example", 80),
        (["http://127.0.0.1:1/#frag"], "http://127.0.0.1:1/", "127.0.0.1", 1),
    ],
    ids=["https", "slack-label", "slack-bare", "bare-host", "case", "ipv6", "idn", "fragment"],
)
def test_urls_accepted(words: list[str], url: str, host: str, port: int) -> None:
    req = parse(words)
    assert (req.url, req.host, req.port) == (url, host, port)


def test_options_parsed() -> None:
    req = parse(
        ["--resolve=example.com:443:[::1]", "https://example.com/", "--from", "Web-1",
         "--method", "head", "--resolve", "cdn.example.com:443:10.0.0.1"]
    )  # fmt: skip
    assert [p.curl for p in req.pins] == ["example.com:443:[::1]", "cdn.example.com:443:10.0.0.1"]
    assert (req.from_host, req.method) == ("web-1", "HEAD")
    assert req.pin_for("example.com", 443) is not None
    assert req.pin_for("example.com", 80) is None


def test_credentials_kept_for_the_request_but_never_shown() -> None:
    req = parse(["https://alice:hunter2@example.com/x?token=abc123&q=1"])
    assert req.has_credentials and "hunter2" in req.url
    assert "hunter2" not in req.shown and "abc123" not in req.shown
    assert req.shown.startswith("https://alice:[REDACTED]@example.com/x?token=")
    assert parse(["https://tok3n@example.com/"]).shown == "https://[REDACTED]@example.com/"


@pytest.mark.parametrize(
    "words",
    [
        ["file:///etc/passwd"],
        ["ftp://example.com/"],
        ["gopher://example.com/"],
        ["javascript:alert(1)"],
        ["mailto:a@example.com"],
        ["http://exa;mple.com/"],
        ["http://$(id).example.com/"],
        ["http://`id`.example.com/"],
        ["http://a|b.example.com/"],
        ["http://example.com/\nHost: evil"],
        ["http://exa mple.com/"],
        ["http://example.com:99999/"],
        ["-oProxyCommand=x"],
        ["https://example.com/", "-oProxyCommand=x"],
        ["https://example.com/", "--resolve"],
        ["https://example.com/", "--resolve", "example.com:443"],
        ["https://example.com/", "--resolve", "example.com:443:not-an-ip"],
        ["https://example.com/", "--resolve", "example.com:99999:10.0.0.1"],
        ["https://example.com/", "--resolve", "ex;ample.com:443:10.0.0.1"],
        ["https://example.com/", "--resolve", "other.example:443:10.0.0.1"],
        ["https://example.com/", "--from", "../etc"],
        ["https://example.com/", "--from", "-oProxyCommand=x"],
        ["https://example.com/", "--method", "POST"],
        ["https://example.com/", "https://example.org/"],
        [],
        ["ftp://bob:hunter2@example.com/"],
    ],
    ids=[
        "file", "ftp", "gopher", "javascript", "mailto", "semicolon-host", "subshell-host",
        "backtick-host", "pipe-host", "newline", "space", "bad-port", "option-injection",
        "option-after-url", "resolve-no-value", "resolve-short", "resolve-not-ip",
        "resolve-bad-port", "resolve-bad-host", "resolve-other-host", "from-path",
        "from-option", "method-post", "two-urls", "nothing", "creds-in-refused-url",
    ],
)  # fmt: skip
def test_bad_input_is_one_line(words: list[str]) -> None:
    with pytest.raises(InputError) as info:
        parse(words)
    message = str(info.value)
    assert message and "\n" not in message
    assert "hunter2" not in message


def test_curl_gets_the_url_as_one_argument_after_double_dash() -> None:
    req = parse(
        ["https://example.com/a b".replace(" ", "%20"), "--resolve", "example.com:443:10.0.0.1"]
    )
    argv, stdin = curl.argv(req, HttpOptions())
    assert argv[-2:] == ["--", "https://example.com/a%20b"] and stdin is None
    assert argv[argv.index("--resolve") + 1] == "example.com:443:10.0.0.1"
    assert argv[0] == "curl" and "-w" in argv


def test_curl_gets_credentials_on_stdin_not_in_argv() -> None:
    req = parse(['https://bob:p"w@example.com/'])
    argv, stdin = curl.argv(req, HttpOptions())
    assert not any('p"w' in a or "bob" in a for a in argv)
    assert argv[-2:] == ["-K", "-"]
    assert stdin == 'url = "https://bob:p\\"w@example.com/"\n'


FACTS = {"outcome": "response", "status": 200, "ip": "10.0.0.1", "port": 443}


@pytest.mark.parametrize(
    ("facts", "codes"),
    [
        (FACTS, []),
        ({**FACTS, "addresses": ["10.0.0.1", "10.0.0.2"]}, ["dns.multiple_a"]),
        ({**FACTS, "status": 503}, ["http.5xx"]),
        ({**FACTS, "status": 429}, ["http.4xx"]),
        ({**FACTS, "timings": {"ttfb_ms": 1500.0, "total_ms": 1510.0}}, ["http.slow"]),
        ({**FACTS, "timings": {"ttfb_ms": 900.0, "total_ms": 950.0}}, []),
        ({"outcome": "dns.nxdomain", "detail": "cannot resolve"}, ["dns.nxdomain"]),
    ],
    ids=["healthy", "several-addresses", "503", "429", "slow-ttfb", "under-threshold", "nxdomain"],
)  # fmt: skip
def test_verdicts(facts: dict[str, object], codes: list[str]) -> None:
    req = parse(["https://example.com/"])
    found = verdict.findings(facts, "local", req, HttpOptions())
    assert [f.code for f in found] == codes
    if codes == ["dns.multiple_a"]:
        assert "--resolve example.com:443:10.0.0.2" in found[0].suggestion
    if codes == ["http.slow"]:
        assert "first byte" in found[0].title


def test_compare_names_a_different_address() -> None:
    req = parse(["https://example.com/"])
    same = verdict.compare(FACTS, dict(FACTS), "web-1", req)
    moved = verdict.compare(FACTS, {**FACTS, "ip": "10.9.9.9"}, "web-1", req)
    assert same == []
    assert [f.code for f in moved] == ["http.view_mismatch"] and "10.9.9.9" in moved[0].title


def test_every_code_http_can_report_is_in_the_catalog() -> None:
    from commands.knowledge.catalog import CATALOG

    outcomes = {c for c in curl.EXIT_CODES.values() if c != "timeout"}
    outcomes |= {"tcp.timeout", "http.timeout", "http.5xx", "http.4xx", "http.slow"}
    outcomes |= {"http.view_mismatch", "dns.multiple_a", "dns.timeout", "dns.servfail"}
    assert outcomes - set(CATALOG) == set()
