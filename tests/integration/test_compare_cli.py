"""`triagebot triage HOST compare LABEL=VALUE` as a user runs it: a real process and database.

HOST is `local` (the machine itself); its two registered siblings have addresses in the lab
range where no lab host answers, so they are unreachable: said plainly, never counted, and
their failed runs stored as their own triage.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli import cli, env, keys

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
