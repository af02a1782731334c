"""`http` against real servers on loopback: the bot's view (httpx) and curl's (LocalExecutor).

Each case runs both views and asserts the classification, never timings.
"""

from __future__ import annotations

import json
import ssl

import pytest

from commands.http import HttpOptions, parse, run
from commands.report import Report
from ssh_probes.executor import LocalExecutor
from ssh_probes.model import HostTarget
from tests.http_fixtures import TLS_NAME, Serve, Server

OPTS = HttpOptions(
    connect_timeout_s=1.0, read_timeout_s=1.0, total_timeout_s=4.0, slow_threshold_s=0.25
)
BOX = HostTarget(name="box")  # curl runs as a local subprocess, reported as host "box"


async def check(words: list[str], opts: HttpOptions = OPTS, *, curl: bool = True) -> Report:
    """Run `http WORDS` from here and, with curl, from BOX."""
    req = parse([*words, "--from", BOX.name] if curl else words)
    if not curl:
        return await run(req, opts)
    return await run(req, opts, from_host=BOX, from_executor=LocalExecutor(BOX.name))


def codes(
    report: Report, host: str, severities: tuple[str, ...] = ("warning", "critical")
) -> set[str]:
    """Finding codes seen from `host` ('local' is the bot)."""
    return {f.code for f in report.findings if f.host == host and f.severity in severities}


def view(report: Report, probe: str) -> dict[str, object]:
    """The facts of one view: 'http' (the bot) or 'curl'."""
    return next(r.facts for r in report.results if r.probe == probe)


async def test_healthy_url_has_no_findings_and_shows_phases_and_layer(http_server: Server) -> None:
    report = await check([http_server.url("/ok")])
    assert report.status == "ok" and report.command == "http"
    assert [f for f in report.findings if f.severity != "info"] == []
    hop = view(report, "http")["hops"][0]  # type: ignore[index]
    assert hop["status"] == 200
    assert hop["headers"] == {"server": "test-origin", "via": "1.1 test-lb", "x-cache": "MISS"}
    assert hop["timings"]["connect_ms"] is not None and hop["timings"]["ttfb_ms"] is not None
    assert hop["timings"]["dns_ms"] is None  # an IP literal needs no lookup
    assert view(report, "curl")["status"] == 200


@pytest.mark.parametrize(
    ("path", "code", "says"),
    [
        ("/502", "http.5xx", "upstream"),
        ("/504", "http.5xx", "gave up waiting"),
        ("/404", "http.4xx", "no such path"),
        ("/slow", "http.slow", "first byte"),
        ("/hang", "http.timeout", "no response in time"),
        ("/close", "http.connection_closed", "without a response"),
        ("/loop", "http.too_many_redirects", "redirects more than"),
    ],
    ids=["502", "504", "404", "slow-first-byte", "never-answers", "hangs-up", "redirect-loop"],
)
async def test_server_faults_classified_the_same_by_both_views(
    http_server: Server, path: str, code: str, says: str
) -> None:
    report = await check([http_server.url(path)])
    assert codes(report, "local") == {code}
    assert codes(report, "box") == {code}
    found = next(f for f in report.findings if f.host == "local")
    assert says in found.title and found.suggestion
    assert not any(f.code == "http.view_mismatch" for f in report.findings)


async def test_redirect_chain_is_shown_hop_by_hop(http_server: Server) -> None:
    report = await check([http_server.url("/redirect/3")])
    hops = view(report, "http")["hops"]
    assert [h["status"] for h in hops] == [302, 302, 302, 200]  # type: ignore[union-attr]
    locations = [h["location"] for h in hops[:3]]  # type: ignore[index]
    assert [u.split(str(http_server.port), 1)[1] for u in locations] == [
        "/redirect/2", "/redirect/1", "/ok"
    ]  # fmt: skip
    assert view(report, "curl")["redirects"] == 3
    assert codes(report, "local") == set() and codes(report, "box") == set()


async def test_closed_port_is_refused(closed_port: int) -> None:
    report = await check([f"http://127.0.0.1:{closed_port}/"])
    assert codes(report, "local") == {"tcp.refused"}
    assert codes(report, "box") == {"tcp.refused"}
    assert f"sport = :{closed_port}" in report.findings[0].suggestion


