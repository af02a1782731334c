"""`triage HOST compare LABEL=VALUE` as a user runs it: the CLI (a real process and database),
the console, and Slack (the real app and triage runner against the fake Web API).

HOST is `local` (the machine itself); its two registered siblings have addresses in the lab
range where no lab host answers, so they are unreachable: said plainly, never counted, and
their failed runs stored as their own triage.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.integration.test_cli import cli, env, keys
from tests.slack_fixtures import SlackApp

MakeApp = Callable[..., Awaitable[SlackApp]]
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVfMwYQ0Y7IpdYFl0q0dzXY1mA4hU2Nw1a5eQ5F9oWx"

__all__ = ["env", "keys"]  # fixtures, used by name


def register(env: dict[str, str], keys: dict[str, str], name: str, address: str) -> None:
    out = cli(env, "hosts", "add", name, "--address", address, "--host-key", keys["host_key"],
              "--key", keys["key"], "--label", "group=web")  # fmt: skip
    assert out.returncode == 0, out.stderr


def test_compare_from_the_cli_and_the_console(env: dict[str, str], keys: dict[str, str]) -> None:
    env["TRIAGEBOT_SSH_CONNECT_TIMEOUT_S"] = "1"
    register(env, keys, "web-2", "198.18.254.2")
    register(env, keys, "web-3", "198.18.254.3")
    out = cli(env, "triage", "local", "compare", "group=web", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["command"] == "triage" and report["target"] == "local compare group=web"
    assert not [f for f in report["findings"] if f["code"] == "fleet.outlier"]
    [info] = [f for f in report["findings"] if f["code"] == "fleet.siblings"]
    assert info["severity"] == "info"
    said = "No sibling of local in group=web could be compared: web-2 (ssh."
    assert info["title"].startswith(said)
    assert sorted(info["evidence"]["unreachable"]) == ["web-2", "web-3"]
    assert all(code.startswith("ssh.") for code in info["evidence"]["unreachable"].values())
    # local's own routine is in the report; each host's fresh run is stored as its own triage.
    assert {r["probe"] for r in report["results"]} >= {"load", "disk", "sockets"}
    history = json.loads(cli(env, "history", "--json").stdout)
    assert sorted(r["target"] for r in history) == [
        "local", "local compare group=web", "web-2", "web-3"
    ]  # fmt: skip

    console = cli(env, "console", stdin="/triage local compare group=web\nquit\n")
    assert console.returncode == 0, console.stderr
    assert "local compare group=web" in console.stdout


def test_compare_refuses_a_label_no_host_has(env: dict[str, str], tmp_path: Path) -> None:
    out = cli(env, "triage", "local", "compare", "group=nope")
    assert out.returncode == 2
    assert out.stderr == "error: no registered host has label group=nope\n"
    bad = cli(env, "triage", "local", "compare", "web")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "usage: /triage HOST compare LABEL=VALUE" in bad.stderr


async def test_compare_from_slack(make_slack_app: MakeApp) -> None:
    """`/triage local compare group=web`: acked, run through the real triage runner, posted."""
    from bot.service import triage_host
    from bot.store.hosts import HostRepo
    from commands.hosts import HostSpec
    from tests.slack_fixtures import command_body

    app = await make_slack_app(ssh_connect_timeout_s=1.0)
    app.bot.commands["triage"] = triage_host
    await HostRepo(app.bot.store).add(
        HostSpec("web-2", "198.18.254.2", host_keys=(HOST_KEY,), labels={"group": "web"})
    )
    _, text = await app.send(command_body("local compare web"))
    assert "usage: /triage HOST compare LABEL=VALUE" in json.loads(text)["text"]
    _, text = await app.send(command_body("local compare group=web"))
    assert "/triage local compare group=web" in json.loads(text)["text"]
    await app.bot.drain()
    [(_, summary)] = app.fake.summaries()
    assert summary["text"].startswith("triage local compare group=web: ")
    said = json.dumps(app.fake.ok("chat.postMessage"))
    assert "No sibling of local in group=web could be compared: web-2 (ssh." in said
    actions = next(b for b in summary["blocks"] if b["type"] == "actions")
    rerun = next(e for e in actions["elements"] if e["action_id"] == "rerun")
    # The button names the run only (issue 13); the stored run holds what Re-run runs again.
    from bot.store.runs import RunRepo

    stored = await RunRepo(app.bot.store).get(int(rerun["value"]))
    assert stored is not None and (stored.command, stored.target) == (
        "triage", "local compare group=web"
    )  # fmt: skip


async def test_compare_with_group_button_names_only_the_run(make_slack_app: MakeApp) -> None:
    """The button's value is the run id; the click compares the run's host with its group."""
    from bot.service import triage_host
    from bot.store.hosts import HostRepo
    from bot.store.slack import SlackRepo
    from commands.hosts import HostSpec
    from tests.slack_fixtures import action_body, command_body

    app = await make_slack_app(ssh_connect_timeout_s=1.0)
    app.bot.commands["triage"] = triage_host
    for name in ("web-2", "web-3"):
        await HostRepo(app.bot.store).add(
            HostSpec(name, "198.18.254.2", host_keys=(HOST_KEY,), labels={"group": "web"})
        )
    await app.send(command_body("web-2"))
    await app.send(command_body("local", channel="C2"))  # no group label: no button
    await app.bot.drain()
    summaries = dict((s["channel"], s) for _, s in app.fake.summaries())
    elements = next(b for b in summaries["C1"]["blocks"] if b["type"] == "actions")["elements"]
    [button] = [e for e in elements if e["action_id"] == "compare_group"]
    assert button["text"]["text"] == "Compare with group=web"
    assert button["value"].isdigit()  # a run id, not a command
    other = next(b for b in summaries["C2"]["blocks"] if b["type"] == "actions")["elements"]
    assert "compare_group" not in [e["action_id"] for e in other]
    [(ts_c1, _)] = [(ts, s) for ts, s in app.fake.summaries() if s["channel"] == "C1"]
    before = len(app.fake.ok("chat.postMessage"))

    # A value that is a command, and a run of another channel, are refused; nothing runs.
    await app.send(action_body("compare_group", "triage web-3 compare group=web", message_ts=ts_c1))
    await app.send(action_body("compare_group", button["value"], message_ts=ts_c1, channel="C2"))
    await app.bot.drain()
    refusals = [e["text"] for e in app.fake.ok("chat.postEphemeral")]
    assert refusals == [
        ":warning: this button names no run",
        f":warning: run {button['value']} was not posted in this channel",
    ]
    assert len(app.fake.ok("chat.postMessage")) == before

    await app.send(action_body("compare_group", button["value"], message_ts=ts_c1))
    await app.bot.drain()
    new = app.fake.ok("chat.postMessage")[before:]
    assert new and all(p["thread_ts"] == ts_c1 for p in new)
    assert new[0]["text"].startswith("triage web-2 compare group=web: ")
    events = [(e.action, e.outcome) for e in await SlackRepo(app.bot.store).audit_events()]
    assert events.count(("button:compare_group", "refused")) == 2
    assert ("button:compare_group", "posted") in events
