"""The HTTP verdict on facts recorded from real checks (tests/fixtures/rules/web-findings--*).

Each recorded view (real loopback servers, trustme certificates, a black-holed lab address)
gives its row of OUTCOMES with the words of that run in the title and the advice; the table
covers every outcome the bot's fetch and curl can classify.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from commands.web import curl, verdict
from commands.web.request import HttpOptions, HttpRequest, Pin
from ssh_probes.model import Finding

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "tests" / "fixtures" / "rules"
# Outcomes that mean the check itself did not work (commands/http.py _BROKEN): no verdict row.
BROKEN = {"http.error", "curl.error"}


def recorded(case: str) -> tuple[dict[str, Any], list[Finding]]:
    """The recorded facts of `web-findings--<case>.json` and the verdict on them."""
    data = json.loads((RULES_DIR / f"web-findings--{case}.json").read_text())
    facts, host, req, opts = data["args"]
    request = HttpRequest(**{**req, "pins": tuple(Pin(**p) for p in req.get("pins", ()))})
    return facts, verdict.findings(facts, host, request, HttpOptions(**opts))


def only(found: list[Finding]) -> Finding:
    assert len(found) == 1, [(f.code, f.title) for f in found]
    return found[0]


def test_refused_names_the_port_and_the_listener_check() -> None:
    facts, found = recorded("test-closed-port-is-refused")
    f = only(found)
    port = facts["port"]
    assert (f.code, f.severity) == ("tcp.refused", "critical")
    assert f.title == f"connection to 127.0.0.1:{port} refused"
    assert f"`ss -lntp 'sport = :{port}'`" in f.suggestion


def test_black_hole_is_a_connect_timeout_with_route_and_nc() -> None:
    _, found = recorded("test-connect-into-a-black-hole-is-a-tcp-timeout")
    f = only(found)
    assert (f.code, f.severity) == ("tcp.timeout", "critical")
    assert f.title == "TCP connect to 198.18.1.2:8081 got no answer"
    assert "`ip route get 198.18.1.2`" in f.suggestion
    assert "`nc -vz -w 5 198.18.1.2 8081`" in f.suggestion


LOCAL = r"127\.0\.0\.1:\d+"
FAULTS = {
    "hangs-u": ("http.connection_closed", "critical",
                LOCAL + " closed the connection without a response"),
    "never-a": ("http.timeout", "critical", f"connected to {LOCAL}, but no response in time"),
    "redirec": ("http.too_many_redirects", "warning",
                f"http://{LOCAL}/loop redirects more than 5 times"),
    "404": ("http.4xx", "warning", f"HTTP 404 from http://{LOCAL}/404: no such path on .*"),
    "502": ("http.5xx", "critical", "HTTP 502 from .*: the proxy or load balancer in front .*"),
    "slow-fi": ("http.slow", "warning", r".*/slow took \d+ ms \(threshold 250 ms\); "
                "slowest phase: waiting for the first byte .*"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FAULTS))
def test_server_faults_get_their_row(case: str) -> None:
    code, severity, title = FAULTS[case]
    _, found = recorded(f"test-server-faults-classified-the-same-by-both-views-{case}")
    f = only(found)
    assert (f.code, f.severity) == (code, severity)
    assert re.fullmatch(title, f.title), f.title
    assert f.suggestion and f.host == "local"


def test_an_answer_names_the_layer_that_answered() -> None:
    _, found = recorded("test-server-faults-classified-the-same-by-both-views-502")
    assert "(server test-proxy, via 1.1 test-lb, x-cache MISS)" in only(found).suggestion


def test_expired_certificate_says_expired_and_how_to_check_dates() -> None:
    _, found = recorded("test-tls-failures-say-which-expired")
    f = only(found)
    assert (f.code, f.severity) == ("tls.error", "critical")
    assert re.fullmatch(r"TLS failure with test\.example \(127\.0\.0\.1:\d+\): expired", f.title)
    assert (
        "openssl x509 -noout -dates" in f.suggestion and "-servername test.example" in f.suggestion
    )


def test_a_name_that_does_not_resolve_points_at_dig_and_a_pin() -> None:
    _, found = recorded("test-verdicts-nxdomain")
    f = only(found)
    assert (f.code, f.severity) == ("dns.nxdomain", "critical")
    assert f.title == "example.com does not resolve: cannot resolve"
    assert "--resolve example.com:443:IP" in f.suggestion


def test_healthy_answers_give_nothing() -> None:
    for case in (
        "test-head-method",
        "test-healthy-url-has-no-findings-and-shows-phases-and-layer",
        "test-name-is-resolved-timed-and-pinnable",
        "test-redirect-chain-is-shown-hop-by-hop",
    ):
        assert recorded(case)[1] == [], case


def test_every_classified_outcome_has_a_row() -> None:
    # What curl's exit statuses map to (28 is refined into these three), and fetch's failures.
    from_curl = set(curl.EXIT_CODES.values()) - {"timeout"} | {"dns.timeout", "http.timeout"}
    web = ROOT / "commands" / "web"
    source = (web / "fetch.py").read_text() + (web / "failures.py").read_text()
    from_fetch = set(re.findall(r'"((?:tcp|http|tls|dns)\.[a-z_]+)"', source))
    missing = (from_curl | from_fetch) - BROKEN - set(verdict.OUTCOMES)
    assert missing == set(), missing
    assert verdict.OUTCOMES["dns.no_answer"].severity == "warning"
