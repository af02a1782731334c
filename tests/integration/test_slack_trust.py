"""The trust boundary, driven as Slack drives it: signed requests to the served bot, the fake
Web API answering. Buttons carry a run id only; the stored run is authorised, in its channel."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.commands import dig as dig_name
from bot.digests.command import digest
from bot.service import Who, record
from bot.store.digests import DigestRepo
from bot.store.slack import SlackRepo
from commands.report import Report
from ssh_probes.model import ProbeResult
from tests.slack_fixtures import SlackApp, action_body, command_body, fast_triage

MakeApp = Callable[..., Awaitable[SlackApp]]


async def audits(app: SlackApp) -> list[tuple[str, str, str, str]]:
    await app.bot.drain()
    events = await SlackRepo(app.bot.store).audit_events()
    return [(e.user_id or "", e.action, e.outcome, e.reason) for e in events]


async def triage_in(app: SlackApp, channel: str = "C1", user: str = "U1") -> dict[str, Any]:
    """Run `/triage local` in `channel`; the summary message posted for it."""
    before = len(app.fake.summaries())
    await app.send(command_body("local", user=user, channel=channel))
    await app.bot.drain()
    return app.fake.summaries()[before][1]


def button(summary: dict[str, Any], action_id: str) -> dict[str, Any]:
    actions = next(b for b in summary["blocks"] if b["type"] == "actions")
    return next(e for e in actions["elements"] if e["action_id"].startswith(action_id))


def dig_digest_app(make_slack_app: MakeApp, **overrides: Any) -> Awaitable[SlackApp]:
    commands = {"triage": fast_triage(), "dig": dig_name, "digest": digest}
    return make_slack_app(commands=commands, digest_refresh=False, **overrides)


async def test_buttons_carry_only_the_run_id(slack_app: SlackApp) -> None:
    summary = await triage_in(slack_app)
    assert button(summary, "rerun")["value"] == "1"
    assert button(summary, "raw_output")["value"] == "1"


@pytest.mark.parametrize(
    "value", ["1", "triage:1", "help:1", "hosts:1"], ids=["genuine", "old", "help", "hosts"]
)
async def test_raw_output_is_refused_in_another_channel(slack_app: SlackApp, value: str) -> None:
    await triage_in(slack_app, channel="C1")
    body = action_body("raw_output", value, message_ts="1700000000.000001", user="U2", channel="C2")
    status, _ = await slack_app.send(body)
    assert status == 200
    events = await audits(slack_app)
    assert slack_app.fake.ok("files.completeUploadExternal") == []
    shown = [e["text"] for e in slack_app.fake.ok("chat.postEphemeral")]
    assert not any("== load on local ==" in t for t in shown)
    refused = [e for e in events if e[1] == "button:raw_output"]
    assert [e[2] for e in refused] == ["refused"] and refused[0][3]


async def test_raw_output_goes_to_the_clicker_alone(slack_app: SlackApp) -> None:
    summary = await triage_in(slack_app)
    body = action_body("raw_output", button(summary, "raw_output")["value"],
                       message_ts="1700000000.000001", user="U7")  # fmt: skip
    await slack_app.send(body)
    await slack_app.bot.drain()
    [shown] = slack_app.fake.ok("chat.postEphemeral")
    assert shown["user"] == "U7" and "== load on local ==" in shown["text"]
    # Long output: a file shared in a DM with the clicker, never in the channel.
    big = ProbeResult("custom", "local", True, {}, raw="line of output\n" * 2000, area="custom")
    long = Report("triage", "local", "ok", datetime.now(UTC), 5, results=(big,))
    run = await record(slack_app.bot.store, long, slack_app.bot.settings, Who("slack", "U1", "C1"))
    body = action_body("raw_output", str(run.run_id), message_ts="1700000000.000009", user="U7")
    await slack_app.send(body)
    await slack_app.bot.drain()
    [opened] = slack_app.fake.ok("conversations.open")
    assert opened["users"] == "U7"
    [done] = slack_app.fake.ok("files.completeUploadExternal")
    assert done["channel_id"] == "DU7"
    assert b"line of output" in b"".join(slack_app.fake.uploads.values())
    assert ("U7", "button:raw_output", "ok", "") in await audits(slack_app)


@pytest.mark.parametrize(
    "value",
    ["digest add C9 0 9 * * *", "dig watch example.com", "triage local", "hosts:1", "99"],
    ids=["digest-add", "dig-watch", "old-rerun", "old-raw", "unknown-run"],
)
async def test_forged_rerun_values_reach_no_runner(make_slack_app: MakeApp, value: str) -> None:
    slack_app = await dig_digest_app(make_slack_app)
    await triage_in(slack_app)
    before = len(slack_app.fake.ok("chat.postMessage"))
    body = action_body("rerun", value, message_ts="1700000000.000001", user="U2")
    await slack_app.send(body)
    events = await audits(slack_app)
    repo = DigestRepo(slack_app.bot.store)
    assert await repo.schedules() == [] and await repo.watched() == []
    assert len(slack_app.fake.ok("chat.postMessage")) == before
    [refused] = [e for e in events if e[1] == "button:rerun"]
    assert refused[2] == "refused" and refused[3]


async def test_rerun_only_in_the_runs_channel(slack_app: SlackApp) -> None:
    await triage_in(slack_app, channel="C1")
    await slack_app.send(action_body("rerun", "1", message_ts="1700000000.000001", channel="C2"))
    await slack_app.send(action_body("rerun", "1", message_ts="1700000000.000001", channel="C1"))
    events = await audits(slack_app)
    reruns = [(e[2], "channel" in e[3]) for e in events if e[1] == "button:rerun"]
    assert sorted(reruns) == [("posted", False), ("refused", True)]


async def test_rerun_authorises_the_stored_command(make_slack_app: MakeApp, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("commands:\n  triage: {users: [U1]}\n")
    app = await make_slack_app(policy_file=policy)
    await triage_in(app)
    await app.send(action_body("rerun", "1", message_ts="1700000000.000001", user="U2"))
    events = await audits(app)
    assert [e[:3] for e in events if e[1] == "button:rerun"] == [("U2", "button:rerun", "refused")]


async def test_triage_host_button_needs_the_host_in_the_stored_run(slack_app: SlackApp) -> None:
    # A forged Triage button naming a host the run never saw is refused.
    await triage_in(slack_app)
    body = action_body("triage_host:web-1", "1", message_ts="1700000000.000001")
    await slack_app.send(body)
    events = await audits(slack_app)
    assert [e[2] for e in events if e[1] == "button:triage_host"] == ["refused"]


async def test_dig_watch_is_a_write(make_slack_app: MakeApp, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text('commands:\n  "*": {}\n  dig.write: {users: [U3]}\n')
    app = await dig_digest_app(make_slack_app, admins="UADMIN", policy_file=policy)
    _, text = await app.send(command_body("watch example.com", command="/dig", user="U2"))
    assert ":no_entry:" in json.loads(text)["text"]
    for user in ("UADMIN", "U3"):
        _, text = await app.send(command_body("watch example.com", command="/dig", user=user))
        assert "Working on it" in json.loads(text)["text"]
    events = await audits(app)
    assert await DigestRepo(app.bot.store).watched() == ["example.com"]
    assert sorted((e[0], e[2]) for e in events) == [
        ("U2", "refused"), ("U3", "posted"), ("UADMIN", "posted")
    ]  # fmt: skip


async def test_digest_run_only_from_its_channel_or_by_an_admin(make_slack_app: MakeApp) -> None:
    app = await dig_digest_app(make_slack_app, admins="UADMIN")
    await DigestRepo(app.bot.store).add("C1", "0 9 * * *", "UTC", "*", (), "UADMIN")
    _, text = await app.send(command_body("run 1", command="/digest", user="U2", channel="C2"))
    assert "<#C1>" in json.loads(text)["text"]
    for user, channel in (("U2", "C1"), ("UADMIN", "C2")):
        body = command_body("run 1", command="/digest", user=user, channel=channel)
        _, text = await app.send(body)
        assert "Working on it" in json.loads(text)["text"]
    events = await audits(app)
    assert sorted((e[0], e[2]) for e in events if e[1].startswith("digest")) == [
        ("U2", "posted"), ("U2", "refused"), ("UADMIN", "posted")
    ]  # fmt: skip


async def test_history_in_slack_shows_this_channels_runs(slack_app: SlackApp) -> None:
    await triage_in(slack_app, channel="C1")
    await triage_in(slack_app, channel="C2")
    status, text = await slack_app.send(command_body("local", command="/history", channel="C1"))
    assert status == 200
    answer = json.loads(text)["text"]
    assert "run 1 " in answer and "run 2 " not in answer


async def test_triage_group_in_slack(slack_app: SlackApp) -> None:
    from bot.store.hosts import HostRepo
    from commands.hosts import HostSpec

    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    repo = HostRepo(slack_app.bot.store)
    for name in ("web-1", "web-2", "db-1"):
        group = "db" if name.startswith("db") else "web"
        # port 9 on loopback: refused at once, the report says so (ssh.refused)
        spec = HostSpec(name, "127.0.0.1", 9, host_keys=(key,), labels={"group": group})
        await repo.add(spec)
    _, text = await slack_app.send(command_body("group=web"))
    assert "Working on it" in json.loads(text)["text"]
    await slack_app.bot.drain()
    targets = sorted(s["text"].split(":")[0] for _, s in slack_app.fake.summaries())
    assert targets == ["triage web-1", "triage web-2"]


async def test_app_home_shows_what_the_policy_allows(
    make_slack_app: MakeApp, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("admins: [UADMIN]\ncommands:\n  triage: {users: [U1]}\n")
    app = await make_slack_app(policy_file=policy)
    await triage_in(app, user="U1")
    await DigestRepo(app.bot.store).add("C1", "0 9 * * *", "UTC", "web-*", (), "UADMIN")
    homes = {}
    for user in ("U2", "U1", "UADMIN"):
        event = {
            "type": "event_callback", "team_id": "T1", "api_app_id": "A1",
            "event_id": f"Ev-{user}",
            "event": {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D1"},
        }  # fmt: skip
        body = json.dumps(event)
        from tests.slack_fixtures import signed_headers

        await app.send(body, headers=signed_headers(body) | {"Content-Type": "application/json"})
        await app.fake.wait_for("views.publish", len(homes) + 1)  # events run after the ack
        view = app.fake.ok("views.publish")[-1]
        assert view["user_id"] == user
        homes[user] = json.dumps(view["view"])
    assert "`triage local`" not in homes["U2"] and "`/triage`" not in homes["U2"]
    assert "hosts=web-*" not in homes["U2"] and "*local*" not in homes["U2"]
    assert "`triage local`" in homes["U1"] and "`/triage`" in homes["U1"]  # U1's own run
    assert "hosts=web-*" not in homes["U1"]
    assert "`triage local`" in homes["UADMIN"] and "hosts=web-*" in homes["UADMIN"]


async def test_no_policy_file_answers_admins_only(make_slack_app: MakeApp) -> None:
    app = await make_slack_app(policy_file=None, admins="UADMIN")
    _, text = await app.send(command_body("local", user="U2"))
    line = json.loads(text)["text"]
    assert "TRIAGEBOT_POLICY_FILE" in line and "\n" not in line
    _, text = await app.send(command_body("list", command="/hosts", user="U2"))
    assert "TRIAGEBOT_POLICY_FILE" in json.loads(text)["text"]
    _, text = await app.send(command_body("local", user="UADMIN"))
    assert "Working on it" in json.loads(text)["text"]
    events = await audits(app)
    assert sorted(e[:3] for e in events) == [
        ("U2", "hosts", "refused"), ("U2", "triage", "refused"), ("UADMIN", "triage", "posted")
    ]  # fmt: skip


@pytest.mark.parametrize(
    "flag",
    ["--known-hosts /proc/self/environ", "--key /proc/self/environ"],
    ids=["known-hosts", "key"],
)
async def test_hosts_add_from_slack_takes_no_file_paths(make_slack_app: MakeApp, flag: str) -> None:
    app = await make_slack_app(admins="UADMIN")
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    add = f"add x --address 10.0.0.9 {flag}" + (f" --host-key '{key}'" if "key " in flag else "")
    _, text = await app.send(command_body(add, command="/hosts", user="UADMIN"))
    answer = json.loads(text)["text"]
    assert flag.split()[0] in answer and "--host-key" in answer
    assert "PATH=" not in answer and "TRIAGEBOT" not in answer
    from bot.store.hosts import HostRepo

    assert await HostRepo(app.bot.store).list() == []


async def test_acks_are_redacted(slack_app: SlackApp) -> None:
    token = "xoxb-1234567890-abcdefghijkl"
    _, text = await slack_app.send(command_body(f"nosuch.host {token}"))
    assert token not in text
    _, text = await slack_app.send(command_body(f"show {token}", command="/hosts"))
    assert token not in text


@pytest.mark.parametrize(
    ("body", "signed", "expected"),
    [
        ("payload=%7Bnot-json", True, 400),
        ('{"type": "event_callback", ', True, 400),
        ("payload=%7Bnot-json", False, 401),
        ("\xff\xfe garbage", False, 401),
    ],
    ids=["signed-bad-payload", "signed-bad-json", "unsigned-bad-payload", "unsigned-garbage"],
)
async def test_malformed_bodies_are_4xx(
    slack_app: SlackApp, body: str, signed: bool, expected: int
) -> None:
    from tests.slack_fixtures import signed_headers

    kind = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
    headers = (signed_headers(body) if signed else {}) | {"Content-Type": kind}
    status, text = await slack_app.send(body, headers=headers)
    assert status == expected and "Traceback" not in text


async def test_a_stored_run_that_reads_as_a_write_is_not_rerun(make_slack_app: MakeApp) -> None:
    # Even a stored run whose words would be a write (`dig watch ...`) never runs one.
    app = await dig_digest_app(make_slack_app, admins="U1")
    odd = Report("dig", "watch example.com", "ok", datetime.now(UTC), 1)
    run = await record(app.bot.store, odd, app.bot.settings, Who("slack", "U1", "C1"))
    await app.send(action_body("rerun", str(run.run_id), message_ts="1700000000.000001"))
    events = await audits(app)
    assert await DigestRepo(app.bot.store).watched() == []
    [(user, action, outcome, reason)] = events
    assert (user, action, outcome) == ("U1", "button:rerun", "refused")
    assert "never change" in reason
