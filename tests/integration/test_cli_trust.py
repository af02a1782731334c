"""Issue 13 from the terminal: `start` closed by default in Slack modes, no file content in an
error, every chat command in the console."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_cli import ROOT, cli

MARK = "TRIAGEMARK-9f2c41"  # no secret shape: redaction would not hide it, only not reading it


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # First in /proc/self/environ of the CLI process, where an error quoting it would start.
    clean = {"LEAKY_SECRET": MARK}
    clean |= {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_"))}
    clean["TRIAGEBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    return clean


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_start_in_slack_mode_needs_a_policy_or_an_admin(env: dict[str, str]) -> None:
    env |= {"SLACK_BOT_TOKEN": "xoxb-1-x", "SLACK_SIGNING_SECRET": "s" * 32}
    env["TRIAGEBOT_PORT"] = str(free_port())
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "start"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 2
    [line] = out.stderr.strip().splitlines()
    assert "TRIAGEBOT_POLICY_FILE" in line and "TRIAGEBOT_ADMINS" in line


@pytest.mark.parametrize("flag", ["--known-hosts", "--key"])
@pytest.mark.parametrize("which", ["environ", "env-file"])
def test_a_file_named_in_hosts_add_is_never_echoed(
    env: dict[str, str], tmp_path: Path, flag: str, which: str
) -> None:
    path = "/proc/self/environ"
    if which == "env-file":
        path = str(tmp_path / "app.env")
        Path(path).write_text(f"LEAKY_SECRET={MARK}\nDEBUG=0\n")
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    extra = ["--host-key", key] if flag == "--key" else []
    out = cli(env, "hosts", "add", "x", "--address", "10.0.0.9", flag, path, *extra)
    assert out.returncode == 2 and out.stderr.startswith("error: ")
    assert MARK not in out.stderr + out.stdout and "LEAKY_SECRET" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_console_takes_digest_and_label_triage(env: dict[str, str]) -> None:
    out = cli(env, "console", stdin="/digest list\n/triage group=web\n/history local\nquit\n")
    assert "no digest schedules" in out.stdout
    assert "no registered host has label group=web" in out.stderr
    assert "no runs of local" in out.stdout
