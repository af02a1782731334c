"""The settings without pydantic (bot.settings_light) are Settings' own defaults, field by field."""

from __future__ import annotations

import os

import pytest

from bot.cli.quick_settings import settings_for
from bot.settings import Settings
from bot.settings_light import DEFAULTS, DefaultSettings, environment_sets_any

URL = "sqlite+aiosqlite:////tmp/triagebot-light.db"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.upper().startswith(("TRIAGEBOT_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRIAGEBOT_DATABASE_URL", URL)
    return monkeypatch


def test_every_field_is_the_declared_default(clean_env: pytest.MonkeyPatch) -> None:
    real, light = Settings(), DefaultSettings(URL)
    assert set(Settings.model_fields) == {*DEFAULTS, "database_url"}
    for name in Settings.model_fields:
        assert getattr(light, name) == getattr(real, name), name
        assert type(getattr(light, name)) is type(getattr(real, name)), name
    assert light.admin_ids() == real.admin_ids() == frozenset()
    assert light.slack_mode() == real.slack_mode() == "console"
    assert light.alerts_enabled() is real.alerts_enabled() is False


def test_no_variable_means_the_defaults(clean_env: pytest.MonkeyPatch) -> None:
    assert not environment_sets_any()
    assert isinstance(settings_for(URL), DefaultSettings)


@pytest.mark.parametrize(
    "name",
    ["TRIAGEBOT_ADMINS", "triagebot_sample_window_s", "SLACK_BOT_TOKEN", "slack_app_token",
     "Slack_Signing_Secret", "TRIAGEBOT_NOT_A_SETTING"],
)  # fmt: skip
def test_any_variable_means_the_real_settings(clean_env: pytest.MonkeyPatch, name: str) -> None:
    clean_env.setenv(name, "U1" if "ADMINS" in name.upper() else "1")
    assert environment_sets_any()
    settings = settings_for(URL)
    assert isinstance(settings, Settings)
    assert settings.database_url == URL


def test_a_bad_variable_is_the_real_one_line_error(clean_env: pytest.MonkeyPatch) -> None:
    from ssh_probes.errors import ConfigError

    clean_env.setenv("TRIAGEBOT_SAMPLE_WINDOW_S", "soon")
    with pytest.raises(ConfigError, match=r"^TRIAGEBOT_SAMPLE_WINDOW_S: "):
        settings_for(URL)
