"""`triagebot triage HOST|LABEL=VALUE` through the fast path (bot.cli.triage_fast) on real
lab hosts: the same reports, stored and diffed like the full path's, without Typer, the ORM
or (with no setting in the environment) pydantic; errors are the full path's own."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.integration.test_cli_fast_path import error_line, imported, run
from tests.lab.netns import LabHost

NEVER = {"sqlalchemy", "alembic", "typer", "pydantic", "pydantic_settings", "rich"}


def register(url: str, host: LabHost, name: str, *labels: str) -> None:
    extra = [w for label in labels for w in ("--label", label)]
    add = run(
        "bot.cli", url, "hosts", "add", name, "--address", host.address,
        "--key", host.key_path, "--host-key", host.host_key_line, *extra,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr


def stored_runs(url: str) -> list[tuple[int, str, str]]:
    path = url.split(":///", 1)[1]
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT id, target, source FROM runs ORDER BY id"))


@pytest.mark.lab
def test_label_selector_is_triaged_and_stored_like_the_full_path(
    tmp_path: Path, lab_host: LabHost
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/group.db"
    register(url, lab_host, "web-2", "group=web")
    register(url, lab_host, "web-1", "group=web,edge")
    register(url, lab_host, "db-1", "group=db")
    full = run("bot.cli", url, "triage", "group=web", "--json")
    fast = run("bot.entry", url, "triage", "group=web", "--json", importtime=True)
    assert full.returncode == fast.returncode == 0, error_line(fast)
    a, b = json.loads(full.stdout), json.loads(fast.stdout)
    assert [r["target"] for r in b] == [r["target"] for r in a] == ["web-1", "web-2"]
    assert {r["status"] for r in a + b} == {"ok"}
    for old, new in zip(a, b, strict=True):
        assert new["changes"]["previous_run_id"] == old["run_id"]
        assert [r["probe"] for r in new["results"]] == [r["probe"] for r in old["results"]]
    assert not NEVER & imported(fast)
    ids = [r["run_id"] for r in b]
    assert stored_runs(url)[-2:] == [(ids[0], "web-1", "cli"), (ids[1], "web-2", "cli")]


def test_label_errors_are_the_full_paths(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/empty.db"
    assert run("bot.cli", url, "db", "upgrade").returncode == 0
    for word in ("group=none", "=web", "group=", "gr oup=web"):
        full = run("bot.cli", url, "triage", word)
        fast = run("bot.entry", url, "triage", word, importtime=True)
        assert full.returncode == fast.returncode == 2, word
        assert error_line(fast) == full.stderr.strip().splitlines()[-1], word
    assert stored_runs(url) == []


@pytest.mark.lab
def test_text_output_and_a_setting_in_the_environment(tmp_path: Path, lab_host: LabHost) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/text.db"
    register(url, lab_host, "web-1")
    text = run("bot.entry", url, "triage", "web-1", importtime=True)
    assert text.returncode == 0, error_line(text)
    assert "web-1" in text.stdout
    assert not {"sqlalchemy", "typer", "pydantic"} & imported(text)
    # A setting in the environment: the real settings (pydantic) read it, and it applies.
    tuned = run("bot.entry", url, "triage", "web-1", "--json", importtime=True,
                sample_window_s="0.2")  # fmt: skip
    assert tuned.returncode == 0, error_line(tuned)
    assert "pydantic_settings" in imported(tuned) and "sqlalchemy" not in imported(tuned)
    report = json.loads(tuned.stdout)
    assert report["duration_ms"] < 900  # the 0.2 s window, not the default 1 s
    bad = run("bot.entry", url, "triage", "web-1", sample_window_s="soon")
    assert bad.returncode == 2 and bad.stderr.startswith("error: TRIAGEBOT_SAMPLE_WINDOW_S: ")
    assert [r[1] for r in stored_runs(url)] == ["web-1", "web-1"]


def test_local_is_triaged_by_the_fast_path(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/local.db"
    assert run("bot.cli", url, "db", "upgrade").returncode == 0
    fast = run(
        "bot.entry", url, "triage", "local", "--json", importtime=True, sample_window_s="0.1"
    )
    assert fast.returncode == 0, error_line(fast)
    assert json.loads(fast.stdout)["target"] == "local"
    assert "sqlalchemy" not in imported(fast)
    assert [r[1:] for r in stored_runs(url)] == [("local", "cli")]
