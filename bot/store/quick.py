"""A thin read of the host registry with stdlib sqlite3, for the CLI's error paths.

`triagebot triage nosuchhost` should answer at Python's start-up speed, not after importing
SQLAlchemy's ORM, the async dialect and asyncssh (~0.5 s of CPU). This reads one SQLite
file read-only; whenever it cannot answer for sure (PostgreSQL, a URL with options, no file
yet, a schema that is not at the head revision, any SQLite error) it says so and the caller
takes the full path, which migrates and reads through the store as before.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from ssh_probes.model import LOCAL_HOST

if TYPE_CHECKING:
    from commands.hosts import HostSpec
    from ssh_probes.errors import InputError

T = TypeVar("T")
VERSIONS = Path(__file__).parent / "migrations" / "versions"
_SCHEMES = ("sqlite://", "sqlite+aiosqlite://", "sqlite+pysqlite://")


def default_database_url() -> str:
    """A SQLite file under the user data directory (created on first use)."""
    from platformdirs import user_data_dir

    path = Path(user_data_dir("triagebot", appauthor=False)) / "triagebot.db"
    return f"sqlite+aiosqlite:///{path}"


def database_url() -> str | None:
    """TRIAGEBOT_DATABASE_URL as the settings read it (any case), or its default.

    None when the environment is ambiguous (the same name in two cases): let the settings
    decide. Reading it here, not through pydantic-settings, saves ~0.1 s of start-up.
    """
    found = [v for k, v in os.environ.items() if k.upper() == "TRIAGEBOT_DATABASE_URL"]
    if len(found) > 1:
        return None
    return found[0] if found else default_database_url()


def unknown_host_message(name: str, registered: list[str]) -> str:
    """The one-line error for an unknown host (the store's path says the same)."""
    known = ", ".join([LOCAL_HOST, *registered])
    return f"unknown host {name!r}; registered: {known}"


@cache
def head_revision() -> str:
    """The newest migration's revision: the file names start with it (0006_alerts.py)."""
    return max(p.name[:4] for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


def at_head(conn: sqlite3.Connection) -> bool:
    """True when the SQLite database on `conn` is at the newest migration."""
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row is not None and row[0] == head_revision()


def sqlite_file(url: str) -> Path | None:
    """The file of a plain SQLite URL, or None when this module should not read it."""
    scheme, sep, rest = url.partition(":///")
    if not sep or f"{scheme}://" not in _SCHEMES or not rest or "?" in rest or "%" in rest:
        return None
    if rest == ":memory:":
        return None
    path = Path(rest).expanduser()
    return path if path.is_file() else None


def _read(url: str, work: Callable[[sqlite3.Connection], T | None]) -> T | None:
    """`work` on the SQLite file read-only, when it is at the head revision; else None."""
    path = sqlite_file(url)
    if path is None:
        return None
    try:
        # mode=ro: this path never creates, migrates or writes anything.
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        return None
    try:
        return work(conn) if at_head(conn) else None
    except (sqlite3.Error, ValueError, TypeError):
        return None
    finally:
        conn.close()


def registered_names(url: str, name: str) -> list[str] | None:
    """Every registered name when `name` is NOT registered; None when it is, or when unsure.

    None means "take the full path": the host exists, or this read could not tell.
    """

    def names(conn: sqlite3.Connection) -> list[str] | None:
        if conn.execute("SELECT 1 FROM hosts WHERE name = ?", (name,)).fetchone():
            return None
        return [r[0] for r in conn.execute("SELECT name FROM hosts ORDER BY name")]

    return _read(url, names)


_SPEC_COLUMNS = (
    "SELECT name, address, port, user, key_path, host_keys, expect_ports, logs, labels FROM hosts"
)


def _spec(row: tuple[Any, ...]) -> HostSpec:
    """A hosts row as HostRepo gives it."""
    from commands.hosts import HostSpec

    keys, ports, logs, labels = (json.loads(v) for v in row[5:9])
    return HostSpec(
        name=row[0], address=row[1], port=row[2], user=row[3], key_path=row[4],
        host_keys=tuple(keys), expect_ports=tuple(ports), logs=tuple(logs),
        labels=dict(labels),
    )  # fmt: skip


def host_spec(url: str, name: str) -> HostSpec | None:
    """The registered host `name` as HostRepo.get gives it; None when absent or unsure."""

    def spec(conn: sqlite3.Connection) -> HostSpec | None:
        row = conn.execute(f"{_SPEC_COLUMNS} WHERE name = ?", (name,)).fetchone()
        return None if row is None else _spec(row)

    return _read(url, spec)


def host_specs(url: str) -> list[HostSpec] | None:
    """Every registered host sorted by name, as HostRepo.list gives them; None when unsure."""
    return _read(
        url, lambda conn: [_spec(r) for r in conn.execute(f"{_SPEC_COLUMNS} ORDER BY name")]
    )


def unknown_host(host: str) -> InputError | None:
    """The error `triage HOST` ends with when HOST is surely not registered, else None.

    An invalid name gets triage.parse's own error; `local`, label selectors and anything the
    thin read cannot tell for sure get None (the full path decides).
    """
    from commands.validate import host_name
    from ssh_probes.errors import InputError

    if "=" in host:
        return None  # a label selector: the full path reads every host
    try:
        name = host_name(host)  # the same check and message as triage.parse
    except InputError as exc:
        return exc
    if name == LOCAL_HOST:
        return None
    url = database_url()
    names = registered_names(url, name) if url is not None else None
    return InputError(unknown_host_message(name, names)) if names is not None else None
