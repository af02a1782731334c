"""Read the previous run and store a new one with stdlib sqlite3: the CLI's write path.

`triagebot dig` records every run; through the ORM (bot.store.runs) that costs SQLAlchemy's
imports, more than the DNS questions themselves. For the default SQLite file at the head
revision this module reads and writes the same rows with the standard library, encoded as
SQLAlchemy encodes them for SQLite (datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC,
booleans as 0/1, JSON through json.dumps), the values coming from bot.store.run_rows like
the ORM's. Anything else (PostgreSQL, a URL with options, no file yet, an older schema)
gets None: the caller takes the ORM path, which migrates and stores as before.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.store.quick import at_head, sqlite_file
from bot.store.run_rows import PastRun, Row, RunRows

# Every column RunRepo.save gives a value (the ORM inserts exactly these), per table.
INSERTS = {
    "runs": "INSERT INTO runs (command, target, status, started_at, duration_ms, source,"
    " requested_by, channel, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "probe_results": "INSERT INTO probe_results (run_id, probe, area, host, ok, facts, error,"
    " duration_ms, raw, truncated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "findings": "INSERT INTO findings (run_id, code, severity, title, detail, evidence,"
    " suggestion, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "disk_points": "INSERT INTO disk_points (run_id, host, at, use_pct, inode_pct)"
    " VALUES (?, ?, ?, ?, ?)",
}
COLUMNS = {
    table: tuple(sql.partition("(")[2].partition(")")[0].split(", "))
    for table, sql in INSERTS.items()
}
JSON_COLUMNS = frozenset({"facts", "evidence", "use_pct", "inode_pct"})


def open_writable(url: str) -> sqlite3.Connection | None:
    """The SQLite file of `url` opened for writing, as bot.store.db opens it (foreign keys,
    WAL, 15 s busy timeout), when it exists and is at the head revision; else None."""
    path = sqlite_file(url)
    if path is None:
        return None
    try:
        # mode=rw: never creates a file (a new database is the ORM path's, which migrates).
        conn = sqlite3.connect(
            f"file:{quote(str(path))}?mode=rw", uri=True, timeout=15, isolation_level=None
        )
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=15000")
        if at_head(conn):
            return conn
    except sqlite3.Error:
        pass
    conn.close()
    return None


def stored_datetime(value: datetime) -> str:
    """A datetime as the store's UTCDateTime column holds it in SQLite."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use datetime.now(UTC)")
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


def _loaded_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _encoded(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS:
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return stored_datetime(value)
    return value


def previous(conn: sqlite3.Connection, command: str, target: str) -> PastRun | None:
    """The latest stored run of `command` on `target` (RunRepo.previous's answer)."""
    conn.execute("BEGIN")
    try:
        run = conn.execute(
            "SELECT id, started_at, status FROM runs WHERE command = ? AND target = ?"
            " ORDER BY started_at DESC, id DESC LIMIT 1",
            (command, target),
        ).fetchone()
        if run is None:
            return None
        rows = conn.execute("SELECT code, host FROM findings WHERE run_id = ?", (run[0],))
        codes = frozenset((code, host) for code, host in rows)
        facts = conn.execute(
            "SELECT probe, facts FROM probe_results WHERE run_id = ? AND ok IS 1", (run[0],)
        )
        return PastRun(
            run[0], _loaded_datetime(run[1]), run[2], codes,
            {p: json.loads(f) for p, f in facts},
        )  # fmt: skip
    finally:
        conn.execute("COMMIT")


def _insert(conn: sqlite3.Connection, table: str, row: Row) -> int:
    cur = conn.execute(INSERTS[table], tuple(_encoded(n, row[n]) for n in COLUMNS[table]))
    assert cur.lastrowid is not None
    return cur.lastrowid


def save(conn: sqlite3.Connection, rows: RunRows) -> int | None:
    """Store the run and its rows in one transaction; the run id, or None (nothing stored)
    when the schema is no longer at the head revision. Any error rolls everything back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not at_head(conn):
            conn.execute("ROLLBACK")
            return None
        run_id = _insert(conn, "runs", rows.run)
        for table, children in (
            ("probe_results", rows.results),
            ("findings", rows.findings),
            ("disk_points", rows.disk_points),
        ):
            for child in children:
                _insert(conn, table, {**child, "run_id": run_id})
        conn.execute("COMMIT")
        return run_id
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
