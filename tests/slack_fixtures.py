"""A fake Slack Web API over real HTTP, and the bot served over real HTTP, both on port 0.

FakeSlack records every request (method, parsed body, the status it answered) and can be
told to answer the next calls of a method with 429 + Retry-After, 500, or an error payload.
It also serves upload URLs (files_upload_v2), response_url posts and a Socket Mode websocket.
Requests to the bot are signed with slack_sdk's SignatureVerifier scheme.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.ops.serve import web_app
from bot.service import Who, record, triage_options
from bot.settings import Settings
from bot.slack.app import Bot
from bot.slack.posting import make_client
from bot.store.db import Store
from commands import triage
from commands.report import Report

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
# Commands open to everyone (writes to admins): Slack modes are closed without a policy file.
OPEN_POLICY = Path(__file__).parent / "fixtures" / "policies" / "open.yml"
BOT_TOKEN = "xoxb-1-fake-bot-token"


@dataclass
class Call:
    """One request the fake received."""

    method: str
    body: dict[str, Any]
    status: int
    answer: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)  # when it arrived (for the benches)


@dataclass
class Scripted:
    """How to answer the next call of one method instead of succeeding."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    replies_only: bool = False  # spent only on a thread reply (a call with thread_ts)


@dataclass
class FakeSlack:
    """State and script of the fake Web API."""

    url: str = ""  # the Web API base URL (…/api/)
    base: str = ""  # the server root
    calls: list[Call] = field(default_factory=list)
    script: dict[str, list[Scripted]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    delay_s: float = 0.0  # how long every Web API answer takes (a slow Slack)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def answer(self, method: str, *scripted: Scripted) -> None:
        """Answer the next calls of `method` as scripted (then succeed again)."""
        self.script.setdefault(method, []).extend(scripted)

    def ok(self, method: str) -> list[dict[str, Any]]:
        """Bodies of the calls of `method` that succeeded."""
        return [c.body for c in self.calls if c.method == method and c.status == 200]

    def summaries(self) -> list[tuple[str, dict[str, Any]]]:
        """(ts, body) of each message posted to a channel rather than into a thread."""
        return [
            (str(c.answer["ts"]), c.body)
            for c in self.calls
            if c.method == "chat.postMessage" and c.status == 200 and "thread_ts" not in c.body
        ]

    def all(self, method: str) -> list[Call]:
        """Every call of `method`, whatever it was answered."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until `method` succeeded `count` times (a bounded wait, not a timing test)."""
        deadline = time.monotonic() + timeout
        while len(self.ok(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{method}: {len(self.ok(method))} of {count} calls")
            await asyncio.sleep(0.02)

    def next_ts(self) -> str:
        """A fresh message ts."""
        return f"1700000000.{next(self._ts):06d}"

    def reply(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """The success payload of each method the bot uses."""
        if method == "auth.test":
            return {"user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "triagebot"}
        if method == "chat.postMessage":
            ts = self.next_ts()
            return {"channel": body.get("channel"), "ts": ts, "message": {"ts": ts}}
        if method == "chat.update":
            return {"channel": body.get("channel"), "ts": body.get("ts")}
        if method == "chat.postEphemeral":
            return {"message_ts": self.next_ts()}
        if method == "usergroups.users.list":
            return {"users": self.usergroups.get(str(body.get("usergroup")), [])}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts)}"
            return {"upload_url": f"{self.base}upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = body.get("files")
            parsed = json.loads(files) if isinstance(files, str) else files or []
            return {"files": [{"id": f.get("id"), "title": f.get("title")} for f in parsed]}
        if method == "conversations.open":  # a DM with the user(s) named
            return {"channel": {"id": "D" + str(body.get("users", "")).split(",")[0]}}
        if method == "apps.connections.open":
            return {"url": self.base.replace("http://", "ws://") + "ws"}
        return {}


async def _body(request: web.Request) -> dict[str, Any]:
    data: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        data.update(await request.json())
    elif request.can_read_body:
        form = await request.post()
        data.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in ("blocks", "attachments"):
        if isinstance(data.get(key), str):
            data[key] = json.loads(data[key])
    return data


def fake_app(fake: FakeSlack) -> web.Application:
    """The aiohttp application behind FakeSlack."""

    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await _body(request)
        if fake.delay_s:
            await asyncio.sleep(fake.delay_s)
        queue = fake.script.get(method) or []
        at = next(
            (i for i, q in enumerate(queue) if not q.replies_only or "thread_ts" in body), None
        )
        if at is not None:
            s = queue.pop(at)
            fake.calls.append(Call(method, body, s.status))
            headers = {"Retry-After": str(s.retry_after)} if s.retry_after is not None else {}
            payload = {
                "ok": False,
                "error": s.error or ("ratelimited" if s.status == 429 else "fatal_error"),
            }
            return web.json_response(payload, status=s.status, headers=headers)
        answer = {"ok": True, **fake.reply(method, body)}
        fake.calls.append(Call(method, body, 200, answer))
        return web.json_response(answer)

    async def upload(request: web.Request) -> web.Response:
        fake.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK")

    async def respond(request: web.Request) -> web.Response:
        fake.responses.append(await request.json())
        return web.Response(text="ok")

    async def ws(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        await sock.send_json({"type": "hello", "num_connections": 1})
        fake.sockets.append(sock)
        async for msg in sock:
            if msg.type == aiohttp.WSMsgType.TEXT:
                fake.socket_acks.append(json.loads(msg.data))
        return sock

    app = web.Application()
    app.router.add_route("*", "/api/{method}", api)
    app.router.add_post("/upload/{file_id}", upload)
    app.router.add_post("/respond/{hook}", respond)
    app.router.add_get("/ws", ws)
    return app


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve `app` on 127.0.0.1, port 0; returns the runner and the base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/"


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A running fake Slack Web API."""
    fake = FakeSlack()
    runner, base = await serve(fake_app(fake))
    fake.base, fake.url = base, base + "api/"
    try:
        yield fake
    finally:
        for sock in fake.sockets:
            await sock.close()
        await runner.cleanup()


def signed_headers(
    body: str, *, secret: str = SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """The X-Slack-Signature headers Slack would send for `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


_trigger = itertools.count(1)


def command_body(
    text: str,
    *,
    command: str = "/triage",
    user: str = "U1",
    channel: str = "C1",
    response_url: str = "",
) -> str:
    """A slash-command form body, with a fresh trigger_id."""
    return urllib.parse.urlencode(
        {
            "token": "legacy", "team_id": "T1", "channel_id": channel, "user_id": user,
            "command": command, "text": text, "response_url": response_url,
            "trigger_id": f"trigger-{next(_trigger)}-{time.monotonic_ns()}",
        }
    )  # fmt: skip


def action_body(
    action_id: str, value: str, *, message_ts: str, user: str = "U1", channel: str = "C1"
) -> str:
    """A block_actions payload for a button on the message `message_ts`."""
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": user},
        "channel": {"id": channel},
        "trigger_id": f"trigger-{next(_trigger)}-{time.monotonic_ns()}",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "message": {"ts": message_ts, "type": "message"},
        "actions": [{"action_id": action_id, "block_id": "report_actions", "type": "button",
                     "value": value, "action_ts": f"{time.time():.6f}"}],
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


@dataclass
class SlackApp:
    """The bot served over HTTP, with a signed-request helper."""

    bot: Bot
    url: str
    session: aiohttp.ClientSession
    fake: FakeSlack
    app: web.Application | None = None  # the served aiohttp app (its keys: the alert desk)

    async def send(self, body: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        """POST a body to /slack/events, signed unless headers are given."""
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers if headers is not None else signed_headers(body))
        async with self.session.post(self.url + "slack/events", data=body, headers=h) as resp:
            return resp.status, await resp.text()


def fast_triage(probes: tuple[str, ...] = ("load", "disk")) -> Callable[..., Awaitable[Report]]:
    """The real triage runner limited to a few probes, for speed."""

    async def run(store: Store, settings: Settings, words: Any, who: Who) -> Report:
        from bot.store.hosts import HostRepo

        request = triage.parse(words)
        spec = await HostRepo(store).get(request.host)
        opts = triage_options(settings)
        opts = triage.TriageOptions(opts.ssh, opts.thresholds, probes, opts.probe_config)
        report = await triage.run(spec.target(), opts, port=request.port)
        return await record(store, report, settings, who)

    return run


def test_settings(fake: FakeSlack, db: str, **overrides: Any) -> Settings:
    """Settings pointing at the fake, fast retries, no pacing, short probe windows."""
    values: dict[str, Any] = {
        "database_url": db,
        "slack_api_url": fake.url,
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SECRET,
        "slack_channel_interval_s": 0,
        "slack_retry_backoff_s": 0.01,
        "slack_progress_after_s": 600,
        "sample_window_s": 0.1,
        "policy_file": OPEN_POLICY,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def make_slack_app(
    fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[SlackApp]]]:
    """Build and serve the bot: `await make_slack_app(store=None, **settings_overrides)`.

    `real_commands=True` serves the command registry's own runners instead of the fast
    two-probe triage.
    """
    runners: list[web.AppRunner] = []
    stores: list[Store] = []
    session = aiohttp.ClientSession()

    async def build(
        store: Store | None = None,
        commands: dict[str, Any] | None = None,
        real_commands: bool = False,
        **overrides: Any,
    ) -> SlackApp:
        if store is None:
            store = Store(f"sqlite+aiosqlite:///{tmp_path}/slack-{len(stores)}.db")
            await store.upgrade()
            stores.append(store)
        settings = test_settings(fake_slack, store.url, **overrides)
        chosen = None if real_commands else commands or {"triage": fast_triage()}
        bot = Bot(settings, store, make_client(settings), commands=chosen)
        app = web_app(bot)
        runner, base = await serve(app)
        runners.append(runner)
        return SlackApp(bot, base, session, fake_slack, app)

    try:
        yield build
    finally:
        await session.close()
        for runner in runners:
            await runner.cleanup()
        for store in stores:
            await store.close()


@pytest.fixture
async def slack_app(make_slack_app: Callable[..., Awaitable[SlackApp]]) -> SlackApp:
    """The bot on a temporary SQLite database, talking to the fake."""
    return await make_slack_app()
