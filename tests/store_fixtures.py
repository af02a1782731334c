"""Database fixtures: every storage test runs on SQLite and, when configured, on PostgreSQL.

TRIAGEBOT_TEST_POSTGRES_URL set means PostgreSQL must work: an unreachable server is a test
error, never a skip. Each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from bot.store.db import Store

PG_ENV = "TRIAGEBOT_TEST_POSTGRES_URL"


async def _admin(url: str, sql: str, *args: str) -> None:
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username or "postgres",
        password=u.password,
        database=u.database or "postgres",
        timeout=10,
    )
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[str]:
    """A URL to an empty database of this test's own."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/triagebot.db"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    name = f"tb_test_{uuid.uuid4().hex[:12]}"
    await _admin(base, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(
            base, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await _admin(base, f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """A migrated Store on SQLite or PostgreSQL."""
    s = Store(db_url)
    await s.upgrade()
    try:
        yield s
    finally:
        await s.close()
