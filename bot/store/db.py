"""Engine, sessions and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ssh_probes.errors import StoreError
from ssh_probes.redact import redact

if TYPE_CHECKING:
    from commands.report import Report

HEAD_REVISION = "0006"
MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Cascading deletes need foreign keys on; WAL lets readers run during a write.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    # As long as the driver's own connect timeout (15 s): a loaded machine can hold the write
    # lock for seconds, and "database is locked" would lose a Slack delivery.
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return redact(url)


# The async driver of each database this store knows. A URL without a driver (`sqlite:///f`,
# `postgresql://u@h/db`, as people write them) gets it; SQLite's sync pysqlite names the same
# file and is swapped too (the CLI's fast path reads such a URL with sqlite3). Any other
# driver is a one-line error, not SQLAlchemy's "requires an async driver" traceback.
ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}


def _async_driver(parsed: URL, url: str) -> URL:
    backend = parsed.get_backend_name()
    wanted = ASYNC_DRIVERS.get(backend)
    if wanted is None:
        raise StoreError(
            f"database URL {describe_url(url)!r}: {backend!r} is not supported; "
            "use sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    driver = parsed.drivername.partition("+")[2]
    if driver in ("", wanted) or (backend == "sqlite" and driver == "pysqlite"):
        return parsed.set(drivername=f"{backend}+{wanted}")
    raise StoreError(
        f"database URL {describe_url(url)!r}: driver {driver!r} is not async; "
        f"use {backend}+{wanted}://"
    )


class Store:
    """One database: an async engine plus a session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except Exception as exc:
            raise StoreError(f"invalid database URL {redact(url)!r}: {exc}") from None
        parsed = _async_driver(parsed, url)
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs = {"connect_args": {"timeout": 15}}
        else:
            kwargs["connect_args"] = {"timeout": 5, "command_timeout": 30}
        self.engine: AsyncEngine = create_async_engine(parsed, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Called with every report bot.service.record stores: the server adds its metrics
        # (bot.ops.health.add_routes), so the CLI pays nothing for them.
        self.report_observers: list[Callable[[Report], None]] = []

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on any error."""
        try:
            async with self.sessions() as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(self.explain(exc)) from exc
        except OSError as exc:
            raise StoreError(self.explain(exc)) from exc

    def explain(self, exc: BaseException) -> str:
        """One line naming the database (password hidden) and the first line of the cause."""
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        first = reason[0] if reason else type(exc).__name__
        return f"database {describe_url(self.url)}: {redact(first)}"

    async def revision(self) -> str | None:
        """The applied schema revision, or None for an empty database."""
        try:
            async with self.engine.connect() as conn:
                has = await conn.run_sync(lambda c: c.dialect.has_table(c, "alembic_version"))
                if not has:
                    return None
                row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
                return str(row[0]) if row else None
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(self.explain(exc)) from exc

    async def upgrade(self, revision: str = "head") -> str:
        """Apply pending migrations up to `revision`; returns the revision now in place."""

        def _run(conn: Connection) -> None:
            from alembic import command
            from alembic.config import Config

            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

        try:
            async with self.engine.begin() as conn:
                await conn.run_sync(_run)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(self.explain(exc)) from exc
        return HEAD_REVISION if revision == "head" else revision

    async def ensure_schema(self) -> None:
        """Migrate when the schema is behind; cheap when it is current (no Alembic import)."""
        if await self.revision() != HEAD_REVISION:
            await self.upgrade()

    async def close(self) -> None:
        """Dispose of the engine's connections."""
        await self.engine.dispose()


def open_store(url: str | None = None) -> Store:
    """A Store for `url`, or for the configured TRIAGEBOT_DATABASE_URL."""
    if url is None:
        from bot.settings import load_settings

        url = os.environ.get("TRIAGEBOT_DATABASE_URL") or load_settings().database_url
    return Store(url)
