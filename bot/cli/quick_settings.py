"""The settings a CLI fast path runs with: the defaults without pydantic when the
environment sets nothing (bot.settings_light), else the real ones."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from bot.settings_light import DefaultSettings, environment_sets_any

if TYPE_CHECKING:
    from bot.settings import Settings


def settings_for(url: str) -> Settings:
    """The defaults when the environment sets nothing but the database URL (read as `url`),
    else load_settings() itself, with its validation and its one-line errors."""
    if not environment_sets_any():
        return cast("Settings", DefaultSettings(url))  # duck-typed: every field, same values
    from bot.settings import load_settings

    return load_settings()
