"""The CLI as a user runs it: a real process, a real database, exit codes and stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncssh
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_"))}
    clean["TRIAGEBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    clean["COLUMNS"] = "200"
    return clean


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    user = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "id_ed25519"
    user.write_private_key(str(path))
    host = asyncssh.generate_private_key("ssh-ed25519")
    pub = host.export_public_key("openssh").decode().strip()
    known = tmp_path / "known_hosts"
    known.write_text(f"[198.18.5.2]:2222 {pub}\n")
    return {"key": str(path), "host_key": pub, "known_hosts": str(known)}


def cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def hosts_json(env: dict[str, str]) -> list[dict[str, object]]:
    out = cli(env, "hosts", "list", "--json")
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


def test_hosts_add_show_list_remove(env: dict[str, str], keys: dict[str, str]) -> None:
    add = cli(
        env,
        "hosts",
        "add",
        "web-1",
        "--address",
        "198.18.5.2",
        "--port",
        "2222",
        "--user",
        "ops",
        "--key",
        keys["key"],
        "--known-hosts",
        keys["known_hosts"],
        "--expect-port",
        "443",
        "--expect-port",
        "80",
        "--log",
        "/var/log/app.log",
        "--label",
        "env=prod",
    )
    assert add.returncode == 0, add.stderr
    shown = json.loads(cli(env, "hosts", "show", "web-1", "--json").stdout)
    assert shown["host_keys"] == [keys["host_key"].split()[0] + " " + keys["host_key"].split()[1]]
    assert shown["expect_ports"] == [80, 443]
    assert shown["labels"] == {"env": "prod"}
    assert [h["name"] for h in hosts_json(env)] == ["local", "web-1"]
    assert shown["watched"] is True  # in digests once registered
    unwatch = cli(env, "hosts", "unwatch", "web-1")
    assert unwatch.returncode == 0 and "left out of digests" in unwatch.stdout
    assert json.loads(cli(env, "hosts", "show", "web-1", "--json").stdout)["watched"] is False
    assert cli(env, "hosts", "watch", "web-1").returncode == 0
    assert json.loads(cli(env, "hosts", "show", "web-1", "--json").stdout)["watched"] is True
    for bad in ("nosuch", "local"):
        out = cli(env, "hosts", "unwatch", bad)
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert cli(env, "hosts", "remove", "web-1").returncode == 0
    assert [h["name"] for h in hosts_json(env)] == ["local"]


BAD_ADDS = {
    "shell-metachar-name": (["web;rm -rf /", "--address", "198.18.5.2"], "invalid host name"),
    "shell-metachar-address": (["web-2", "--address", "$(reboot)"], "invalid address"),
    "option-injection-address": (["web-2", "--address=-oProxyCommand=sh"], "invalid address"),
    "unreadable-key": (
        ["web-2", "--address", "198.18.5.2", "--key", "/nonexistent/id", "--host-key", "HK"],
        "cannot read key file",
    ),
    "malformed-host-key": (
        ["web-2", "--address", "198.18.5.2", "--host-key", "ssh-ed25519 zzz"],
        "invalid host key",
    ),
    "no-host-key": (["web-2", "--address", "198.18.5.2"], "a host key is required"),
    "known-hosts-without-entry": (
        ["web-2", "--address", "198.18.9.9", "--known-hosts", "KH"],
        "no host key for 198.18.9.9",
    ),
    "bad-port": (
        ["web-2", "--address", "198.18.5.2", "--port", "0", "--host-key", "HK"],
        "invalid port",
    ),
    "bad-expect-port": (
        ["web-2", "--address", "198.18.5.2", "--expect-port", "99999", "--host-key", "HK"],
        "invalid port",
    ),
    "relative-log": (
        ["web-2", "--address", "198.18.5.2", "--log", "app.log", "--host-key", "HK"],
        "invalid log path",
    ),
    "bad-label": (
        ["web-2", "--address", "198.18.5.2", "--label", "x", "--host-key", "HK"],
        "invalid label",
    ),
    "local-is-builtin": (["local", "--address", "127.0.0.1", "--host-key", "HK"], "built in"),
}


@pytest.mark.parametrize("case", list(BAD_ADDS), ids=list(BAD_ADDS))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    env: dict[str, str], keys: dict[str, str], case: str, tmp_path: Path
) -> None:
    args, message = BAD_ADDS[case]
    args = [
        keys["known_hosts"] if a == "KH" else keys["host_key"] if a == "HK" else a for a in args
    ]
    out = cli(env, "hosts", "add", *args)
    assert out.returncode == 2, out
    assert out.stderr.count("\n") == 1, out.stderr
    assert message in out.stderr
    assert not (tmp_path / "cli.db").exists() or [h["name"] for h in hosts_json(env)] == ["local"]


def test_duplicate_add_keeps_the_first(env: dict[str, str], keys: dict[str, str]) -> None:
    base = ["hosts", "add", "web-1", "--host-key", keys["host_key"], "--address"]
    assert cli(env, *base, "198.18.5.2").returncode == 0
    again = cli(env, *base, "198.18.5.3")
    assert again.returncode == 2
    assert "already registered" in again.stderr
    assert hosts_json(env)[1]["address"] == "198.18.5.2"


def test_unknown_host_lists_registered(env: dict[str, str], keys: dict[str, str]) -> None:
    cli(env, "hosts", "add", "db-1", "--address", "198.18.5.2", "--host-key", keys["host_key"])
    out = cli(env, "triage", "nope")
    assert out.returncode == 2
    assert out.stderr == "error: unknown host 'nope'; registered: local, db-1\n"


def test_unreachable_database_is_one_line(env: dict[str, str]) -> None:
    env["TRIAGEBOT_DATABASE_URL"] = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
    out = cli(env, "hosts", "list")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "127.0.0.1:1" in out.stderr


def test_bad_setting_names_variable(env: dict[str, str]) -> None:
    env["TRIAGEBOT_SSH_CONNECT_TIMEOUT_S"] = "soon"
    out = cli(env, "hosts", "list")
    assert out.returncode == 2
    assert out.stderr.startswith("error: TRIAGEBOT_SSH_CONNECT_TIMEOUT_S: ")


def test_triage_local_json_contract(env: dict[str, str]) -> None:
    first = cli(env, "triage", "local", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    for key in (
        "command",
        "target",
        "status",
        "duration_ms",
        "run_id",
        "findings",
        "results",
        "changes",
    ):
        assert key in report
    assert report["command"] == "triage" and report["target"] == "local"
    assert {r["probe"] for r in report["results"]} >= {"load", "disk", "sockets"}
    assert all(r["ok"] for r in report["results"]), report["results"]
    assert report["changes"]["since"] is None
    second = json.loads(cli(env, "triage", "local", "--json").stdout)
    assert second["run_id"] == report["run_id"] + 1
    assert second["changes"]["previous_run_id"] == report["run_id"]
    assert second["changes"]["since"] == report["started_at"]


def test_console_runs_slash_commands(env: dict[str, str]) -> None:
    out = cli(env, "console", stdin="help\n/hosts list\n/triage local\n/reboot\nquit\n")
    assert out.returncode == 0, out.stderr
    assert "/triage HOST" in out.stdout
    assert "local" in out.stdout
    assert "triage local" in out.stdout
    assert "unknown command '/reboot'" in out.stderr


def test_db_upgrade(env: dict[str, str]) -> None:
    out = cli(env, "db", "upgrade")
    assert out.returncode == 0, out.stderr
    from bot.store.db import HEAD_REVISION

    assert f"at revision {HEAD_REVISION}" in out.stdout


def test_history_lists_runs_including_port_runs(env: dict[str, str]) -> None:
    assert cli(env, "triage", "local", "--json").returncode == 0
    assert cli(env, "triage", "local", "port", "1", "--json").returncode == 0
    out = cli(env, "history", "local", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["target"] for r in rows] == ["local port 1", "local"]
    # Critical: port 1 does not listen (cpu.saturated may also be there on a busy machine).
    assert rows[0]["worst"].startswith("critical ") and rows[0]["findings"] >= 1
    bad = cli(env, "history", "local", "--since", "2w")
    assert bad.returncode == 2 and "invalid --since" in bad.stderr


def test_http_from_the_cli_classifies_and_refuses_bad_urls(env: dict[str, str]) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = cli(env, "http", f"http://user:hunter2@127.0.0.1:{port}/x", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["command"] == "http"
    assert [f["code"] for f in report["findings"]] == ["tcp.refused"]
    assert "hunter2" not in out.stdout
    for bad in ("file:///etc/passwd", "http://a;reboot/", "--resolve=x"):
        refused = cli(env, "http", bad)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused


def test_dig_from_the_cli(env: dict[str, str]) -> None:
    # Port 9 (discard) on loopback: nothing answers DNS there, which is a dns.timeout.
    out = cli(env, "dig", "example.test", "@127.0.0.1:9", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["command"] == "dig" and report["target"] == "example.test"
    assert "dns.timeout" in [f["code"] for f in report["findings"]]
    for bad in ("-oProxyCommand=x", "exa;mple.com", "a" * 64 + ".com"):
        refused = cli(env, "dig", bad)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused
