"""Settings from the environment: TRIAGEBOT_* for the bot, SLACK_* for Slack's tokens."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.settings_light import SettingsMethods
from bot.store.quick import default_database_url
from ssh_probes.errors import ConfigError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class Settings(SettingsMethods, BaseSettings):
    """Every knob of triagebot, with its documented default."""

    model_config = SettingsConfigDict(
        env_prefix="TRIAGEBOT_", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(default_factory=default_database_url)
    port: int = Field(default=3000, ge=1, le=65535)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    shutdown_grace_s: float = Field(default=20.0, ge=0, le=3600)  # in-flight runs may finish
    # Defaults for hosts registered without --key, and for host keys (hosts add / import).
    ssh_key_file: Path | None = None
    ssh_known_hosts_file: Path | None = None

    # SSH: every connection and command has a timeout and an output cap.
    ssh_connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    ssh_command_timeout_s: float = Field(default=10.0, gt=0, le=600)
    ssh_output_cap_bytes: int = Field(default=1_000_000, ge=1024, le=64_000_000)
    ssh_max_channels: int = Field(default=8, ge=1, le=9)
    max_parallel_hosts: int = Field(default=50, ge=1, le=1000)
    # `triage HOST compare LABEL=VALUE`: a sibling's stored triage younger than this is reused.
    compare_reuse_s: float = Field(default=600.0, ge=0, le=86_400)

    # Thresholds (percent; load per core).
    disk_warning_pct: float = Field(default=90.0, gt=0, le=100)
    disk_critical_pct: float = Field(default=95.0, gt=0, le=100)
    inode_warning_pct: float = Field(default=90.0, gt=0, le=100)
    inode_critical_pct: float = Field(default=95.0, gt=0, le=100)
    load_per_core: float = Field(default=1.0, gt=0)
    load_per_core_critical: float = Field(default=2.0, gt=0)
    cpu_busy_pct: float = Field(default=90.0, ge=0, le=100)
    steal_warning_pct: float = Field(default=10.0, gt=0, le=100)
    steal_critical_pct: float = Field(default=25.0, gt=0, le=100)
    blocked_tasks_warning: int = Field(default=4, ge=1)
    blocked_tasks_critical: int = Field(default=16, ge=1)
    iowait_warning_pct: float = Field(default=20.0, gt=0, le=100)
    iowait_critical_pct: float = Field(default=50.0, gt=0, le=100)
    mem_available_warning_pct: float = Field(default=10.0, ge=0, le=100)
    mem_available_critical_pct: float = Field(default=5.0, ge=0, le=100)
    swap_pages_per_s_warning: float = Field(default=256.0, gt=0)
    swap_pages_per_s_critical: float = Field(default=2560.0, gt=0)
    swap_min_pages: int = Field(default=512, ge=0)
    time_wait_port_share_warning_pct: float = Field(default=50.0, gt=0, le=100)
    time_wait_port_share_critical_pct: float = Field(default=80.0, gt=0, le=100)
    syn_sent_warning: int = Field(default=10, ge=1)
    close_wait_warning: int = Field(default=20, ge=1)
    log_repeat_warning: int = Field(default=5, ge=1)
    docker_restarts_warning: int = Field(default=3, ge=1)
    fd_warning_pct: float = Field(default=90.0, gt=0, le=100)
    fd_critical_pct: float = Field(default=98.0, gt=0, le=100)
    conntrack_warning_pct: float = Field(default=90.0, gt=0, le=100)
    conntrack_critical_pct: float = Field(default=98.0, gt=0, le=100)
    clock_skew_warning_s: float = Field(default=2.0, gt=0)
    clock_skew_critical_s: float = Field(default=30.0, gt=0)
    service_restarts_critical: int = Field(default=5, ge=1)
    reboot_recent_min: float = Field(default=15.0, ge=0, le=10_080)

    # Probe windows.
    sample_window_s: float = Field(default=1.0, gt=0, le=30)
    log_window_min: int = Field(default=15, ge=1, le=10_080)
    log_tail_lines: int = Field(default=1000, ge=1, le=100_000)

    # http: every phase is bounded; http.slow above the threshold.
    http_connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    http_read_timeout_s: float = Field(default=10.0, gt=0, le=600)
    http_total_timeout_s: float = Field(default=20.0, gt=0, le=600)
    http_slow_threshold_s: float = Field(default=1.0, gt=0, le=600)
    # tls.expiring: days left on a served certificate; a private CA's bundle to trust too.
    tls_expiry_warning_days: float = Field(default=14.0, gt=0, le=3650)
    tls_expiry_critical_days: float = Field(default=3.0, ge=0, le=3650)
    ca_file: Path | None = None
    # dig: per-query timeout.
    dns_timeout_s: float = Field(default=2.0, gt=0, le=60)

    # Alert receivers (POST /alerts/alertmanager, /alerts/grafana): off unless a token or a
    # user and password are set.
    alerts_token: SecretStr | None = None
    alerts_user: str | None = None
    alerts_password: SecretStr | None = None
    alerts_channel: str | None = None  # where answers go unless the policy's alerts: routes say
    alerts_host_label: str | None = None  # a label naming the host, tried before host/instance
    alerts_repeat_interval_s: float = Field(default=600.0, ge=0, le=86_400)
    alerts_max_parallel: int = Field(default=4, ge=1, le=100)
    alerts_max_per_host_hour: int = Field(default=6, ge=1, le=1000)
    alerts_max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64_000_000)

    raw_output_store_bytes: int = Field(default=65_536, ge=0, le=16_000_000)

    # Slack app: access policy, posting pace and retries.
    policy_file: Path | None = None  # YAML; unset: every command for everyone but registry edits
    admins: str = ""  # comma-separated Slack user ids allowed to change the registry
    slack_channel_interval_s: float = Field(default=1.0, ge=0, le=60)  # ~1 message/s/channel
    slack_retries: int = Field(default=3, ge=0, le=10)  # 5xx and connection errors
    slack_rate_limit_retries: int = Field(default=5, ge=0, le=20)  # 429, honouring Retry-After
    slack_retry_backoff_s: float = Field(default=0.5, ge=0, le=30)
    slack_outbox_interval_s: float = Field(default=30.0, gt=0, le=3600)
    slack_progress_after_s: float = Field(default=5.0, ge=0, le=600)  # then post "running"
    slack_usergroup_cache_s: float = Field(default=300.0, ge=0, le=86_400)

    # Digests and retention (bot.digests.scheduler).
    retention_days: int = Field(default=30, ge=1, le=3650)  # runs older than this are pruned
    retention_batch: int = Field(default=1000, ge=1, le=100_000)  # run ids per delete
    scheduler_tick_s: float = Field(default=30.0, gt=0, le=3600)  # how often slots are checked
    digest_retries: int = Field(default=3, ge=0, le=20)  # further attempts after a failed post
    digest_refresh: bool = True  # triage watched hosts and dig watched domains before a digest

    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN")
    )

    @field_validator("ca_file")
    @classmethod
    def _ca_bundle(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        try:
            ssl.create_default_context(cafile=str(value))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"not a readable PEM CA bundle: {value} ({exc})") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")
        return value


def _env_name(loc: tuple[Any, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    if field.startswith("slack_") and field != "slack_api_url":
        return field.upper()
    return f"TRIAGEBOT_{field.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Read settings; a wrong value is a ConfigError naming the variable, in one line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"{_env_name(tuple(err['loc']))}: {err['msg']}") from None
