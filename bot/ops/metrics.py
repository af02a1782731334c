"""Prometheus metrics of the served bot, exposed on GET /metrics.

Only the server imports this module (prometheus_client costs ~40 ms to import, which the
CLI does not pay). Reports are observed through the served Store's report_observers, which
install(store) fills where the server is built, so the probes package knows nothing of metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from commands.report import Report
from ssh_probes.executor import open_ssh_connections

if TYPE_CHECKING:
    from bot.store.db import Store

COMMANDS = Counter("triagebot_commands", "Commands by name and outcome.", ["command", "outcome"])
ACK_SECONDS = Histogram(
    "triagebot_ack_seconds",
    "Time from a Slack request reaching the bot to its ack.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0),
)
PROBE_SECONDS = Histogram(
    "triagebot_probe_duration_seconds",
    "Probe durations by probe.",
    ["probe"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
FINDINGS = Counter(
    "triagebot_findings", "Findings reported, by code and severity.", ["code", "severity"]
)
SLACK_ERRORS = Counter(
    "triagebot_slack_api_errors", "Slack Web API calls that failed (after retries), by method.",
    ["method"],
)  # fmt: skip
SSH_OPEN = Gauge("triagebot_ssh_connections_open", "SSH connections open right now.")
SSH_OPEN.set_function(open_ssh_connections)
RUNS_IN_FLIGHT = Gauge("triagebot_runs_in_flight", "Commands running right now.")


def command(name: str, outcome: str) -> None:
    """Count one command with how it ended."""
    COMMANDS.labels(name, outcome).inc()


def observe_report(report: Report) -> None:
    """Count a stored report's findings and observe its probes' durations."""
    for result in report.results:
        PROBE_SECONDS.labels(result.probe).observe(result.duration_ms / 1000)
    for finding in report.findings:
        FINDINGS.labels(finding.code, finding.severity).inc()


def slack_error(method: str) -> None:
    """Count one failed Slack Web API call."""
    SLACK_ERRORS.labels(method).inc()


def ack_seconds(seconds: float) -> None:
    """Observe how long one Slack request took to be acked."""
    ACK_SECONDS.observe(seconds)


def install(store: Store) -> None:
    """Observe every report bot.service stores into this store (idempotent)."""
    if observe_report not in store.report_observers:
        store.report_observers.append(observe_report)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
