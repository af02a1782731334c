"""Webhook bodies -> Alert values: Alertmanager (payload version 4) and Grafana alerting.

Both send the same shape (Grafana's contact point is Alertmanager-compatible): a group with
`groupKey`, `receiver`, `status` and `alerts[]`, each alert with `status`, `labels`,
`annotations`, `startsAt`, `endsAt`, `generatorURL` and `fingerprint`. Anything else is a
`PayloadError` with one line saying what is wrong.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ssh_probes.errors import InputError

MAX_ALERTS = 1000  # Alertmanager's own max_alerts default is 0 (all); a group this big is a bug
MAX_LABEL_LEN = 1024
SOURCES = ("alertmanager", "grafana")


class PayloadError(InputError):
    """A webhook body that is not a valid alert notification (HTTP 400)."""


@dataclass(frozen=True)
class Alert:
    """One alert of a notification, labels and annotations as strings."""

    fingerprint: str
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""

    @property
    def name(self) -> str:
        """The alert's name (`alertname`), or its fingerprint."""
        return self.labels.get("alertname") or self.fingerprint

    @property
    def severity(self) -> str:
        """The `severity` label, or ''."""
        return self.labels.get("severity", "")


@dataclass(frozen=True)
class Notification:
    """One webhook delivery: a group of alerts from one receiver."""

    source: str
    receiver: str
    group_key: str
    status: str
    alerts: tuple[Alert, ...]
    external_url: str = ""


def _time(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where}: a time must be an RFC 3339 string")
    text = value.strip()
    if text.startswith("0001-01-01"):
        return None  # Go's zero time: "not ended"
    try:
        # Go prints nanoseconds; Python reads at most microseconds.
        head, _, rest = text.partition(".")
        if rest:
            digits = "".join(c for c in rest if c.isdigit())
            zone = rest[len(digits) :]
            text = f"{head}.{digits[:6]}{zone}"
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"{where}: {value[:40]!r} is not an RFC 3339 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be an object of strings")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str | int | float | bool):
            raise PayloadError(f"{where}: every value must be a string")
        out[key[:MAX_LABEL_LEN]] = str(item)[:MAX_LABEL_LEN]
    return out


def _fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint is a hash of the labels; compute one when a sender omits it."""
    blob = json.dumps(sorted(labels.items())).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _alert(raw: Any, index: int) -> Alert:
    where = f"alerts[{index}]"
    if not isinstance(raw, dict):
        raise PayloadError(f"{where} must be an object")
    labels = _strings(raw.get("labels"), f"{where}.labels")
    if not labels:
        raise PayloadError(f"{where}.labels is missing or empty")
    status = raw.get("status", "firing")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"{where}.status must be firing or resolved")
    fingerprint = raw.get("fingerprint") or _fingerprint(labels)
    if not isinstance(fingerprint, str) or len(fingerprint) > 128:
        raise PayloadError(f"{where}.fingerprint must be a short string")
    url = raw.get("generatorURL") or ""
    return Alert(
        fingerprint=fingerprint,
        status=status,
        labels=labels,
        annotations=_strings(raw.get("annotations"), f"{where}.annotations"),
        starts_at=_time(raw.get("startsAt"), f"{where}.startsAt"),
        ends_at=_time(raw.get("endsAt"), f"{where}.endsAt"),
        generator_url=url[:2000] if isinstance(url, str) else "",
    )


def parse(source: str, body: bytes) -> Notification:
    """Validate a webhook body from `source`; a PayloadError names the first problem."""
    if source not in SOURCES:
        raise PayloadError(f"unknown alert source {source[:20]!r}")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise PayloadError("the body must be a JSON object")
    if source == "alertmanager" and str(data.get("version", "4")) != "4":
        raise PayloadError(
            f"Alertmanager payload version {str(data.get('version'))[:8]!r}: 4 expected"
        )
    raw_alerts = data.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise PayloadError("alerts must be a non-empty list")
    if len(raw_alerts) > MAX_ALERTS:
        raise PayloadError(f"{len(raw_alerts)} alerts in one notification (at most {MAX_ALERTS})")
    alerts = tuple(_alert(a, i) for i, a in enumerate(raw_alerts))
    status = data.get("status", "firing")
    receiver = data.get("receiver") or source
    group_key = data.get("groupKey") or ""
    if not isinstance(receiver, str) or not isinstance(group_key, str):
        raise PayloadError("receiver and groupKey must be strings")
    if not group_key:
        # Without a group key each alert is its own group.
        group_key = (
            alerts[0].fingerprint
            if len(alerts) == 1
            else _fingerprint({a.fingerprint: "" for a in alerts})
        )
    external = data.get("externalURL") or ""
    return Notification(
        source=source,
        receiver=receiver[:64],
        group_key=group_key[:512],
        status=status if status in ("firing", "resolved") else "firing",
        alerts=alerts,
        external_url=external[:2000] if isinstance(external, str) else "",
    )
