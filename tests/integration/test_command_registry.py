"""One registry of chat commands: Slack, the CLI and the console accept the same ones."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import typer

from bot.auth import is_write
from bot.cli import app as cli_app
from bot.cli.console import to_argv
from bot.commands import REGISTRY
from bot.store.slack import SlackRepo
from tests.slack_fixtures import SlackApp, command_body

MakeApp = Callable[..., Awaitable[SlackApp]]


@pytest.mark.parametrize("name", sorted(REGISTRY))
async def test_every_command_is_served_in_slack_cli_and_console(
    name: str, make_slack_app: MakeApp, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("commands: {}\n")  # nothing enabled: each command answers with a refusal
    app = await make_slack_app(policy_file=policy)
    status, text = await app.send(command_body("", command=f"/{name}", user="U2"))
    assert status == 200 and ":no_entry:" in json.loads(text)["text"]
    await app.bot.drain()
    [event] = await SlackRepo(app.bot.store).audit_events()
    assert event.outcome == "refused" and event.reason
    argv = to_argv(f"/{name}")
    assert argv is not None and argv[0] == name
    group = typer.main.get_command(cli_app)
    assert name in group.commands  # type: ignore[attr-defined]


def test_every_command_declares_its_actions() -> None:
    for name, command in REGISTRY.items():
        assert command.actions[0] == name and command.usage
        assert all(a == name or (a.startswith(f"{name}.") and is_write(a)) for a in command.actions)
    assert REGISTRY["dig"].action(["watch", "example.com"]) == "dig.write"
    assert REGISTRY["dig"].action(["example.com"]) == "dig"
    assert REGISTRY["digest"].action(["add", "C1", "@daily"]) == "digest.write"
    assert REGISTRY["digest"].action(["run", "1"]) == "digest"
    assert REGISTRY["hosts"].action(["unwatch", "web-1"]) == "hosts.write"


def test_the_manifest_registers_every_command() -> None:
    import yaml

    manifest = yaml.safe_load((Path(__file__).parents[2] / "slack-manifest.yml").read_text())
    slash = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert slash == {f"/{name}" for name in REGISTRY} | {"/triagebot"}
    assert "im:write" in manifest["oauth_config"]["scopes"]["bot"]  # raw output in a DM
