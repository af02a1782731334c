"""Settings: defaults, the Slack mode, and one-line errors naming the variable."""

from __future__ import annotations

import pytest

from bot.settings import load_settings
from ssh_probes.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("TRIAGEBOT_", "SLACK_")):
            monkeypatch.delenv(key)


def test_defaults_are_documented_values() -> None:
    s = load_settings()
    assert s.port == 3000
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    assert s.database_url.endswith("/triagebot/triagebot.db")
    assert (s.disk_warning_pct, s.disk_critical_pct) == (90.0, 95.0)
    assert s.slack_mode() == "console"


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, "socket"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, "http"),
        ({"SLACK_SIGNING_SECRET": "s"}, "console"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "console"),
    ],
    ids=["socket", "http", "secret-without-token", "app-token-without-bot-token"],
)
def test_slack_mode(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], mode: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert load_settings().slack_mode() == mode


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("TRIAGEBOT_PORT", "abc"),
        ("TRIAGEBOT_PORT", "70000"),
        ("TRIAGEBOT_DISK_WARNING_PCT", "-1"),
        ("TRIAGEBOT_DATABASE_URL", "mysql://x"),
        ("TRIAGEBOT_LOG_FORMAT", "xml"),
        ("TRIAGEBOT_SSH_CONNECT_TIMEOUT_S", "0"),
    ],
    ids=["port-not-int", "port-range", "negative-pct", "unknown-db", "log-format", "zero-timeout"],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"{var}: ")
    assert "\n" not in message


def test_secret_tokens_do_not_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    assert "xoxb-very-secret" not in repr(load_settings())


def test_threshold_and_probe_settings_default_to_the_documented_values() -> None:
    from dataclasses import fields

    from bot.service import triage_options
    from ssh_probes.model import ProbeConfig
    from ssh_probes.rules import Thresholds

    opts = triage_options(load_settings())
    assert opts.thresholds == Thresholds()
    assert opts.probe_config == ProbeConfig()
    assert len(fields(Thresholds)) >= 17


def test_threshold_setting_reaches_the_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.service import triage_options

    monkeypatch.setenv("TRIAGEBOT_TIME_WAIT_PORT_SHARE_WARNING_PCT", "30")
    monkeypatch.setenv("TRIAGEBOT_SAMPLE_WINDOW_S", "0.25")
    opts = triage_options(load_settings())
    assert opts.thresholds.time_wait_port_share_warning_pct == 30
    assert opts.probe_config.sample_window_s == 0.25
