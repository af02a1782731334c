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

from bot.cli.dig_fast import dig_words
from bot.cli.triage_fast import triage_word as triage_host_word
from bot.store.db import HEAD_REVISION, Store
from bot.store.hosts import HostRepo
from bot.store.quick import head_revision, registered_names, unknown_host
from commands.hosts import HostSpec
from ssh_probes.errors import InputError
from tests.lab.bind import BindLab
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
    module: str, url: str, *args: str, importtime: bool = False, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_"))}
    env["TRIAGEBOT_DATABASE_URL"] = url
    env.update({f"TRIAGEBOT_{k.upper()}": v for k, v in settings.items()})
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
    # Stored through stdlib sqlite3: neither the ORM nor Typer nor pydantic was loaded.
    assert not {"sqlalchemy", "alembic", "typer", "pydantic", "pydantic_settings"} & imported(fast)
    history = run("bot.cli", url, "history", lab_host.name, "--json")
    assert [r["run_id"] for r in json.loads(history.stdout)][:2] == [b["run_id"], a["run_id"]]


# What `triagebot dig` must not load: the full CLI (Typer, pydantic-settings), the ORM and
# migrations, SSH, HTTP, the policy's YAML, Slack, the host checks, and rich for --json.
DIG_NEVER = {"sqlalchemy", "alembic", "typer", "pydantic", "pydantic_settings", "asyncssh",
             "httpx", "yaml", "slack_sdk", "aiohttp", "ssh_probes.checks", "rich"}  # fmt: skip


def imported(proc: subprocess.CompletedProcess[str]) -> set[str]:
    lines = proc.stderr.splitlines()
    return {ln.split("|")[-1].strip() for ln in lines if ln.startswith("import time:")}


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The last stderr line that is not -X importtime's."""
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("import time:")]
    return lines[-1] if lines else ""


def test_dig_argv_shapes() -> None:
    assert dig_words(["dig", "example.com", "--json"]) == ["example.com"]
    assert dig_words(["dig", "--json", "example.com", "A", "@1.1.1.1", "--trace"]) == [
        "example.com", "A", "@1.1.1.1", "--trace"
    ]  # fmt: skip
    assert dig_words(["dig", "x", "--from", "db-1"]) == ["x", "--from", "db-1"]
    assert dig_words(["dig", "x", "--from=db-1"]) == ["x", "--from=db-1"]
    for other in (["dig", "--help"], ["dig", "x", "--"], ["dig", "x", "-t"], ["dig", "x",
                  "--json=1"], ["dig", "-oProxyCommand=x"], ["triage", "x"], []):  # fmt: skip
        assert dig_words(other) is None, other


@pytest.mark.parametrize(
    ("args", "fast"),
    [
        (("dig", "exa;mple.com"), True),
        (("dig", "a" * 64 + ".com"), True),
        (("dig", "example.test", "@999.1.1.1"), True),
        (("dig", "example.test", "@127.0.0.1:0"), True),
        (("dig", "example.test", "--from", "nope"), True),
        (("dig", "example.test", "--from=NOPE", "--json"), True),
        (("dig", "example.test", "--from"), True),
        (("dig", "example.test", "--from", "bad$name"), True),
        (("dig",), True),
        (("dig", "a.test", "b.test"), True),
        (("dig", "-oProxyCommand=x"), False),  # an option dig.parse refuses: the full path
        (("dig", "example.test", "--json=1"), False),  # Typer's own error
        (("dig", "example.test", "--trace", "--bogus"), False),
    ],
)
def test_dig_errors_are_the_full_paths(db: str, args: tuple[str, ...], fast: bool) -> None:
    full = run("bot.cli", db, *args)
    quick = run("bot.entry", db, *args, importtime=True)
    assert full.returncode == quick.returncode == 2
    assert full.stdout == quick.stdout == ""
    assert error_line(quick) == full.stderr.splitlines()[-1]
    if fast:
        assert error_line(quick).startswith("error: ")
        assert not DIG_NEVER & imported(quick)
    else:
        assert "typer" in imported(quick)


