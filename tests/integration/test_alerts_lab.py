"""Alerts in, triage out: the served bot over HTTP, the fake Slack, real SSH to lab hosts.

Payloads are the documented Alertmanager and Grafana shapes (tests/fixtures/alerts); the
routine is the real triage over real SSH. Every wait is bounded; nothing asserts a timing.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.alerts.routing import Route
from bot.alerts.worker import AlertDesk
from bot.ops.serve import ALERT_DESK
from bot.store.alerts import AlertInboxRow, AlertRepo
from bot.store.db import Store
from bot.store.hosts import HostRepo
from bot.store.models import RunRow
from bot.store.slack import SlackRepo
from commands.hosts import HostSpec
from tests.lab.netns import LabHost
from tests.slack_fixtures import FakeSlack, SlackApp

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alerts"
TOKEN = "alert-token-0123456789"
CHANNEL = "C0ALERTS"


def payload(name: str, **subst: str) -> bytes:
    text = (FIXTURES / name).read_text()
    for key, value in subst.items():
        text = text.replace(key, value)
    return text.encode()


@dataclass
class AlertBot:
    """The served bot with alert receivers on, and what the tests look at."""

    store: Store
    desk: AlertDesk
    url: str
    session: aiohttp.ClientSession
    fake: FakeSlack

    async def send(
        self, source: str, body: bytes, auth: str = f"Bearer {TOKEN}"
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json", "Authorization": auth}
        async with self.session.post(f"{self.url}alerts/{source}", data=body, headers=headers) as r:
            return r.status, await r.json()

    async def settled(self, timeout: float = 60.0) -> None:
        """Wait until every kept notification is handled and its routines posted."""
        deadline = time.monotonic() + timeout
        while await AlertRepo(self.store).pending():
            assert time.monotonic() < deadline, "alert inbox not drained"
            await asyncio.sleep(0.05)
        await asyncio.wait_for(self.desk.settle(), timeout)

    async def alert_runs(self) -> int:
        async with self.store.session() as s:
            return int(await s.scalar(select(func.count()).where(RunRow.source == "alert")) or 0)

    def thread(self, ts: str) -> list[dict[str, Any]]:
        return [b for b in self.fake.ok("chat.postMessage") if b.get("thread_ts") == ts]


async def register(store: Store, host: LabHost) -> None:
    await HostRepo(store).add(
        HostSpec(
            name=host.name,
            address=host.address,
            port=host.port,
            user=host.user,
            key_path=host.key_path,
            host_keys=(host.host_key_line,),
        )
    )


MakeBot = Callable[..., Awaitable[AlertBot]]


@pytest.fixture
def make_alert_bot(make_slack_app: Callable[..., Awaitable[SlackApp]]) -> MakeBot:
    """The served bot of tests/slack_fixtures.py, with the alert receivers on."""

    async def build(**overrides: Any) -> AlertBot:
        values = {"alerts_token": TOKEN, "alerts_channel": CHANNEL, **overrides}
        served = await make_slack_app(real_commands=True, **values)
        assert served.app is not None
        desk = served.app.get(ALERT_DESK)
        assert isinstance(desk, AlertDesk) or not served.bot.settings.alerts_enabled()
        store = served.bot.store
        return AlertBot(store, desk, served.url, served.session, served.fake)  # type: ignore[arg-type]

    return build


async def test_firing_repeat_resolved_in_one_thread(
    make_alert_bot: MakeBot, lab_host: LabHost
) -> None:
    bot = await make_alert_bot()
    await register(bot.store, lab_host)
    status, answer = await bot.send(
        "alertmanager", payload("alertmanager-firing.json", HOST=lab_host.name)
    )
    assert (status, answer) == (200, {"ok": True, "alerts": 1})
    await bot.settled()
    [(ts, summary)] = bot.fake.summaries()
    assert summary["channel"] == CHANNEL and "1 firing: HostHighLoad" in summary["text"]
    text = json.dumps(summary["blocks"])
    assert "Load is high on" in text and "http://prometheus.example.test:9090/graph" in text
    replies = bot.thread(ts)
    assert replies[0]["text"].startswith(f"HostHighLoad: the routine on {lab_host.name}")
    assert "first run" in replies[0]["text"]
    assert any(f"triage {lab_host.name}" in r["text"] for r in replies), replies
    assert len(replies) <= 3  # the lead opens the report's summary: no extra reply
    assert await bot.alert_runs() == 1

    # The same alert again within the interval: one line in the thread, no second triage.
    before = len(bot.thread(ts))
    await bot.send("alertmanager", payload("alertmanager-firing.json", HOST=lab_host.name))
    await bot.settled()
    new = bot.thread(ts)[before:]
    assert len(new) == 1 and "still firing (notification 2)" in new[0]["text"]
    assert await bot.alert_runs() == 1 and len(bot.fake.summaries()) == 1

    # Resolved: the summary says so, and the routine runs once more in the thread.
    before = len(bot.thread(ts))
    await bot.send("alertmanager", payload("alertmanager-resolved.json", HOST=lab_host.name))
    await bot.settled()
    [update] = bot.fake.ok("chat.update")
    assert update["ts"] == ts and "resolved: HostHighLoad" in update["text"]
    assert "lasted" in json.dumps(update["blocks"])
    new = bot.thread(ts)[before:]
    assert new[0]["text"].startswith("HostHighLoad resolved: the routine once more")
    assert "What changed since run" in new[0]["text"]
    assert await bot.alert_runs() == 2
    # A repeated `resolved` changes nothing.
    calls = len(bot.fake.calls)
    await bot.send("alertmanager", payload("alertmanager-resolved.json", HOST=lab_host.name))
    await bot.settled()
    assert len(bot.fake.calls) == calls and await bot.alert_runs() == 2
    events = [e for e in await SlackRepo(bot.store).audit_events() if e.action.startswith("alert")]
    assert [e.action for e in events] == ["alert:triage", "alert:triage"]
    assert {e.user_id for e in events} == {"triagebot"} and {e.outcome for e in events} == {
        "posted"
    }


async def test_grafana_basic_auth_and_refusals(make_alert_bot: MakeBot, lab_host: LabHost) -> None:
    bot = await make_alert_bot(alerts_token=None, alerts_user="grafana", alerts_password="pw")
    await register(bot.store, lab_host)
    good = "Basic " + base64.b64encode(b"grafana:pw").decode()
    bad = "Basic " + base64.b64encode(b"grafana:nope").decode()
    body = payload("grafana-firing.json", ADDR=lab_host.address)
    for auth in (bad, f"Bearer {TOKEN}", ""):
        status, answer = await bot.send("grafana", body, auth=auth)
        assert (status, answer["error"]) == (401, "unauthorized")
    status, answer = await bot.send("grafana", b'{"alerts": "no"}', auth=good)
    assert status == 400 and answer["error"] == "alerts must be a non-empty list"
    big = io.BytesIO(b"x" * 2_000_000)
    async with bot.session.post(
        f"{bot.url}alerts/grafana", data=big, headers={"Authorization": good}
    ) as resp:
        assert resp.status == 413
    assert bot.fake.summaries() == [] and await AlertRepo(bot.store).pending() == []
    status, _ = await bot.send("grafana", body, auth=good)
    assert status == 200
    await bot.settled()
    [(ts, summary)] = bot.fake.summaries()
    assert "High memory usage" in summary["text"]
    assert any(f"triage {lab_host.name}" in r["text"] for r in bot.thread(ts))


async def test_unknown_host_gets_one_mapping_hint(make_alert_bot: MakeBot) -> None:
    bot = await make_alert_bot()
    for _ in range(3):
        status, _ = await bot.send(
            "alertmanager", payload("alertmanager-firing.json", HOST="ghost")
        )
        assert status == 200
    await bot.settled()
    [(ts, _)] = bot.fake.summaries()
    hints = [r for r in bot.thread(ts) if "no registered host matches" in r["text"]]
    assert len(hints) == 1 and "instance=ghost:9100" in hints[0]["text"]
    assert await bot.alert_runs() == 0
    assert await AlertRepo(bot.store).outcomes() == {"unmapped": 1}


async def test_receivers_are_off_without_credentials(make_alert_bot: MakeBot) -> None:
    bot = await make_alert_bot(alerts_token=None)
    async with bot.session.post(f"{bot.url}alerts/alertmanager", data=b"{}") as resp:
        assert resp.status == 404


async def test_kept_notification_survives_a_restart(
    make_alert_bot: MakeBot, lab_host: LabHost
) -> None:
    bot = await make_alert_bot()
    await register(bot.store, lab_host)
    # Kept by one desk that stops before handling it (its loop never ran)...
    gone = AlertDesk(bot.store, bot.desk.settings, bot.desk.post, Route(default=CHANNEL))
    await gone.repo.receive(
        "alertmanager", json.loads(payload("alertmanager-firing.json", HOST=lab_host.name))
    )
    # ...is handled by the next one on the same database.
    await bot.settled()
    [(ts, _)] = bot.fake.summaries()
    assert any(f"triage {lab_host.name}" in r["text"] for r in bot.thread(ts))
    async with bot.store.session() as s:
        assert await s.scalar(select(func.count()).where(AlertInboxRow.done.is_(False))) == 0


async def test_storm_is_bounded_and_every_alert_accounted_for(
    make_alert_bot: MakeBot, lab: Any
) -> None:
    hosts = [lab.add_host() for _ in range(3)]
    try:
        bot = await make_alert_bot(alerts_max_parallel=2)
        for host in hosts:
            await register(bot.store, host)
        sent = 0
        bodies = []
        for group in range(10):  # 10 alert groups of 12 alerts each, 4 per host
            alerts = []
            for i in range(12):
                host = hosts[i % 3]
                alerts.append({
                    "status": "firing", "fingerprint": f"g{group}a{i}",
                    "labels": {"alertname": f"Storm{group}", "instance": f"{host.name}:9100",
                               "disk": f"sd{i}"},
                    "annotations": {"summary": f"storm {group}/{i}"},
                })  # fmt: skip
                sent += 1
            bodies.append(json.dumps({"version": "4", "groupKey": f"storm-{group}",
                                      "receiver": "triagebot", "status": "firing",
                                      "alerts": alerts}).encode())  # fmt: skip
        results = await asyncio.gather(*(bot.send("alertmanager", b) for b in bodies))
        assert all(status == 200 for status, _ in results)
        await bot.settled(timeout=120)
        assert await bot.alert_runs() <= len(hosts)  # one routine per host per interval
        outcomes = await AlertRepo(bot.store).outcomes()
        assert sum(outcomes.values()) == sent and set(outcomes) <= {"triaged", "linked", "repeat"}
        assert outcomes["triaged"] == await bot.alert_runs()
        assert len(bot.fake.summaries()) == 10  # one thread per alert group
    finally:
        for host in hosts:
            host.destroy()


async def test_blackbox_url_to_the_bots_loopback_is_refused_and_audited(
    make_alert_bot: MakeBot, http_server: Any
) -> None:
    # An alert's labels come from outside: the target rules apply as for Slack (issue 13.4).
    bot = await make_alert_bot()
    url = http_server.url("/ok")
    status, _ = await bot.send("alertmanager", payload("alertmanager-blackbox.json", URL=url))
    assert status == 200
    await bot.settled()
    assert http_server.requests == [] and await bot.alert_runs() == 0
    [event] = [e for e in await SlackRepo(bot.store).audit_events() if e.action == "alert:http"]
    assert event.outcome == "refused"
    assert event.reason.startswith("refused: 127.0.0.1 is the bot's own loopback")