async def test_name_is_resolved_timed_and_pinnable(http_server: Server) -> None:
    url = http_server.url("/ok", host="localhost")
    looked_up = view(await check([url], curl=False), "http")
    assert looked_up["addresses"] == ["127.0.0.1"]
    assert looked_up["hops"][0]["timings"]["dns_ms"] is not None  # type: ignore[index]
    pinned = await check([url, "--resolve", f"localhost:{http_server.port}:127.0.0.1"])
    hop = view(pinned, "http")["hops"][0]  # type: ignore[index]
    assert hop["pinned"] is True and hop["timings"]["dns_ms"] is None
    assert http_server.requests[-1]["host"] == f"localhost:{http_server.port}"


async def test_head_method(http_server: Server) -> None:
    report = await check([http_server.url("/ok"), "--method", "HEAD"])
    assert view(report, "http")["hops"][0]["bytes"] == 0  # type: ignore[index]
    assert [r["method"] for r in http_server.requests] == ["HEAD", "HEAD"]


async def test_credentials_are_used_but_never_shown(http_server: Server) -> None:
    url = http_server.url("/auth").replace("://", "://user:secret@")
    report = await check([url])
    assert codes(report, "local") == set() and codes(report, "box") == set()
    assert view(report, "http")["status"] == 200 and view(report, "curl")["status"] == 200
    assert "secret" not in json.dumps(report.as_dict())
    assert "user:[REDACTED]@" in report.target
    denied = await check([http_server.url("/auth")])
    assert codes(denied, "local") == {"http.4xx"} and codes(denied, "box") == {"http.4xx"}


def _tls_opts(ca_file: str) -> HttpOptions:
    return HttpOptions(
        connect_timeout_s=1.0,
        read_timeout_s=1.0,
        total_timeout_s=4.0,
        ca_file=ca_file,
        remote_ca_file=ca_file,
    )


async def test_valid_tls_through_a_pin_keeps_host_and_sni(
    serve: Serve, tls_contexts: dict[str, ssl.SSLContext], ca_file: str
) -> None:
    server = await serve(tls=tls_contexts["valid"])
    pin = f"{TLS_NAME}:{server.port}:127.0.0.1"
    report = await check([server.url("/ok", host=TLS_NAME), "--resolve", pin], _tls_opts(ca_file))
    assert codes(report, "local") == set() and codes(report, "box") == set()
    hop = view(report, "http")["hops"][0]  # type: ignore[index]
    assert hop["status"] == 200 and hop["timings"]["tls_ms"] is not None
    assert view(report, "curl")["timings"]["tls_ms"] is not None  # type: ignore[index]
    assert {r["host"] for r in server.requests} == {f"{TLS_NAME}:{server.port}"}


@pytest.mark.parametrize("case", ["expired", "self-signed", "unknown CA", "name mismatch"])
async def test_tls_failures_say_which(
    serve: Serve, tls_contexts: dict[str, ssl.SSLContext], ca_file: str, case: str
) -> None:
    server = await serve(tls=tls_contexts[case])
    pin = f"{TLS_NAME}:{server.port}:127.0.0.1"
    report = await check([server.url("/ok", host=TLS_NAME), "--resolve", pin], _tls_opts(ca_file))
    assert codes(report, "local") == {"tls.error"} and codes(report, "box") == {"tls.error"}
    assert view(report, "http")["tls_kind"] == case
    assert view(report, "curl")["tls_kind"] == case
    assert case in report.findings[0].title


async def test_tls_to_a_plain_http_port_is_a_protocol_error(http_server: Server) -> None:
    url = http_server.url("/ok").replace("http://", "https://")
    report = await check([url])
    assert codes(report, "local") == {"tls.error"} and codes(report, "box") == {"tls.error"}
    assert view(report, "http")["tls_kind"] == "protocol"
    assert view(report, "curl")["tls_kind"] == "protocol"


async def test_views_that_disagree_are_a_finding(http_server: Server) -> None:
    # The bot gives up before the slow first byte; curl (whole seconds) waits for it.
    impatient = HttpOptions(read_timeout_s=0.2, total_timeout_s=4.0)
    report = await check([http_server.url("/slow")], impatient)
    assert codes(report, "local") == {"http.timeout"}
    assert "http.timeout" not in codes(report, "box")
    mismatch = [f for f in report.findings if f.code == "http.view_mismatch"]
    assert len(mismatch) == 1 and "http.timeout" in mismatch[0].title
