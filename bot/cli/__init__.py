"""The command line: Typer entry (start, db, ranges), the chat commands, and the console."""

from bot.cli.main import app, main

__all__ = ["app", "main"]
