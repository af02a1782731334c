"""An alert's labels -> the registered host it is about, the routine to run, the channel.

Host: the first of the label named in TRIAGEBOT_ALERTS_HOST_LABEL, `host`, `nodename`,
`hostname`, `instance` (its host part) that names a registered host, by name or address.
Routine: `http URL` when `instance` is a URL (a blackbox probe), `triage HOST port N` when
the alert names a service port (a `port` label, or an `instance` port outside 9000-9999,
the range Prometheus exporters use), else `triage HOST`.
Channel: the policy file's `alerts:` routes (first label match), then its per-receiver
channels, then TRIAGEBOT_ALERTS_CHANNEL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from commands.hosts import HostSpec
from ssh_probes.errors import ConfigError

HOST_LABELS = ("host", "nodename", "hostname", "instance")
EXPORTER_PORTS = range(9000, 10000)
CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,20}")


@dataclass(frozen=True)
class Route:
    """Where an alert's answer goes: label matches first, then receivers, then the default."""

    default: str | None = None
    receivers: Mapping[str, str] = field(default_factory=dict)
    matches: tuple[tuple[Mapping[str, str], str], ...] = ()

    def channel(self, receiver: str, labels: Mapping[str, str]) -> str | None:
        """The channel for an alert of `receiver` with `labels`, or None."""
        for match, channel in self.matches:
            if all(labels.get(k) == v for k, v in match.items()):
                return channel
        return self.receivers.get(receiver) or self.default


def _channel(value: Any, where: str) -> str:
    if not isinstance(value, str) or not CHANNEL.fullmatch(value):
        raise ConfigError(f"policy alerts: {where} must be a Slack channel id like C0123ABCD")
    return value


def load_route(policy_file: Path | None, default: str | None) -> Route:
    """The `alerts:` section of the policy file (optional), over TRIAGEBOT_ALERTS_CHANNEL."""
    from bot.auth import load_policy

    return parse_route(load_policy(policy_file).alerts, default)


def parse_route(section: Any, default: str | None) -> Route:
    """A Route from the policy's `alerts:` section as written (None: none), over `default`."""
    if default is not None:
        _channel(default, "TRIAGEBOT_ALERTS_CHANNEL")
    if section is None:
        return Route(default=default)
    if not isinstance(section, dict):
        raise ConfigError("policy alerts: must be a mapping")
    if "channel" in section:
        default = _channel(section["channel"], "channel")
    receivers = section.get("receivers") or {}
    if not isinstance(receivers, dict):
        raise ConfigError("policy alerts: receivers must map receiver names to channels")
    routes = section.get("routes") or []
    if not isinstance(routes, list):
        raise ConfigError("policy alerts: routes must be a list of {match, channel}")
    matches = []
    for i, item in enumerate(routes):
        match = item.get("match") if isinstance(item, dict) else None
        if not isinstance(match, dict) or not match:
            raise ConfigError(f"policy alerts: routes[{i}] needs a non-empty match mapping")
        matches.append(
            (
                {str(k): str(v) for k, v in match.items()},
                _channel(item.get("channel"), f"routes[{i}]"),
            )
        )
    return Route(
        default=default,
        receivers={str(k): _channel(v, f"receivers.{k}") for k, v in receivers.items()},
        matches=tuple(matches),
    )


@dataclass(frozen=True)
class Target:
    """What to run for an alert: `command` and its words, on `host` (a registered name)."""

    host: str
    command: str  # triage | http
    words: tuple[str, ...]

    @property
    def key(self) -> str:
        """What the per-target bounds count (the host, or the URL for http)."""
        return self.host if self.command == "triage" else self.words[0]


def _host_part(value: str) -> tuple[str, int | None, str | None]:
    """`web-1:9100` -> ('web-1', 9100, None); `https://x/p` -> ('x', 443, the URL)."""
    text = value.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "", None, None
        try:
            url_port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return "", None, None
        return parts.hostname.lower(), url_port, text
    if text.startswith("["):  # [::1]:9100
        host, _, rest = text[1:].partition("]")
        port_text = rest.lstrip(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    port = int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else None
    return host.lower().rstrip("."), port, None


def target_for(
    labels: Mapping[str, str], hosts: Sequence[HostSpec], extra_label: str | None = None
) -> Target | None:
    """The routine for an alert, or None when no label names a registered host."""
    by_name = {h.name.lower(): h for h in hosts}
    by_address = {h.address.lower(): h for h in hosts if h.address}
    names = ([extra_label] if extra_label else []) + list(HOST_LABELS)
    for label in names:
        value = labels.get(label)
        if not value:
            continue
        host, port, url = _host_part(value)
        if url is not None:  # a blackbox probe's URL: check it as /http does
            return Target(host, "http", (url,))
        spec = by_name.get(host) or by_address.get(host)
        if spec is None and "." in host:
            spec = by_name.get(host.split(".", 1)[0])  # web-1.example.internal -> web-1
        if spec is None:
            continue
        service = labels.get("port")
        if service and service.isdigit() and 0 < int(service) < 65536:
            return Target(spec.name, "triage", (spec.name, "port", service))
        if label == "instance" and port is not None and port not in EXPORTER_PORTS:
            return Target(spec.name, "triage", (spec.name, "port", str(port)))
        return Target(spec.name, "triage", (spec.name,))
    return None


def mapping_hint(labels: Mapping[str, str], extra_label: str | None) -> str:
    """One line for an alert that names no registered host: which labels were tried."""
    names = ([extra_label] if extra_label else []) + list(HOST_LABELS)
    shown = ", ".join(f"{n}={labels[n][:60]}" for n in names if labels.get(n)) or "none of them"
    return (
        f"no registered host matches this alert (labels tried: {', '.join(names)}; present: "
        f"{shown}). Register the host under that name or address (`/hosts add NAME --address "
        "ADDR ...`), or name the label that carries it in TRIAGEBOT_ALERTS_HOST_LABEL."
    )
