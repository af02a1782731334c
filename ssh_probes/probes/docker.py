"""Docker containers: `docker ps -a --no-trunc --format '{{json .}}'` and `docker inspect`.

Most hosts have no Docker: a missing client, an unreachable daemon or a socket the SSH user
may not open parse to `available: False` (an info finding), never to a failed probe. Facts
come from the inspect documents; ps lines only add their human `Status` text. Environment
values never become facts, except the scheme, host and port of those that are URLs.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from ssh_probes.model import CommandResult, Facts, Probe
from ssh_probes.probes.docker_raw import stored_output

MAX_INSPECT = 40  # ~20 KB of JSON each: stays well under the executor's 1 MB output cap
MAX_CONTAINERS = 100
MAX_LIST = 20  # per container: networks, aliases, ports, hosts, URL variables

# `docker ps -aq` first: it fails fast (and says why) when the daemon is unreachable, and
# gives the ids for inspect. Ids are hex, so word splitting "$ids" is safe. stderr of ps and
# inspect is dropped: a container removed in between makes inspect warn, not corrupt the JSON.
SCRIPT = f"""\
if ! command -v docker >/dev/null 2>&1; then echo '@@no-docker'; exit 0; fi
ids=$(docker ps -aq --no-trunc 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then echo "@@daemon-error $rc"; printf '%s\\n' "$ids" | head -n 5; exit 0; fi
echo '@@ps'
docker ps -a --no-trunc --format '{{{{json .}}}}' 2>/dev/null | head -n {MAX_CONTAINERS * 5}
echo '@@inspect'
set -- $(printf '%s\\n' "$ids" | head -n {MAX_INSPECT})
if [ "$#" -gt 0 ]; then docker inspect "$@" 2>/dev/null; fi
echo "@@end $(printf '%s\\n' "$ids" | grep -c .)"
"""

_HOST_CALL = re.compile(r"\bHost(?:SNI)?\(([^)]*)\)")
_QUOTED = re.compile(r"[`\"']([^`\"']+)[`\"']")
_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
_CADDY_KEY = re.compile(r"^caddy(?:_\d+)?$")
_TRAEFIK_RULE = re.compile(r"^traefik\.(?:http|tcp)\.routers\.([^.]+)\.rule$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_NO_NAMES = {"bridge", "host", "none"}  # networks where Docker's DNS does not resolve names


def traefik_hosts(rule: str) -> list[str]:
    """Hostnames in a Traefik rule: Host(`a`, `b`) || HostSNI(`c`); v1 `Host:a,b` too."""
    hosts: list[str] = []
    for args in _HOST_CALL.findall(rule):
        hosts += [h for h in _QUOTED.findall(args) if h != "*"]
    if not hosts and rule.startswith("Host:"):  # Traefik v1 frontend rule
        hosts = [h.strip() for h in rule[5:].split(";")[0].split(",") if h.strip()]
    return hosts


def caddy_hosts(value: str) -> list[str]:
    """Site addresses of a caddy-docker-proxy label: `https://a.example.com b.example.com:443`."""
    hosts = []
    for address in re.split(r"[\s,]+", re.sub(r"\{\{.*?\}\}", " ", value)):
        host = address.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
        if _HOSTNAME.fullmatch(host):
            hosts.append(host.lower())
    return hosts


def proxy_hosts(labels: dict[str, str]) -> list[dict[str, str]]:
    """Which hostnames reverse-proxy labels route to this container (Traefik, Caddy/Coolify)."""
    found: dict[str, dict[str, str]] = {}
    for key in sorted(labels):
        value = str(labels[key])
        rule = _TRAEFIK_RULE.match(key)
        if rule or key == "traefik.frontend.rule":
            for host in traefik_hosts(value):
                found.setdefault(host.lower(), {"host": host.lower(), "via": "traefik"})
        elif _CADDY_KEY.match(key):
            for host in caddy_hosts(value):
                found.setdefault(host, {"host": host, "via": "caddy"})
    return list(found.values())[:MAX_LIST]


def url_env(env: list[str]) -> list[dict[str, Any]]:
    """Variables whose value is a URL: name, scheme, host, port; no path, no credentials."""
    out = []
    for item in env:
        name, sep, value = item.partition("=")
        if not sep or not _URL.match(value):
            continue
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            continue
        if not parts.hostname:
            continue
        entry: dict[str, Any] = {"name": name, "scheme": parts.scheme, "host": parts.hostname}
        entry["port"] = port
        if parts.username or parts.password:
            entry["credentials"] = "[REDACTED]"
        out.append(entry)
    return out[:MAX_LIST]


def _ports(settings: dict[str, Any]) -> tuple[list[int], list[str]]:
    """Container-side TCP ports, and published mappings as `HOSTIP:PORT->PORT/proto`."""
    inner: list[int] = []
    published: list[str] = []
    for spec, binds in sorted((settings.get("Ports") or {}).items()):
        port, _, proto = spec.partition("/")
        if proto == "tcp" and port.isdigit():
            inner.append(int(port))
        for bind in binds or []:
            ip = str(bind.get("HostIp", ""))
            shown = f"[{ip}]" if ":" in ip else ip
            published.append(f"{shown}:{bind.get('HostPort', '')}->{spec}")
    return inner[:MAX_LIST], published[:MAX_LIST]


def container(doc: dict[str, Any], status: str | None) -> dict[str, Any]:
    """The bounded facts of one `docker inspect` document."""
    state = doc.get("State") or {}
    config = doc.get("Config") or {}
    host_config = doc.get("HostConfig") or {}
    settings = doc.get("NetworkSettings") or {}
    networks = []
    for name, net in sorted((settings.get("Networks") or {}).items()):
        names = list(dict.fromkeys((net.get("Aliases") or []) + (net.get("DNSNames") or [])))
        networks.append(
            {"name": name, "ip": net.get("IPAddress") or "", "aliases": names[:MAX_LIST]}
        )
    inner, published = _ports(settings)
    return {
        "id": str(doc["Id"])[:12],
        "name": str(doc.get("Name", "")).lstrip("/"),
        "image": config.get("Image", ""),
        "state": state.get("Status", ""),
        "status": status,
        "restart_count": int(doc.get("RestartCount") or 0),
        "exit_code": int(state.get("ExitCode") or 0),
        "oom_killed": bool(state.get("OOMKilled")),
        "health": (state.get("Health") or {}).get("Status"),
        "restart_policy": (host_config.get("RestartPolicy") or {}).get("Name", ""),
        "memory_limit": int(host_config.get("Memory") or 0),
        "networks": networks[:MAX_LIST],
        "ports": inner,
        "published": published,
        "proxy_hosts": proxy_hosts(config.get("Labels") or {}),
        "url_env": url_env(config.get("Env") or []),
        "names_resolve": any(n["name"] not in _NO_NAMES for n in networks),
    }


def _sections(stdout: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in stdout.splitlines():
        if line.startswith("@@"):
            current, _, rest = line[2:].partition(" ")
            sections[current] = [rest] if rest else []
        elif current:
            sections[current].append(line)
    return sections


def _unavailable(lines: list[str]) -> Facts:
    text = " ".join(lines[1:]).strip()
    if "permission denied" in text.lower():
        return {
            "available": False,
            "why": "permission denied on the Docker socket",
            "hint": "Add the SSH user to the docker group (`sudo usermod -aG docker USER`, "
            "then a new login) or register the host with a user that may use Docker.",
            "error": text[:300],
        }
    return {
        "available": False,
        "why": "Docker daemon not reachable",
        "hint": "If this host should run containers: `systemctl status docker` and "
        "`journalctl -u docker -n 100`.",
        "error": text[:300],
    }


def parse(result: CommandResult) -> Facts:
    """Containers with state, restarts, networks, ports, proxy hostnames and URL variables."""
    sections = _sections(result.stdout)
    if "no-docker" in sections:
        return {"available": False, "why": "docker not installed", "hint": ""}
    if "daemon-error" in sections:
        return _unavailable(sections["daemon-error"])
    if "ps" not in sections or "inspect" not in sections:
        raise ValueError("docker probe output has no ps/inspect sections")
    statuses: dict[str, str] = {}
    for line in sections["ps"]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a warning line mixed into stdout; the inspect documents are the facts
        if isinstance(row, dict) and row.get("ID"):
            statuses[str(row["ID"])] = str(row.get("Status", ""))
    text = "\n".join(sections["inspect"]).strip()
    docs = json.loads(text) if text else []
    if not isinstance(docs, list):
        raise ValueError("docker inspect did not print a JSON array")
    containers = []
    for doc in docs[:MAX_CONTAINERS]:
        full_id = str(doc["Id"])
        # ps ids are full with --no-trunc, 12 characters without it: match either way.
        status = next((s for i, s in statuses.items() if full_id.startswith(i)), None)
        containers.append(container(doc, status))
    listed = {i for i in statuses if any(str(d["Id"]).startswith(i) for d in docs)}
    total = sections.get("end", [str(len(docs))])[:1]
    served: dict[str, list[str]] = {}
    for c in containers:
        for entry in c["proxy_hosts"]:
            served.setdefault(entry["host"], []).append(c["name"])
    return {
        "available": True,
        "total": int(total[0]) if total and total[0].isdigit() else len(docs),
        "containers": sorted(containers, key=lambda c: c["name"]),
        "ps_only": len(statuses) - len(listed),
        "served_by": dict(sorted(served.items())),
    }


DOCKER = Probe(
    name="docker",
    area="docker",
    command=("sh", "-c", SCRIPT, "sh"),
    parse=parse,
    timeout_s=20.0,
    raw_filter=stored_output,  # container environments are never stored
)
