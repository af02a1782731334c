"""Retention: delete runs older than the cutoff in batches (results and findings cascade)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

from bot.store.db import Store
from bot.store.digest_rows import DigestPostRow
from bot.store.models import RunRow


async def prune(store: Store, cutoff: datetime, batch: int = 1000, max_batches: int = 1000) -> int:
    """Delete runs started before `cutoff`, `batch` ids per transaction; returns how many.

    Short transactions keep writers (new runs, claims) from waiting behind one huge delete.
    Old digest claims go too, except each schedule's latest (the next digest's baseline).
    """
    total = 0
    for _ in range(max_batches):
        async with store.session() as session:
            ids = list(
                await session.scalars(
                    select(RunRow.id)
                    .where(RunRow.started_at < cutoff)
                    .order_by(RunRow.started_at)
                    .limit(batch)
                )
            )
            if not ids:
                break
            await session.execute(delete(RunRow).where(RunRow.id.in_(ids)))
            total += len(ids)
        if len(ids) < batch:
            break
    latest = select(func.max(DigestPostRow.id)).group_by(DigestPostRow.schedule_id)
    async with store.session() as session:
        await session.execute(
            delete(DigestPostRow).where(
                DigestPostRow.slot < cutoff,
                DigestPostRow.id.not_in(latest.scalar_subquery()),
            )
        )
    return total