def test_dig_help_and_bad_settings_take_the_full_path(db: str) -> None:
    full, quick = run("bot.cli", db, "dig", "--help"), run("bot.entry", db, "dig", "--help")
    assert quick.returncode == full.returncode == 0 and quick.stdout == full.stdout
    full = run("bot.cli", db, "dig", "example.test", dns_timeout_s="abc")
    quick = run("bot.entry", db, "dig", "example.test", importtime=True, dns_timeout_s="abc")
    assert quick.returncode == full.returncode == 2
    assert error_line(quick) == full.stderr.strip()
    assert error_line(quick).startswith("error: TRIAGEBOT_DNS_TIMEOUT_S:")


def test_dig_on_a_store_behind_takes_the_full_path(tmp_path: Path) -> None:
    """The full path migrates the store, then runs and records the dig."""
    url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    subprocess.run(
        [sys.executable, "-c", "import asyncio; from bot.store.db import Store; "
         f"s = Store({url!r}); asyncio.run(s.upgrade('0005')); asyncio.run(s.close())"],
        cwd=ROOT, check=True, timeout=60,
    )  # fmt: skip
    # Port 9 (discard) on loopback: nothing answers, a dns.timeout, quickly.
    out = run("bot.entry", url, "dig", "example.test", "@127.0.0.1:9", "--json",
              importtime=True, dns_timeout_s="0.2")  # fmt: skip
    assert out.returncode == 0, error_line(out)
    assert {"sqlalchemy", "typer"} <= imported(out)
    assert json.loads(out.stdout)["run_id"] == 1
    conn = sqlite3.connect(url.split(":///", 1)[1])
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD_REVISION
    conn.close()


def test_dig_is_run_and_stored_without_orm(db: str, bind_lab: BindLab) -> None:
    """The same report as the full path's, stored in the same store and diffed with it."""
    args = ("dig", "www.split.test", f"@{bind_lab['ns1'].address}:{bind_lab.port}")
    full = run("bot.cli", db, *args, "--json")
    fast = run("bot.entry", db, *args, "--json", importtime=True)
    assert full.returncode == fast.returncode == 0, error_line(fast)
    assert not DIG_NEVER & imported(fast)
    a, b = json.loads(full.stdout), json.loads(fast.stdout)
    same = ("command", "target", "status", "redacted")
    assert {k: b[k] for k in same} == {k: a[k] for k in same}
    assert [(f["code"], f["title"]) for f in b["findings"]] == [
        (f["code"], f["title"]) for f in a["findings"]
    ]
    assert [r["probe"] for r in b["results"]] == [r["probe"] for r in a["results"]]
    assert b["run_id"] == a["run_id"] + 1
    assert b["changes"]["previous_run_id"] == a["run_id"]
    assert b["changes"]["still"] == sorted({f["code"] for f in a["findings"]})
    text = run("bot.entry", db, *args, importtime=True)  # the terminal rendering
    assert text.returncode == 0 and "www.split.test" in text.stdout
    assert "rich" in imported(text) and not (DIG_NEVER - {"rich"}) & imported(text)
    # A setting in the environment: pydantic-settings reads it, the store is still sqlite3's.
    tuned = run("bot.entry", db, *args, "--json", importtime=True, dns_timeout_s="1.5")
    assert tuned.returncode == 0 and "pydantic_settings" in imported(tuned)
    assert not {"sqlalchemy", "typer"} & imported(tuned)
    history = run("bot.cli", db, "history", "www.split.test", "--json")
    assert [r["run_id"] for r in json.loads(history.stdout)] == [
        b["run_id"] + 2, b["run_id"] + 1, b["run_id"], a["run_id"]
    ]  # fmt: skip


def test_dig_from_a_host_is_the_full_paths(db: str, bind_lab: BindLab) -> None:
    """--from local: the same results and findings as the full path (the lookup runs here)."""
    args = ("dig", "www.split.test", f"@{bind_lab['ns1'].address}:{bind_lab.port}",
            "--from", "local", "--json")  # fmt: skip
    full, fast = run("bot.cli", db, *args), run("bot.entry", db, *args, importtime=True)
    assert full.returncode == fast.returncode == 0, error_line(fast)
    assert not {"sqlalchemy", "typer", "pydantic_settings"} & imported(fast)
    a, b = json.loads(full.stdout), json.loads(fast.stdout)
    assert [r["probe"] for r in b["results"]] == [r["probe"] for r in a["results"]]
    assert "dig:from local" in [r["probe"] for r in b["results"]]
    assert [f["code"] for f in b["findings"]] == [f["code"] for f in a["findings"]]
    assert b["changes"]["previous_run_id"] == a["run_id"]
