"""Target rules end to end: the served Slack bot (real signing, fake Web API), the CLI's runner
and real loopback servers (HTTP, a UDP socket standing in for a resolver).

Every refused case asserts that the server saw nothing (or only the hops before the refused
one), that no run was stored and that the audit row says `refused` with the rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.commands import runners
from bot.service import Who, dig_name, http_check
from bot.settings import Settings
from bot.store.db import Store
from bot.store.runs import RunRepo
from bot.store.slack import SlackRepo
from commands.http import HttpOptions, parse, run
from commands.target_guard import Guard, TargetRefused
from commands.targets import parse_targets
from ssh_probes.executor import LocalExecutor
from ssh_probes.model import HostTarget
from tests.http_fixtures import Server
from tests.slack_fixtures import SlackApp, command_body

MakeApp = Callable[..., Awaitable[SlackApp]]


def use(app: SlackApp, name: str) -> None:
    """Serve the real runner of `name` (the fixture app serves a fast triage only)."""
    if name not in app.bot.commands:
        app.bot.app.command(f"/{name}")(app.bot.on_command)
    app.bot.commands[name] = runners()[name]


async def refused_in_slack(app: SlackApp, command: str, text: str) -> str:
    """Send a signed slash command; return the ephemeral refusal after checking the audit."""
    use(app, command.lstrip("/"))
    status, _ = await app.send(command_body(text, command=command))
    assert status == 200
    await app.bot.drain()
    [ephemeral] = app.fake.ok("chat.postEphemeral")
    assert ephemeral["text"].startswith(":warning: refused: "), ephemeral["text"]
    [event] = await SlackRepo(app.bot.store).audit_events()
    assert event.outcome == "refused" and event.reason == ephemeral["text"].removeprefix(
        ":warning: "
    )
    assert await RunRepo(app.bot.store).count() == 0
    assert app.fake.ok("chat.postMessage") == []
    return str(ephemeral["text"])


LOOPBACK = ["127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1",
            "127.0.0.1.", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "localhost",
            "LOCALHOST."]  # fmt: skip


@pytest.mark.parametrize("host", LOOPBACK)
async def test_http_from_slack_refuses_the_bots_loopback_in_every_spelling(
    slack_app: SlackApp, http_server: Server, host: str
) -> None:
    url = f"http://{host}:{http_server.port}/ok"
    text = await refused_in_slack(slack_app, "/http", url)
    assert "is the bot's own loopback (from Slack deny; allow it under targets:" in text
    assert http_server.requests == []


METADATA = ["169.254.169.254", "2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518",
            "[::ffff:a9fe:a9fe]", "[::ffff:169.254.169.254]", "[fd00:ec2::254]",
            "100.100.100.200", "metadata.google.internal"]  # fmt: skip


@pytest.mark.parametrize("host", METADATA[:-1])
async def test_http_from_slack_refuses_cloud_metadata_in_every_spelling(
    slack_app: SlackApp, host: str
) -> None:
    # Refused before any packet: the check runs on the address, before the connection.
    text = await refused_in_slack(slack_app, "/http", f"http://{host}/latest/meta-data/")
    assert "is cloud metadata (default deny; allow it under targets: in the policy)" in text


async def test_a_redirect_to_a_refused_address_is_refused_at_that_hop(
    make_slack_app: MakeApp, tmp_path: Path, http_server: Server
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text('commands: {"*": {}}\ntargets: {commands: {http: {allow: [127.0.0.1/32]}}}\n')
    app = await make_slack_app(policy_file=policy)
    url = http_server.url(f"/to/127.0.0.2:{http_server.port}/ok")
    text = await refused_in_slack(app, "/http", url)
    assert f"refused: redirect hop 2 to http://127.0.0.2:{http_server.port}/ok: " in text
    assert "127.0.0.2 is the bot's own loopback" in text
    assert [r["path"] for r in http_server.requests] == [f"/to/127.0.0.2:{http_server.port}/ok"]


async def test_an_explicit_allow_lets_slack_reach_loopback(
    make_slack_app: MakeApp, tmp_path: Path, http_server: Server
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text('commands: {"*": {}}\ntargets: {commands: {http: {allow: [127.0.0.0/8]}}}\n')
    app = await make_slack_app(policy_file=policy)
    use(app, "http")
    await app.send(command_body(http_server.url("/ok"), command="/http"))
    await app.bot.drain()
    assert [r["path"] for r in http_server.requests] == ["/ok"]
    assert await RunRepo(app.bot.store).count() == 1


async def test_resolve_pin_to_loopback_is_refused_from_slack(
    slack_app: SlackApp, http_server: Server
) -> None:
    port = http_server.port
    text = f"http://pinned.example:{port}/ok --resolve pinned.example:{port}:127.0.0.1"
    said = await refused_in_slack(slack_app, "/http", text)
    assert "refused: --resolve pin: pinned.example (127.0.0.1) is the bot's own loopback" in said
    assert http_server.requests == []


async def test_triage_port_check_of_the_bots_loopback_is_refused_from_slack(
    slack_app: SlackApp,
) -> None:
    said = await refused_in_slack(slack_app, "/triage", "local port 5432")
    assert "refused: port check of local: localhost (127.0.0.1) is the bot's own loopback" in said


async def test_triage_url_to_the_bots_loopback_is_refused_from_slack(
    slack_app: SlackApp, http_server: Server
) -> None:
    said = await refused_in_slack(slack_app, "/triage", f"local url {http_server.url('/ok')}")
    assert said == (
        ":warning: refused: 127.0.0.1 is the bot's own loopback "
        "(from Slack deny; allow it under targets: in the policy)"
    )
    assert http_server.requests == []


class Resolver(asyncio.DatagramProtocol):
    """A UDP socket on loopback that records the DNS queries it gets (and never answers)."""

    def __init__(self) -> None:
        self.queries: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queries.append(data)


@pytest.fixture
async def resolver() -> AsyncIterator[tuple[Resolver, int]]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(Resolver, local_addr=("127.0.0.1", 0))
    try:
        yield proto, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


async def test_loopback_resolver_refused_from_slack_but_allowed_from_the_cli(
    slack_app: SlackApp, resolver: tuple[Resolver, int], store: Store
) -> None:
    proto, port = resolver
    said = await refused_in_slack(slack_app, "/dig", f"example.test A @127.0.0.1:{port}")
    assert f"refused: resolver @127.0.0.1:{port}: 127.0.0.1 is the bot's own loopback" in said
    assert proto.queries == []
    settings = Settings(database_url=store.url, dns_timeout_s=0.2)
    report = await dig_name(store, settings, ["example.test", "A", f"@127.0.0.1:{port}"], Who())
    assert proto.queries and report.run_id is not None


async def test_policy_deny_of_a_private_cidr_refuses_at_the_cli(
    tmp_path: Path, store: Store, http_server: Server
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("targets:\n  deny: [10.0.0.0/8, 127.0.0.0/8]\n")
    settings = Settings(database_url=store.url, policy_file=policy)
    with pytest.raises(TargetRefused, match=r"^refused: 10\.1\.2\.3 is denied by targets\.deny"):
        await http_check(store, settings, ["http://10.1.2.3/"], Who())
    with pytest.raises(TargetRefused, match=r"denied by targets\.deny 127\.0\.0\.0/8"):
        await http_check(store, settings, [http_server.url("/ok")], Who())
    assert http_server.requests == [] and await RunRepo(store).count() == 0


async def test_cli_refuses_a_redirect_to_metadata_but_reaches_loopback(
    store: Store, http_server: Server
) -> None:
    settings = Settings(database_url=store.url)
    url = http_server.url("/to/169.254.169.254/latest/meta-data/")
    with pytest.raises(TargetRefused, match=r"redirect hop 2 to http://169\.254\.169\.254/latest"):
        await http_check(store, settings, [url], Who())
    report = await http_check(store, settings, [http_server.url("/redirect/1")], Who())
    assert report.status == "ok" and len(http_server.requests) == 3


async def test_from_host_curl_is_checked_hop_by_hop(http_server: Server) -> None:
    # The bot's own view may reach all of 127/8; curl on the host only 127.0.0.1.
    targets = parse_targets(
        {"commands": {"http": {"allow": ["127.0.0.0/8"]}, "from": {"allow": ["127.0.0.1/32"]}}}
    )
    guard = Guard(targets, remote=True)
    box = HostTarget(name="box")
    opts = HttpOptions(connect_timeout_s=1.0, read_timeout_s=1.0, total_timeout_s=4.0)
    ok = parse([http_server.url("/redirect/1"), "--from", "box"])
    report = await run(ok, opts, from_host=box, from_executor=LocalExecutor("box"), guard=guard)
    curl = next(r.facts for r in report.results if r.probe == "curl")
    assert curl["status"] == 200 and curl["redirects"] == 1
    away = parse([http_server.url(f"/to/127.0.0.2:{http_server.port}/ok"), "--from", "box"])
    with pytest.raises(TargetRefused, match=r"redirect hop 2 to http://127\.0\.0\.2:\d+/ok on box"):
        await run(away, opts, from_host=box, from_executor=LocalExecutor("box"), guard=guard)
