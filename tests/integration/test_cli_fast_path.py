"""The unknown-host fast path (bot.entry, bot.store.quick) on a real migrated SQLite store.

It must give the store's own answer (same message, same exit status), never import the
ORM or SSH to do it, and step aside whenever it cannot be sure.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.entry import triage_host_word
from bot.store.db import HEAD_REVISION, Store
from bot.store.hosts import HostRepo
from bot.store.quick import head_revision, registered_names, unknown_host
from commands.hosts import HostSpec
from ssh_probes.errors import InputError
from tests.lab.netns import LabHost

ROOT = Path(__file__).resolve().parents[2]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


@pytest.fixture
async def db(tmp_path: Path) -> str:
    """A migrated SQLite store holding db-1 and api-1, through the real store."""
    url = f"sqlite+aiosqlite:///{tmp_path}/fast.db"
    store = Store(url)
    try:
        await store.upgrade()
        repo = HostRepo(store)
        for name in ("db-1", "api-1"):
            await repo.add(HostSpec(name=name, address="198.18.0.2", host_keys=(KEY,)))
    finally:
        await store.close()
    return url


def run(
    module: str, url: str, *args: str, importtime: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_"))}
    env["TRIAGEBOT_DATABASE_URL"] = url
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *flags, "-m", module, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_head_revision_is_the_stores() -> None:
    assert head_revision() == HEAD_REVISION


async def test_thin_read_answers_like_the_store(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert registered_names(db, "nope") == ["api-1", "db-1"]
    assert registered_names(db, "db-1") is None  # registered: the full path runs it
    store = Store(db)
    try:
        with pytest.raises(InputError) as info:
            await HostRepo(store).get("nope")
    finally:
        await store.close()
    monkeypatch.setenv("TRIAGEBOT_DATABASE_URL", db)
    fast = unknown_host("NOPE")
    assert fast is not None and str(fast) == str(info.value)
    assert unknown_host("db-1") is None and unknown_host("local") is None


async def test_steps_aside_when_unsure(db: str, tmp_path: Path) -> None:
    assert registered_names(f"sqlite+aiosqlite:///{tmp_path}/missing.db", "nope") is None
    assert registered_names("postgresql+asyncpg://postgres@127.0.0.1:5432/test", "x") is None
    assert registered_names(db + "?mode=ro", "nope") is None
    path = db.split(":///", 1)[1]
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '0001'")  # behind: must migrate
    conn.commit()
    conn.close()
    assert registered_names(db, "nope") is None


def test_argv_shapes() -> None:
    assert triage_host_word(["triage", "web-1"]) == "web-1"
    assert triage_host_word(["triage", "--json", "web-1"]) == "web-1"
    assert triage_host_word(["triage", "web-1", "port", "80"]) is None
    assert triage_host_word(["triage", "--help"]) is None
    assert triage_host_word(["dig", "web-1"]) is None


def test_process_answers_without_orm_or_ssh(db: str) -> None:
    full = run("bot.cli", db, "triage", "nope")
    fast = run("bot.entry", db, "triage", "nope", importtime=True)
    assert full.returncode == fast.returncode == 2
    assert fast.stdout == ""
    lines = fast.stderr.splitlines()
    assert (
        lines[-1]
        == full.stderr.strip()
        == "error: unknown host 'nope'; registered: local, api-1, db-1"
    )
    imported = {ln.split("|")[-1].strip() for ln in lines if ln.startswith("import time:")}
    assert not {"sqlalchemy", "asyncssh", "typer", "pydantic_settings"} & imported


def test_invalid_name_and_label_and_known_host_take_their_paths(db: str) -> None:
    bad = run("bot.entry", db, "triage", "bad$name")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: invalid host name 'bad$name'")
    group = run("bot.entry", db, "triage", "group=none")
    assert group.returncode == 2
    assert group.stderr == "error: no registered host has label group=none\n"


@pytest.mark.lab
def test_registered_host_triage_is_stored_like_the_full_path(
    tmp_path: Path, lab_host: LabHost
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/lab.db"
    add = run(
        "bot.cli", url, "hosts", "add", lab_host.name, "--address", lab_host.address,
        "--key", lab_host.key_path, "--host-key", lab_host.host_key_line,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    full = run("bot.cli", url, "triage", lab_host.name, "--json")
    fast = run("bot.entry", url, "triage", lab_host.name, "--json", importtime=True)
    assert full.returncode == fast.returncode == 0, fast.stderr[-2000:]
    a, b = json.loads(full.stdout), json.loads(fast.stdout)
    assert b["status"] == a["status"] == "ok"
    assert (b["command"], b["target"]) == (a["command"], a["target"]) == ("triage", lab_host.name)
    assert [r["probe"] for r in b["results"]] == [r["probe"] for r in a["results"]]
    assert b["run_id"] == a["run_id"] + 1  # stored, and diffed with the run before it
    assert a["changes"]["previous_run_id"] is None
    assert b["changes"]["previous_run_id"] == a["run_id"]
    # The store was imported on a thread of its own (while the window ran), not before.
    assert "sqlalchemy" in fast.stderr
    history = run("bot.cli", url, "history", lab_host.name, "--json")
    assert [r["run_id"] for r in json.loads(history.stdout)][:2] == [b["run_id"], a["run_id"]]
