"""The Slack app over real HTTP against a fake Slack Web API (both on 127.0.0.1, port 0)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.render import blocks
from bot.store.db import Store
from bot.store.runs import RunRepo
from bot.store.slack import SlackRepo
from commands.report import Report
from ssh_probes.model import ProbeResult
from tests.slack_fixtures import (
    Scripted,
    SlackApp,
    action_body,
    command_body,
    signed_headers,
)

MakeApp = Callable[..., Awaitable[SlackApp]]


async def runs(app: SlackApp) -> int:
    return await RunRepo(app.bot.store).count()


async def test_triage_acks_then_posts_summary_and_thread_replies(slack_app: SlackApp) -> None:
    status, text = await slack_app.send(command_body("local"))
    assert status == 200
    ack = json.loads(text)
    assert "Working on it" in ack["text"] and "/triage local" in ack["text"]
    await slack_app.bot.drain()
    posts = slack_app.fake.ok("chat.postMessage")
    summary, replies = posts[0], posts[1:]
    assert "thread_ts" not in summary and summary["channel"] == "C1"
    assert summary["text"].startswith("triage local: ")
    assert summary["blocks"][0]["type"] == "header"
    actions = next(b for b in summary["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["rerun", "raw_output"]
    [(summary_ts, _)] = slack_app.fake.summaries()
    assert replies and all(r["thread_ts"] == summary_ts for r in replies)
    # At most three replies: the findings (when any), the facts, what changed (first run: no).
    kinds = [r["text"].split(": ", 1)[1] for r in replies]
    assert kinds in (["facts"], ["findings with evidence and fixes", "facts"])
    facts = json.dumps(replies[-1]["blocks"])
    assert "*CPU, memory and processes*" in facts and "*Disk*" in facts  # load, disk probes
    assert await runs(slack_app) == 1
    events = await SlackRepo(slack_app.bot.store).audit_events()
    assert [(e.action, e.outcome, e.user_id, e.channel_id) for e in events] == [
        ("triage", "posted", "U1", "C1")
    ]
    assert events[0].run_id is not None


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda b: signed_headers(b, secret="not-the-secret"), id="forged"),
        pytest.param(lambda b: signed_headers(b, timestamp=int(time.time()) - 301), id="stale"),
        pytest.param(lambda b: {}, id="unsigned"),
    ],
)
async def test_bad_signature_is_401_and_nothing_runs(
    slack_app: SlackApp, headers: Callable[[str], dict[str, str]]
) -> None:
    body = command_body("local")
    status, _ = await slack_app.send(body, headers=headers(body) or {"X-Slack-Signature": "v0=x"})
    assert status == 401
    await slack_app.bot.drain()
    assert await runs(slack_app) == 0
    assert slack_app.fake.ok("chat.postMessage") == []
    assert await SlackRepo(slack_app.bot.store).audit_events() == []


async def test_unauthorised_user_gets_ephemeral_refusal_and_audit_row(
    make_slack_app: MakeApp, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("commands:\n  triage:\n    users: [U1]\n    usergroups: [S1]\n")
    app = await make_slack_app(policy_file=policy)
    app.fake.usergroups["S1"] = ["U3"]
    status, text = await app.send(command_body("local", user="U2"))
    assert status == 200
    refusal = json.loads(text)
    assert "not allowed to run `/triage`" in refusal["text"]
    assert refusal.get("response_type", "ephemeral") == "ephemeral"
    # U3 gets in through the user group (resolved with usergroups.users.list).
    status, text = await app.send(command_body("local", user="U3"))
    assert "Working on it" in json.loads(text)["text"]
    await app.bot.drain()
    assert await runs(app) == 1
    events = await SlackRepo(app.bot.store).audit_events()
    assert [(e.user_id, e.outcome) for e in events] == [("U2", "refused"), ("U3", "posted")]
    assert "not allowed" in events[0].reason
    # resolved once, then served from the cache
    assert [b["usergroup"] for b in app.fake.ok("usergroups.users.list")] == ["S1"]


async def test_registry_change_needs_an_admin(make_slack_app: MakeApp) -> None:
    app = await make_slack_app(admins="UADMIN")
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    add = f"add web-9 --address 198.18.0.9 --host-key '{key}'"
    _, text = await app.send(command_body(add, command="/hosts", user="U1"))
    assert "Only admins may change the host registry" in json.loads(text)["text"]
    _, text = await app.send(command_body(add, command="/hosts", user="UADMIN"))
    assert "added `web-9`" in json.loads(text)["text"]
    _, text = await app.send(command_body("list", command="/hosts", user="U1"))
    assert "`web-9`" in json.loads(text)["text"]
    # Leaving a host out of digests is a registry change too.
    _, text = await app.send(command_body("unwatch web-9", command="/hosts", user="U1"))
    assert "Only admins may change the host registry" in json.loads(text)["text"]
    _, text = await app.send(command_body("unwatch web-9", command="/hosts", user="UADMIN"))
    assert "left out of digests" in json.loads(text)["text"]
    _, text = await app.send(command_body("show web-9", command="/hosts", user="U1"))
    assert "digests: not watched" in json.loads(text)["text"]
    await app.bot.drain()
    events = await SlackRepo(app.bot.store).audit_events()
    # Audits are written after each ack, in the background: compare them without their order.
    assert sorted((e.user_id or "", e.action, e.outcome) for e in events) == sorted(
        [("U1", "hosts.write", "refused"), ("UADMIN", "hosts.write", "ok"), ("U1", "hosts", "ok")]
        * 2
    )


async def test_usage_error_is_ephemeral_and_runs_nothing(slack_app: SlackApp) -> None:
    _, text = await slack_app.send(command_body("local port many"))
    assert "usage: /triage HOST [port N]" in json.loads(text)["text"]
    _, text = await slack_app.send(command_body("nosuchhost"))  # valid syntax, unknown host
    await slack_app.bot.drain()
    assert await runs(slack_app) == 0
    [ephemeral] = slack_app.fake.ok("chat.postEphemeral")
    assert "unknown host 'nosuchhost'" in ephemeral["text"] and ephemeral["user"] == "U1"
    assert slack_app.fake.ok("chat.postMessage") == []


async def test_rerun_replies_in_the_thread_with_what_changed(slack_app: SlackApp) -> None:
    await slack_app.send(command_body("local"))
    await slack_app.bot.drain()
    [(summary_ts, _)] = slack_app.fake.summaries()
    before = len(slack_app.fake.ok("chat.postMessage"))
    status, _ = await slack_app.send(action_body("rerun", "1", message_ts=summary_ts))
    assert status == 200
    await slack_app.bot.drain()
    new = slack_app.fake.ok("chat.postMessage")[before:]
    assert new and all(p["thread_ts"] == summary_ts for p in new)
    head = new[0]
    assert head["blocks"][0]["text"]["text"].endswith("Re-run: triage local")
    changed = json.dumps(head["blocks"])
    assert "since run 1" in changed
    # The re-run's summary is in the thread itself: with its replies, three posts at most.
    assert len(new) <= 3 and new[-1]["text"] == "triage local: facts"
    assert await runs(slack_app) == 2
    actions = [(e.action, e.outcome) for e in await SlackRepo(slack_app.bot.store).audit_events()]
    assert actions == [("triage", "posted"), ("button:rerun", "posted")]


async def test_raw_output_button(slack_app: SlackApp) -> None:
    await slack_app.send(command_body("local"))
    await slack_app.bot.drain()
    [(summary_ts, summary)] = slack_app.fake.summaries()
    raw_button = summary["blocks"][-1]["elements"][1]
    assert raw_button["value"] == "1"  # the run id only (issue 13)
    await slack_app.send(action_body("raw_output", raw_button["value"], message_ts=summary_ts))
    await slack_app.bot.drain()
    text = blocks.raw_text(await SlackRepo(slack_app.bot.store).raw_outputs(1))
    assert "== load on local ==" in text
    if len(text) <= blocks.MAX_SECTION_CHARS - 8:
        [shown] = slack_app.fake.ok("chat.postEphemeral")
        assert shown["user"] == "U1" and "== load on local ==" in shown["text"]
    else:  # too long for a message: a file in the report's thread, whole
        [done] = slack_app.fake.ok("files.completeUploadExternal")
        assert done["thread_ts"] == summary_ts
        assert list(slack_app.fake.uploads.values()) == [text.encode()]


async def test_long_area_goes_to_a_file_in_the_thread(slack_app: SlackApp) -> None:
    long = Report(
        command="triage",
        target="local",
        status="ok",
        started_at=datetime.now(UTC),
        duration_ms=5,
        results=(ProbeResult("custom", "local", True, {"line": "x" * 9000}, area="custom"),),
    )
    messages = blocks.report_messages(long)
    assert await slack_app.bot.poster.post("C9", messages) is not None
    [(summary_ts, _)] = slack_app.fake.summaries()
    [done] = slack_app.fake.ok("files.completeUploadExternal")
    assert done["thread_ts"] == summary_ts and done["channel_id"] == "C9"
    [content] = slack_app.fake.uploads.values()
    assert content.count(b"x") == 9000  # the whole text, not a cut


async def test_retried_delivery_runs_once(slack_app: SlackApp) -> None:
    body = command_body("local")
    statuses = []
    for retry in range(4):  # the first delivery and three retries, same trigger_id
        headers = signed_headers(body)
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        statuses.append((await slack_app.send(body, headers=headers))[0])
    assert statuses == [200, 200, 200, 200]
    await slack_app.bot.drain()
    assert await runs(slack_app) == 1
    assert len([p for p in slack_app.fake.ok("chat.postMessage") if "thread_ts" not in p]) == 1
    assert len(await SlackRepo(slack_app.bot.store).audit_events()) == 1


async def test_429_storm_ends_in_exactly_one_post(slack_app: SlackApp) -> None:
    storm = [Scripted(status=429, retry_after=0) for _ in range(3)]
    slack_app.fake.answer("chat.postMessage", *storm)
    await slack_app.send(command_body("local"))
    await slack_app.bot.drain()
    attempts = slack_app.fake.all("chat.postMessage")
    assert [c.status for c in attempts[:4]] == [429, 429, 429, 200]
    summaries = [p for p in slack_app.fake.ok("chat.postMessage") if "thread_ts" not in p]
    assert len(summaries) == 1
    assert await SlackRepo(slack_app.bot.store).pending() == []


async def test_slack_500_then_recovery_posts_exactly_once(slack_app: SlackApp) -> None:
    retries = slack_app.bot.settings.slack_retries
    # More 500s than the client retries: the report must wait in the outbox.
    slack_app.fake.answer("chat.postMessage", *[Scripted(status=500)] * (retries + 1))
    await slack_app.send(command_body("local"))
    await slack_app.bot.drain()
    repo = SlackRepo(slack_app.bot.store)
    [waiting] = await repo.pending()
    assert waiting.next_index == 0 and waiting.summary_ts is None
    assert slack_app.fake.ok("chat.postMessage") == []
    # Slack answers again: the outbox posts it, once; a second flush posts nothing more.
    assert await slack_app.bot.poster.flush() == 0
    assert await slack_app.bot.poster.flush() == 0
    posts = slack_app.fake.ok("chat.postMessage")
    assert len([p for p in posts if "thread_ts" not in p]) == 1
    assert len(posts) == len(waiting.messages)
    assert await repo.pending() == []


async def test_500_midway_resumes_in_the_same_thread(slack_app: SlackApp) -> None:
    retries = slack_app.bot.settings.slack_retries
    await slack_app.send(command_body("local"))
    # summary succeeds, the first reply fails past the retries
    slack_app.fake.answer("chat.postMessage", Scripted(), *[Scripted(status=500)] * (retries + 1))
    await slack_app.bot.drain()
    assert len(await SlackRepo(slack_app.bot.store).pending()) == 1
    await slack_app.bot.poster.flush()
    posts = slack_app.fake.ok("chat.postMessage")
    roots = [p for p in posts if "thread_ts" not in p]
    assert len(roots) == 1
    assert all(p["thread_ts"] == "1700000000.000001" for p in posts if p is not roots[0])


async def test_slow_run_posts_progress_then_updates_it(make_slack_app: MakeApp) -> None:
    app = await make_slack_app(slack_progress_after_s=0)
    await app.send(command_body("local"))
    await app.bot.drain()
    first = app.fake.ok("chat.postMessage")[0]
    assert "running" in first["text"]
    [update] = app.fake.ok("chat.update")
    assert update["ts"] == "1700000000.000001" and update["text"].startswith("triage local: ")
    replies = app.fake.ok("chat.postMessage")[1:]
    assert replies and all(r["thread_ts"] == "1700000000.000001" for r in replies)


async def test_sixty_concurrent_commands_all_acked_and_answered(slack_app: SlackApp) -> None:
    bodies = [command_body("local", user=f"U{i}", channel=f"C{i % 5}") for i in range(60)]
    answers = await asyncio.gather(*(slack_app.send(b) for b in bodies))
    assert all(s == 200 and "Working on it" in json.loads(t)["text"] for s, t in answers)
    await slack_app.bot.drain()
    summaries = [p for p in slack_app.fake.ok("chat.postMessage") if "thread_ts" not in p]
    assert len(summaries) == 60
    assert await runs(slack_app) == 60
    events = await SlackRepo(slack_app.bot.store).audit_events()
    assert sorted(e.user_id or "" for e in events) == sorted(f"U{i}" for i in range(60))
    assert {e.outcome for e in events} == {"posted"}


async def test_help_and_home(slack_app: SlackApp) -> None:
    _, text = await slack_app.send(command_body("help", command="/triagebot"))
    assert "/triage HOST [port N]" in json.loads(text)["text"]
    _, text = await slack_app.send(command_body("help disk.full", command="/triagebot"))
    answer = json.loads(text)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("disk.full (host): Filesystem nearly full")
    _, text = await slack_app.send(command_body("help no.such", command="/triagebot"))
    assert json.loads(text)["text"].startswith("no finding code 'no.such' in the catalog")
    await slack_app.send(command_body("local"))
    await slack_app.bot.drain()
    from bot.store.digests import DigestRepo

    await DigestRepo(slack_app.bot.store).add(
        "C1", "0 9 * * 1-5", "Europe/Paris", "web-*", ("api.example.com",), "U1"
    )
    event = {
        "type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1",
        "event": {"type": "app_home_opened", "user": "U1", "tab": "home", "channel": "D1"},
    }  # fmt: skip
    body = json.dumps(event)
    headers = signed_headers(body) | {"Content-Type": "application/json"}
    status, _ = await slack_app.send(body, headers=headers)
    assert status == 200
    await slack_app.fake.wait_for("views.publish")
    [view] = slack_app.fake.ok("views.publish")
    home = json.dumps(view["view"])
    assert view["user_id"] == "U1" and "*local*" in home
    assert "run 1)" in home and "`triage local`" in home
    assert "`0 9 * * 1-5` Europe/Paris" in home and "hosts=web-*" in home


async def test_dedupe_holds_on_each_database(store: Store, make_slack_app: MakeApp) -> None:
    app = await make_slack_app(store=store)
    body = command_body("local")
    for retry in range(3):
        headers = signed_headers(body) | ({"X-Slack-Retry-Num": str(retry)} if retry else {})
        await app.send(body, headers=headers)
    await app.bot.drain()
    assert await runs(app) == 1


async def test_http_result_offers_triage_of_the_registered_host_behind_it(
    make_slack_app: MakeApp, tmp_path: Path
) -> None:
    from bot.store.hosts import HostRepo
    from commands.hosts import HostSpec

    # The bot's loopback is refused from Slack unless the policy allows it (test_targets_slack).
    policy = tmp_path / "policy.yml"
    policy.write_text('commands: {"*": {}}\ntargets: {commands: {http: {allow: [127.0.0.1/32]}}}\n')
    slack_app = await make_slack_app(policy_file=policy)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    await HostRepo(slack_app.bot.store).add(
        HostSpec(name="web-1", address="127.0.0.1", host_keys=(key,))
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        await slack_app.bot.accepted("http", [url], "U1", "C1", f"/http {url}")
        await slack_app.bot.drain()
    finally:
        server.close()
        await server.wait_closed()
    [(summary_ts, summary)] = slack_app.fake.summaries()
    elements = next(b for b in summary["blocks"] if b["type"] == "actions")["elements"]
    triage_button = next(e for e in elements if e["action_id"].startswith("triage_host:"))
    assert triage_button["action_id"] == "triage_host:web-1"
    assert triage_button["value"] == "1"  # the run id: the bot checks web-1 against the run
    before = len(slack_app.fake.ok("chat.postMessage"))
    status, _ = await slack_app.send(
        action_body(triage_button["action_id"], triage_button["value"], message_ts=summary_ts)
    )
    assert status == 200
    await slack_app.bot.drain()
    new = slack_app.fake.ok("chat.postMessage")[before:]
    assert new and all(p["thread_ts"] == summary_ts for p in new)
    head = new[0]["blocks"][0]["text"]["text"]
    assert head.endswith("triage web-1") and "Re-run" not in head
    actions = [(e.action, e.outcome) for e in await SlackRepo(slack_app.bot.store).audit_events()]
    assert actions == [("http", "posted"), ("button:triage_host", "posted")]
