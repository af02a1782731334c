"""The settings without pydantic: their defaults, for the CLI's fast paths.

pydantic and pydantic-settings cost ~0.2 s of start-up on a slow machine. When the
environment sets none of them (no TRIAGEBOT_* variable but the database URL, none of
SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, in any case, as pydantic-settings
matches them), the settings are exactly their declared defaults, which DEFAULTS holds;
tests/unit/test_settings_light.py compares every field with `Settings()`, so a changed
default fails there until it is copied here. Anything set -> bot.settings.load_settings,
with its validation and its one-line errors (bot.cli.quick_settings picks).

The few methods Settings has live in SettingsMethods, shared by both.
"""

from __future__ import annotations

import os
from typing import Any, Literal

DATABASE_URL_ENV = "TRIAGEBOT_DATABASE_URL"
SLACK_ENV = frozenset({"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"})

# Every field of bot.settings.Settings but database_url (a computed default), at its default.
DEFAULTS: dict[str, Any] = {
    "port": 3000,
    "slack_api_url": "https://slack.com/api/",
    "log_level": "INFO",
    "log_format": "text",
    "shutdown_grace_s": 20.0,
    "ssh_key_file": None,
    "ssh_known_hosts_file": None,
    "ssh_connect_timeout_s": 5.0,
    "ssh_command_timeout_s": 10.0,
    "ssh_output_cap_bytes": 1000000,
    "ssh_max_channels": 8,
    "max_parallel_hosts": 50,
    "compare_reuse_s": 600.0,
    "disk_warning_pct": 90.0,
    "disk_critical_pct": 95.0,
    "inode_warning_pct": 90.0,
    "inode_critical_pct": 95.0,
    "load_per_core": 1.0,
    "load_per_core_critical": 2.0,
    "cpu_busy_pct": 90.0,
    "steal_warning_pct": 10.0,
    "steal_critical_pct": 25.0,
    "blocked_tasks_warning": 4,
    "blocked_tasks_critical": 16,
    "iowait_warning_pct": 20.0,
    "iowait_critical_pct": 50.0,
    "mem_available_warning_pct": 10.0,
    "mem_available_critical_pct": 5.0,
    "swap_pages_per_s_warning": 256.0,
    "swap_pages_per_s_critical": 2560.0,
    "swap_min_pages": 512,
    "time_wait_port_share_warning_pct": 50.0,
    "time_wait_port_share_critical_pct": 80.0,
    "syn_sent_warning": 10,
    "close_wait_warning": 20,
    "log_repeat_warning": 5,
    "docker_restarts_warning": 3,
    "fd_warning_pct": 90.0,
    "fd_critical_pct": 98.0,
    "conntrack_warning_pct": 90.0,
    "conntrack_critical_pct": 98.0,
    "clock_skew_warning_s": 2.0,
    "clock_skew_critical_s": 30.0,
    "service_restarts_critical": 5,
    "reboot_recent_min": 15.0,
    "sample_window_s": 1.0,
    "log_window_min": 15,
    "log_tail_lines": 1000,
    "http_connect_timeout_s": 5.0,
    "http_read_timeout_s": 10.0,
    "http_total_timeout_s": 20.0,
    "http_slow_threshold_s": 1.0,
    "tls_expiry_warning_days": 14.0,
    "tls_expiry_critical_days": 3.0,
    "ca_file": None,
    "dns_timeout_s": 2.0,
    "alerts_token": None,
    "alerts_user": None,
    "alerts_password": None,
    "alerts_channel": None,
    "alerts_host_label": None,
    "alerts_repeat_interval_s": 600.0,
    "alerts_max_parallel": 4,
    "alerts_max_per_host_hour": 6,
    "alerts_max_body_bytes": 1048576,
    "raw_output_store_bytes": 65536,
    "policy_file": None,
    "admins": "",
    "slack_channel_interval_s": 1.0,
    "slack_retries": 3,
    "slack_rate_limit_retries": 5,
    "slack_retry_backoff_s": 0.5,
    "slack_outbox_interval_s": 30.0,
    "slack_progress_after_s": 5.0,
    "slack_usergroup_cache_s": 300.0,
    "retention_days": 30,
    "retention_batch": 1000,
    "scheduler_tick_s": 30.0,
    "digest_retries": 3,
    "digest_refresh": True,
    "slack_bot_token": None,
    "slack_signing_secret": None,
    "slack_app_token": None,
}


class SettingsMethods:
    """What Settings computes from its fields (no fields here: pydantic declares them)."""

    alerts_token: Any
    alerts_user: str | None
    alerts_password: Any
    admins: str
    slack_bot_token: Any
    slack_signing_secret: Any
    slack_app_token: Any

    def alerts_enabled(self) -> bool:
        """True when the alert receivers have credentials to check."""
        return self.alerts_token is not None or (
            bool(self.alerts_user) and self.alerts_password is not None
        )

    def admin_ids(self) -> frozenset[str]:
        """The admin user ids from TRIAGEBOT_ADMINS."""
        return frozenset(a.strip() for a in self.admins.split(",") if a.strip())

    def slack_mode(self) -> Literal["socket", "http", "console"]:
        """Which transport the tokens allow: Socket Mode, HTTP, or none (console)."""
        if self.slack_bot_token and self.slack_app_token:
            return "socket"
        if self.slack_bot_token and self.slack_signing_secret:
            return "http"
        return "console"


class DefaultSettings(SettingsMethods):
    """Settings at their defaults, with `database_url` (duck-typed as bot.settings.Settings)."""

    def __init__(self, database_url: str) -> None:
        self.__dict__.update(DEFAULTS)
        self.database_url = database_url


def environment_sets_any() -> bool:
    """True when a variable pydantic-settings would read (other than the URL) is set."""
    names = {k.upper() for k in os.environ} - {DATABASE_URL_ENV}
    return bool(names & SLACK_ENV) or any(n.startswith("TRIAGEBOT_") for n in names)
