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

from ssh_probes.model import SLOW_LIMIT_S, CommandResult, Facts, Probe
from ssh_probes.probes.docker_raw import stored_output
from ssh_probes.probes.docker_refs import proxy_hosts, proxy_port, url_env

MAX_INSPECT = 40  # ~20 KB of JSON each: stays well under the executor's 1 MB output cap
MAX_CONTAINERS = 100
MAX_PS = MAX_CONTAINERS * 5
MAX_LIST = 20  # per container: networks, aliases, ports, hosts, URL variables

# `docker ps -a` first: it fails fast (and says why) when the daemon is unreachable, and its
# JSON lines give the ids for inspect (hex: the sed pattern admits nothing else, so word
# splitting "$ids" is safe). `docker stats --no-stream` takes two samples (~1.8 s), so it
# runs only for running containers with a memory limit (the only ones docker.memory_near_limit
# can judge), in the background while inspect runs. stderr of inspect is dropped: a container
# removed in between makes inspect warn, not corrupt the JSON. Every docker call has a timeout.
#
# Host CPU (issue 18): the docker client costs ~20 ms of CPU to start even when it only finds
# no daemon. It is not started when that is certain from the host's own state, read with shell
# builtins only: nothing points the client elsewhere (no DOCKER_HOST, DOCKER_CONTEXT or
# DOCKER_CONFIG, no ~/.docker config or contexts), no socket at its default place (either
# spelling of /run), and no podman (podman-docker's `docker` needs no daemon).
SCRIPT = f"""\
if ! command -v docker >/dev/null 2>&1; then echo '@@no-docker'; exit 0; fi
if [ -z "$DOCKER_HOST$DOCKER_CONTEXT$DOCKER_CONFIG" ] && [ ! -e "$HOME/.docker/config.json" ] &&
   [ ! -e "$HOME/.docker/contexts" ] && [ ! -S /var/run/docker.sock ] &&
   [ ! -S /run/docker.sock ] && ! command -v podman >/dev/null 2>&1; then
  echo '@@no-socket'; exit 0
fi
limited_format=$1
# Each docker call has its own deadline, so a wedged daemon still leaves what was read
# (busybox before 1.30 spells it `timeout -t N`: there the calls run bare, under the
# executor's deadline for the whole probe).
if timeout 5 true 2>/dev/null; then to() {{ timeout "$@"; }}; else to() {{ shift; "$@"; }}; fi
ps=$(to 10 docker ps -a --no-trunc --format '{{{{json .}}}}' 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then echo "@@daemon-error $rc"; printf '%s\\n' "$ps" | head -n 5; exit 0; fi
echo "@@now $(date -u +%s)"
echo '@@ps'
printf '%s\\n' "$ps" | head -n {MAX_PS}
ids=$(printf '%s\\n' "$ps" | sed -n 's/.*"ID":"\\([0-9a-f]*\\)".*/\\1/p' | head -n {MAX_INSPECT})
set -- $ids
stats=""
if [ "$#" -gt 0 ]; then
  limited=$(to 10 docker inspect --format "$limited_format" "$@" 2>/dev/null | grep .)
  if [ -n "$limited" ] && stats=$(mktemp 2>/dev/null); then
    to 10 docker stats --no-stream --no-trunc --format '{{{{json .}}}}' $limited \\
      >"$stats" 2>/dev/null &
  fi
fi
echo '@@inspect'
if [ "$#" -gt 0 ]; then to 10 docker inspect "$@" 2>/dev/null; fi
wait
echo '@@stats'
if [ -n "$stats" ]; then head -n {MAX_CONTAINERS} "$stats"; rm -f "$stats"; fi
echo "@@end $(printf '%s\\n' "$ps" | grep -c '"ID":')"
"""
# The id of each running container with a memory limit (an empty line for the others); an
# argument of the script, so the template needs no quoting inside it.
LIMITED = "{{if .State.Running}}{{if .HostConfig.Memory}}{{.Id}}{{end}}{{end}}"

# What `@@no-socket` stands for: the client was not started, since it could only have failed
# with "Cannot connect to the Docker daemon at unix:///var/run/docker.sock".
NO_SOCKET = (
    "no Docker socket at /var/run/docker.sock or /run/docker.sock, and no DOCKER_HOST, "
    "DOCKER_CONTEXT, DOCKER_CONFIG or ~/.docker configuration naming another daemon "
    "(the docker client was not started)"
)

_NO_NAMES = {"bridge", "host", "none"}  # networks where Docker's DNS does not resolve names


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
    labels = config.get("Labels") or {}
    env = config.get("Env") or []
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
        "started_at": state.get("StartedAt") or None,
        "finished_at": state.get("FinishedAt") or None,
        "service": labels.get("com.docker.compose.service") or None,
        "restart_policy": (host_config.get("RestartPolicy") or {}).get("Name", ""),
        "memory_limit": int(host_config.get("Memory") or 0),
        "networks": networks[:MAX_LIST],
        "ports": inner,
        "published": published,
        "proxy_hosts": proxy_hosts(labels, env),
        "proxy_port": proxy_port(labels),
        "url_env": url_env(env),
        "names_resolve": any(n["name"] not in _NO_NAMES for n in networks),
    }


_UNITS = {
    "B": 1,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
}


def size_bytes(text: str) -> int | None:
    """`616KiB` or `1.5GiB` (docker stats) -> bytes; None when it is not a size."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]+)\s*", text)
    if not m or m[2].upper() not in _UNITS:
        return None
    try:
        return int(float(m[1]) * _UNITS[m[2].upper()])
    except ValueError:
        return None


def memory_stats(lines: list[str]) -> dict[str, int]:
    """Container id -> memory in use (bytes), from `docker stats --format '{{json .}}'` lines."""
    usage: dict[str, int] = {}
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(row, dict) or not row.get("ID"):
            continue
        used = size_bytes(str(row.get("MemUsage", "")).split("/")[0])
        if used is not None:
            usage[str(row["ID"])] = used
    return usage


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
    if "no-socket" in sections:
        return _unavailable(["", NO_SOCKET])
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
    usage = memory_stats(sections.get("stats", []))
    containers = []
    for doc in docs[:MAX_CONTAINERS]:
        full_id = str(doc["Id"])
        # ps ids are full with --no-trunc, 12 characters without it: match either way.
        status = next((s for i, s in statuses.items() if full_id.startswith(i)), None)
        c = container(doc, status)
        c["memory_usage"] = next(
            (u for i, u in usage.items() if full_id.startswith(i) and c["state"] == "running"),
            None,
        )
        containers.append(c)
    listed = {i for i in statuses if any(str(d["Id"]).startswith(i) for d in docs)}
    total = sections.get("end", [str(len(docs))])[:1]
    served: dict[str, list[str]] = {}
    for c in containers:
        for entry in c["proxy_hosts"]:
            served.setdefault(entry["host"], []).append(c["name"])
    now = sections.get("now", [""])[:1]
    return {
        "available": True,
        "now": int(now[0]) if now and now[0].isdigit() else None,
        "total": int(total[0]) if total and total[0].isdigit() else len(docs),
        "containers": sorted(containers, key=lambda c: c["name"]),
        "ps_only": len(statuses) - len(listed),
        "served_by": dict(sorted(served.items())),
    }


DOCKER = Probe(
    name="docker",
    area="docker",
    command=("sh", "-c", SCRIPT, "sh", LIMITED),
    parse=parse,
    timeout_s=SLOW_LIMIT_S,
    raw_filter=stored_output,  # container environments are never stored
)
