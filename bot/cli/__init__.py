"""The command line: Typer entry (start, db, ranges), the chat commands, and the console.

`app` and `main` (the console script `bot.cli:main`) load bot.cli.typer_app on first use, so
importing a light part such as bot.cli.common does not pay for the whole Typer app.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    """`bot.cli.app` and `bot.cli.main`, imported when first asked for."""
    if name in __all__:
        from bot.cli import typer_app

        return getattr(typer_app, name)
    raise AttributeError(f"module 'bot.cli' has no attribute {name!r}")
