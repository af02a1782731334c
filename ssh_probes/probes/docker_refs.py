"""What a container's labels and environment say about names: who serves which hostname,
and which hosts each container calls.

Served names come from reverse-proxy configuration on the container: Traefik router rules
(`Host(\\`a\\`) || Host(\\`b\\`)`; HostRegexp is a pattern, not a name, and is ignored),
caddy-docker-proxy labels (`caddy`, `caddy_0`, ...), nginx-proxy's `VIRTUAL_HOST` variable and,
on Coolify-managed containers (label `coolify.managed=true`), the `COOLIFY_FQDN`/`COOLIFY_URL`
variables Coolify sets to the application's own domains.

Called hosts come from environment values that are URLs (`https://supabase.example.test`,
`postgres://u:p@db:5432/x`), `host:port` (`redis:6379`, comma lists too) or a bare hostname in a
`*_HOST`-like variable. Only the variable's name, the scheme, host and port become facts: never
the value itself, a path, a query or credentials (whose presence is noted as `[REDACTED]`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

MAX_LIST = 20  # per container: hosts, URL variables

_HOST_CALL = re.compile(r"\bHost(?:SNI)?\(([^)]*)\)")
_QUOTED = re.compile(r"[`\"']([^`\"']+)[`\"']")
# A DNS name or IPv4 literal: labels of letters, digits and hyphens, dot-separated.
_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9_][A-Za-z0-9_-]{0,62}(?:\.[A-Za-z0-9_-]{1,63})*")
_CADDY_KEY = re.compile(r"^caddy(?:_\d+)?$")
_TRAEFIK_RULE = re.compile(r"^traefik\.(?:http|tcp)\.routers\.([^.]+)\.rule$")
_TRAEFIK_PORT = re.compile(r"^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HOST_PORT = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.-]*):(\d{1,5})$")
# Variables whose bare value is a host name (REDIS_HOST=redis, DB_SERVER=postgres).
_HOST_VAR = re.compile(r"(?:_|^)(?:HOST|HOSTNAME|SERVER|ADDR|ADDRESS)$", re.IGNORECASE)
_SERVED_ENV = {"VIRTUAL_HOST": "nginx-proxy"}
_COOLIFY_ENV = ("COOLIFY_FQDN", "COOLIFY_URL")


def is_hostname(name: str) -> bool:
    """True for a syntactically valid host name (letters, digits, `-`, `_`, dots)."""
    return bool(_HOSTNAME.fullmatch(name)) and not name.endswith("-")


def traefik_hosts(rule: str) -> list[str]:
    """Hostnames in a Traefik rule: Host(`a`, `b`) || HostSNI(`c`); v1 `Host:a,b` too."""
    hosts: list[str] = []
    for args in _HOST_CALL.findall(rule):
        hosts += [h for h in _QUOTED.findall(args) if h != "*"]
    if not hosts and rule.startswith("Host:"):  # Traefik v1 frontend rule
        hosts = [h.strip() for h in rule[5:].split(";")[0].split(",") if h.strip()]
    return [h for h in hosts if is_hostname(h)]


def caddy_hosts(value: str) -> list[str]:
    """Site addresses of a caddy-docker-proxy label: `https://a.example.com b.example.com:443`."""
    hosts = []
    for address in re.split(r"[\s,]+", re.sub(r"\{\{.*?\}\}", " ", value)):
        host = address.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
        if host and is_hostname(host):
            hosts.append(host.lower())
    return hosts


def _env_map(env: list[str]) -> dict[str, str]:
    out = {}
    for item in env:
        name, sep, value = item.partition("=")
        if sep:
            out[name] = value
    return out


def proxy_hosts(labels: dict[str, str], env: list[str] | None = None) -> list[dict[str, str]]:
    """Which hostnames route to this container: Traefik, Caddy, nginx-proxy or Coolify."""
    found: dict[str, dict[str, str]] = {}

    def add(host: str, via: str) -> None:
        found.setdefault(host.lower(), {"host": host.lower(), "via": via})

    for key in sorted(labels):
        value = str(labels[key])
        if _TRAEFIK_RULE.match(key) or key == "traefik.frontend.rule":
            for host in traefik_hosts(value):
                add(host, "traefik")
        elif _CADDY_KEY.match(key):
            for host in caddy_hosts(value):
                add(host, "caddy")
    values = _env_map(env or [])
    for name, via in _SERVED_ENV.items():
        for host in caddy_hosts(values.get(name, "")):  # a comma list of names
            add(host, via)
    if str(labels.get("coolify.managed", "")).lower() == "true":
        for name in _COOLIFY_ENV:
            for host in caddy_hosts(values.get(name, "")):
                add(host, "coolify")
    return list(found.values())[:MAX_LIST]


def proxy_port(labels: dict[str, str]) -> int | None:
    """The container port the proxy forwards to, when a label says (Traefik, Coolify)."""
    for key in sorted(labels):
        if _TRAEFIK_PORT.match(key) or key == "coolify.port":
            value = str(labels[key]).strip()
            if value.isdigit() and 0 < int(value) < 65536:
                return int(value)
    return None


def _url(name: str, value: str) -> dict[str, Any] | None:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or not is_hostname(parts.hostname):
        return None
    entry: dict[str, Any] = {
        "name": name,
        "scheme": parts.scheme,
        "host": parts.hostname,
        "port": port,
    }
    if parts.username or parts.password:
        entry["credentials"] = "[REDACTED]"
    return entry


def url_env(env: list[str]) -> list[dict[str, Any]]:
    """Variables naming a host: URL, `host:port` or a bare host in a *_HOST-like variable.

    Each gives {name, scheme, host, port}: no path, no query, no credentials.
    """
    out: list[dict[str, Any]] = []
    for name, value in _env_map(env).items():
        value = value.strip()
        if name in _SERVED_ENV or name in _COOLIFY_ENV:
            continue  # the container's own served names, not a call
        if _URL.match(value):
            entry = _url(name, value)
            if entry is not None:
                out.append(entry)
            continue
        pairs = [_HOST_PORT.match(part.strip()) for part in value.split(",")]
        if value and all(pairs):
            for m in pairs:
                assert m is not None
                if is_hostname(m[1]) and not m[1].isdigit() and 0 < int(m[2]) < 65536:
                    out.append({"name": name, "scheme": "", "host": m[1], "port": int(m[2])})
        elif _HOST_VAR.search(name) and is_hostname(value) and not value.isdigit():
            out.append({"name": name, "scheme": "", "host": value, "port": None})
    return out[:MAX_LIST]
