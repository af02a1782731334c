"""Value sets the chart must refuse to render, each with a message saying what to change."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.helm.helmrun import Helm, obtain_helm
from tests.helm.test_chart import HTTP, SOCKET, SQLITE


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """The real helm binary with a private home."""
    return Helm(obtain_helm(), tmp_path_factory.mktemp("helm-home"))


def changed(base: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A deep copy of `base` with top-level keys replaced (dicts merged one level down)."""
    values = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    return values


REFUSED = [
    (
        changed(SQLITE, replicaCount=2),
        "database.sqlite.enabled allows exactly 1 replica (replicaCount is 2)",
    ),
    (
        changed(SOCKET, database={"url": "sqlite+aiosqlite:////data/t.db"}),
        "a SQLite database.url needs database.sqlite.enabled=true",
    ),
    (changed(SOCKET, database={"url": ""}), "database.url is required"),
    (changed(SOCKET, ingress={"enabled": True}), "ingress.enabled needs mode=http"),
    (changed(SOCKET, mode="webhook"), 'mode must be "socket" or "http", not "webhook"'),
    (changed(SOCKET, replicaCount=11), "Socket Mode allows at most 10 connections"),
    (changed(SOCKET, slack={"appToken": ""}), "slack.appToken is required in Socket Mode"),
    (
        changed(HTTP, slack={"appToken": "xapp-1"}),
        "slack.appToken would switch the bot to Socket Mode",
    ),
    (changed(HTTP, slack={"signingSecret": ""}), "slack.signingSecret is required in HTTP mode"),
    (changed(SOCKET, ssh={"knownHosts": ""}), "host keys are always pinned"),
    (
        changed(SOCKET, settings={"SLACK_BOT_TOKEN": "xoxb-leak"}),
        "only TRIAGEBOT_* settings belong here",
    ),
    (
        changed(SOCKET, settings={"TRIAGEBOT_DATABASE_URL": "postgresql://x"}),
        "settings.TRIAGEBOT_DATABASE_URL is set by the chart",
    ),
    (
        changed(SOCKET, existingSecret="ops-triagebot"),
        "existingSecret is set: leave slack.*, database.url",
    ),
    (
        changed(SOCKET, podDisruptionBudget={"minAvailable": 1}),
        "set maxUnavailable or minAvailable, not both",
    ),
]


@pytest.mark.parametrize(
    ("values", "message"),
    REFUSED,
    ids=[
        "sqlite-two-replicas",
        "sqlite-url-without-volume",
        "no-database",
        "ingress-in-socket-mode",
        "unknown-mode",
        "socket-eleven-replicas",
        "socket-without-app-token",
        "http-with-app-token",
        "http-without-signing-secret",
        "ssh-without-known-hosts",
        "slack-token-in-settings",
        "database-url-in-settings",
        "existing-secret-and-inline-secrets",
        "pdb-both-bounds",
    ],
)
def test_refused_with_a_clear_message(helm: Helm, values: dict[str, Any], message: str) -> None:
    assert message in helm.template_error(values)


def test_sqlite_single_replica_is_accepted(helm: Helm) -> None:
    # The refusal above is about the replica count, not SQLite itself.
    docs = helm.template(changed(SQLITE, replicaCount=1))
    assert any(d["kind"] == "PersistentVolumeClaim" for d in docs)
