"""TRIAGEBOT_DATABASE_URL as people write it: a URL without the async driver works, a sync
driver is a one-line error (it was SQLAlchemy's "requires an async driver" traceback)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import asyncssh
import pytest

from bot.store.db import Store
from ssh_probes.errors import StoreError

ROOT = Path(__file__).resolve().parents[2]


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_"))}
    env["TRIAGEBOT_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("scheme", ["sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"])
def test_a_sqlite_url_without_the_async_driver_works(tmp_path: Path, scheme: str) -> None:
    db = tmp_path / "t.db"
    up = _cli(f"{scheme}:///{db}", "db", "upgrade")
    assert up.returncode == 0 and up.stderr == "", up.stderr
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    added = _cli(f"{scheme}:///{db}", "hosts", "add", "web-1", "--address", "192.0.2.7",
                 "--host-key", key)  # fmt: skip
    assert added.returncode == 0, added.stderr
    rows = sqlite3.connect(db).execute("SELECT name FROM hosts").fetchall()
    assert rows == [("web-1",)]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql+psycopg2://u@127.0.0.1/test", "driver 'psycopg2' is not async"),
        ("sqlite+pysqlcipher:///x.db", "driver 'pysqlcipher' is not async"),
    ],
)
def test_a_sync_driver_is_a_one_line_error_and_changes_nothing(
    tmp_path: Path, url: str, says: str
) -> None:
    out = _cli(url, "db", "upgrade")
    assert out.returncode != 0 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and says in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    with pytest.raises(StoreError, match=says):
        Store(url)


def test_the_engine_gets_the_async_driver() -> None:
    assert Store("sqlite:///:memory:").engine.url.drivername == "sqlite+aiosqlite"
    pg = Store("postgresql://postgres@127.0.0.1:5432/test")
    assert pg.engine.url.drivername == "postgresql+asyncpg"
    with pytest.raises(StoreError, match="'mysql' is not supported"):
        Store("mysql://u@h/db")
