"""`history TARGET` matches TARGET and `TARGET ...` literally: `_` and `%` are no wildcards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store.db import Store
from bot.store.runs import RunRepo
from commands.report import Report


async def test_prefix_search_escapes_like_wildcards(store: Store) -> None:
    repo = RunRepo(store)
    now = datetime.now(UTC)
    for target in ("web_1", "web_1 port 443", "webx1 port 443", "db%", "db-9 port 5432"):
        await repo.save(Report("triage", target, "ok", now, 1))
    since = now - timedelta(hours=1)
    assert sorted(r.target for r in await repo.history("web_1", since)) == [
        "web_1", "web_1 port 443"
    ]  # fmt: skip
    assert [r.target for r in await repo.history("db%", since)] == ["db%"]
