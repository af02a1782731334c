"""What every `triagebot` command shares: the database around a command, JSON output."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from bot.cli.output import print_json as print_json

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store.db import Store

T = TypeVar("T")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
WORDS = {"allow_extra_args": True, "ignore_unknown_options": True}


def with_store(work: Callable[[Store, Settings], Awaitable[T]], migrate: bool = True) -> T:
    """Open the configured database (migrating it if behind), run `work`, close."""
    import asyncio

    from bot.settings import load_settings
    from bot.store.db import Store

    settings = load_settings()

    async def go() -> T:
        store = Store(settings.database_url)
        try:
            if migrate:
                await store.ensure_schema()
            return await work(store, settings)
        finally:
            await store.close()

    return asyncio.run(go())
