"""A run recorded by the CLI's fast paths: stdlib sqlite3 first, the ORM when that cannot.

bot.service.record through bot.store.quick_runs (one transaction, the same rows as the ORM's
RunRepo.save: tests/integration/test_dig_store_paths.py); when it stores nothing (the schema
moved, a SQLite error, a value it cannot encode) the ORM path records the same report, and
what fails there fails as it always did (StoreError, one line).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.service import Who
    from bot.settings import Settings
    from commands.report import Report


def fast_store() -> tuple[str, Settings] | None:
    """Where a fast path stores and the settings it runs with: the configured database when
    it is a plain SQLite file at the head revision that this process may write, and the
    settings that name it; None when the full path must run (nothing has run yet)."""
    from bot.cli.quick_settings import settings_for
    from bot.store.quick import database_url
    from bot.store.quick_runs import open_writable

    url = database_url()
    conn = open_writable(url) if url is not None else None
    if url is None or conn is None:
        return None
    conn.close()
    settings = settings_for(url)
    return (url, settings) if settings.database_url == url else None


def record_quick(url: str, report: Report, settings: Settings, who: Who) -> Report | None:
    """bot.service.record through stdlib sqlite3; None when it stored nothing (then the
    caller records through the ORM)."""
    import sqlite3

    from bot.runs.history import diff
    from bot.store.quick_runs import open_writable, previous, save
    from bot.store.run_rows import run_rows

    conn = open_writable(url)
    if conn is None:
        return None
    try:
        report = report.scrubbed()
        changes = diff(report, previous(conn, report.command, report.target))
        rows = run_rows(report, settings.raw_output_store_bytes, who.source, who.requested_by,
                        who.channel)  # fmt: skip
        run_id = save(conn, rows)
    except (sqlite3.Error, TypeError, ValueError):
        # Rolled back: nothing of this run is stored. The ORM path then records it, and
        # what fails there fails as it always did (StoreError, one line).
        return None
    finally:
        conn.close()
    return None if run_id is None else report.with_run(run_id, changes)


def record_either(url: str, report: Report, settings: Settings, who: Who) -> Report:
    """The report stored (with its run id and changes): quick path, else the ORM's."""
    stored = record_quick(url, report, settings, who)
    if stored is None:
        from bot.cli.common import with_store
        from bot.service import record

        stored = with_store(lambda store, s: record(store, report, s, who))
    return stored
