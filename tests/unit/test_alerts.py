"""Alert payloads, routing and receiver authentication, on the documented payload shapes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.alerts.payload import PayloadError, parse
from bot.alerts.receiver import authorized
from bot.alerts.routing import Target, load_route, mapping_hint, target_for
from bot.settings import Settings
from commands.hosts import HostSpec
from ssh_probes.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alerts"
HOSTS = [
    HostSpec(name="web-1", address="198.18.0.2"),
    HostSpec(name="db-1", address="10.0.0.7"),
]


def body(name: str, **subst: str) -> bytes:
    text = (FIXTURES / name).read_text()
    for key, value in subst.items():
        text = text.replace(key, value)
    return text.encode()


def test_alertmanager_v4_payload() -> None:
    note = parse("alertmanager", body("alertmanager-firing.json", HOST="web-1"))
    [alert] = note.alerts
    assert (note.receiver, note.status, alert.fingerprint) == (
        "triagebot",
        "firing",
        "1a30ba71cca2921f",
    )
    assert alert.name == "HostHighLoad" and alert.severity == "critical"
    assert alert.starts_at is not None and alert.starts_at.microsecond == 739266  # ns cut to us
    assert alert.ends_at is None  # Go's zero time
    assert note.group_key.startswith("{}/{severity=")


def test_grafana_payload() -> None:
    note = parse("grafana", body("grafana-firing.json", ADDR="198.18.0.2"))
    [alert] = note.alerts
    assert alert.labels["host"] == "198.18.0.2" and alert.name == "High memory usage"
    assert alert.starts_at is not None and alert.starts_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"not json", "not JSON"),
        (b"[]", "JSON object"),
        (b'{"alerts": []}', "non-empty list"),
        (b'{"version": "3", "alerts": [{"labels": {"a": "b"}}]}', "version '3'"),
        (b'{"alerts": [{"labels": {}}]}', "labels is missing or empty"),
        (b'{"alerts": [{"labels": {"a": {"b": 1}}}]}', "every value must be a string"),
        (b'{"alerts": [{"labels": {"a": "b"}, "status": "weird"}]}', "firing or resolved"),
        (b'{"alerts": [{"labels": {"a": "b"}, "startsAt": "yesterday"}]}', "RFC 3339"),
        (b'{"alerts": [' + b",".join([b'{"labels": {"a": "b"}}'] * 1001) + b"]}", "at most 1000"),
    ],
    ids=["not-json", "array", "empty", "version", "no-labels", "nested", "status", "time", "many"],
)
def test_bad_payloads_are_one_line(raw: bytes, says: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse("alertmanager", raw)
    assert says in str(info.value) and "\n" not in str(info.value)


def test_missing_fingerprint_is_derived_from_labels() -> None:
    one = parse("grafana", b'{"alerts": [{"labels": {"alertname": "X", "host": "web-1"}}]}')
    two = parse("grafana", b'{"alerts": [{"labels": {"host": "web-1", "alertname": "X"}}]}')
    assert one.alerts[0].fingerprint == two.alerts[0].fingerprint
    assert one.group_key == one.alerts[0].fingerprint


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"instance": "web-1:9100"}, Target("web-1", "triage", ("web-1",))),
        ({"instance": "198.18.0.2:9100"}, Target("web-1", "triage", ("web-1",))),
        ({"instance": "web-1.prod.example.test:9100"}, Target("web-1", "triage", ("web-1",))),
        ({"instance": "web-1:5432"}, Target("web-1", "triage", ("web-1", "port", "5432"))),
        ({"instance": "web-1:9100", "port": "443"}, Target("web-1", "triage", ("web-1", "port",
                                                                               "443"))),
        ({"nodename": "DB-1"}, Target("db-1", "triage", ("db-1",))),
        ({"host": "10.0.0.7"}, Target("db-1", "triage", ("db-1",))),
        (
            {"instance": "https://shop.example.test/health"},
            Target("shop.example.test", "http", ("https://shop.example.test/health",)),
        ),
        ({"instance": "other:9100"}, None),
        ({"instance": "ftp://web-1/"}, None),
        ({"job": "node"}, None),
    ],
    ids=["instance", "address", "fqdn", "service-port", "port-label", "nodename", "host-address",
         "blackbox-url", "unknown", "bad-scheme", "no-host-label"],
)  # fmt: skip
def test_labels_to_target(labels: dict[str, str], expected: Target | None) -> None:
    assert target_for(labels, HOSTS) == expected


def test_label_from_settings_is_tried_first() -> None:
    labels = {"server": "db-1", "instance": "web-1:9100"}
    assert target_for(labels, HOSTS, "server") == Target("db-1", "triage", ("db-1",))
    hint = mapping_hint({"instance": "nope:9100"}, "server")
    assert "labels tried: server, host, nodename, hostname, instance" in hint
    assert "instance=nope:9100" in hint and "TRIAGEBOT_ALERTS_HOST_LABEL" in hint


def test_channels_from_the_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(
        "alerts:\n  channel: C0DEFAULT\n  receivers: {db-team: C0DB}\n"
        "  routes:\n    - match: {team: payments}\n      channel: C0PAY\n"
    )
    route = load_route(policy, "C0ENV")
    assert route.channel("triagebot", {"team": "payments"}) == "C0PAY"
    assert route.channel("db-team", {"team": "x"}) == "C0DB"
    assert route.channel("other", {}) == "C0DEFAULT"
    assert load_route(None, "C0ENV").channel("x", {}) == "C0ENV"
    assert load_route(None, None).channel("x", {}) is None
    policy.write_text("alerts:\n  routes:\n    - match: {}\n      channel: C1\n")
    with pytest.raises(ConfigError, match="non-empty match"):
        load_route(policy, None)
    with pytest.raises(ConfigError, match="Slack channel id"):
        load_route(None, "#general")


def test_receiver_authentication() -> None:
    token = Settings(alerts_token=SecretStr("s3cret-token"))
    assert token.alerts_enabled()
    assert authorized("Bearer s3cret-token", token)
    assert not authorized("Bearer s3cret-tokem", token)
    assert not authorized("Basic " + base64.b64encode(b"am:s3cret-token").decode(), token)
    basic = Settings(alerts_user="am", alerts_password=SecretStr("pw"))
    good = base64.b64encode(b"am:pw").decode()
    assert authorized(f"Basic {good}", basic)
    assert not authorized("Basic " + base64.b64encode(b"am:pW").decode(), basic)
    assert not authorized("Basic !!!notbase64", basic)
    assert not authorized("", basic)
    assert not Settings().alerts_enabled()
    assert not Settings(alerts_user="am").alerts_enabled()


def test_fixtures_are_json() -> None:
    for path in FIXTURES.glob("*.json"):
        assert isinstance(json.loads(path.read_text()), dict), path
