"""A hop that cannot be followed is a result in both views, not a crash of the check.

Real loopback server (tests/http_fixtures.py), curl as a local subprocess for host "box".
"""

from __future__ import annotations

from commands.http import HttpOptions, parse, run
from ssh_probes.executor import LocalExecutor
from ssh_probes.model import HostTarget
from tests.http_fixtures import Server

OPTS = HttpOptions(connect_timeout_s=1.0, read_timeout_s=1.0, total_timeout_s=4.0)
BOX = HostTarget(name="box")


async def test_redirect_to_an_impossible_port_is_a_failed_curl_view(http_server: Server) -> None:
    request = parse([http_server.url("/to/127.0.0.1:99999/x"), "--from", BOX.name])
    report = await run(request, OPTS, from_host=BOX, from_executor=LocalExecutor(BOX.name))
    curl = next(r for r in report.results if r.probe == "curl")
    assert not curl.ok and "Port out of range" in curl.error
    # The bot's own view: the redirect is answered, the impossible hop is a check error.
    local = next(r for r in report.results if r.probe == "http")
    assert local.facts["outcome"] == "http.error" and "port out of range" in local.error
    assert report.status == "failed"
