"""Calls between containers, and docker.network_isolated (the seed's incident).

A container's environment names the hosts it calls (ssh_probes/probes/docker_refs.py). When
such a host is another container (its name, a network alias, its compose service) or a name
that another container serves (a Traefik/Caddy/nginx-proxy/Coolify rule), the two must share a
user-defined network to talk directly: otherwise docker.network_isolated. docker_hairpin.py
judges the calls through a served name. `talks=A:B` registry labels still name pairs by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget

DOCKER_NETWORK_ISOLATED = Code(
    "docker.network_isolated",
    "host",
    "Containers that must talk share no network",
    "Containers resolve each other by name only on a shared Docker network.",
    "`docker network connect NETWORK CONTAINER`, or use the internal address on one.",
)

CODES = (DOCKER_NETWORK_ISOLATED,)

# Networks on which Docker's embedded DNS does not resolve container names.
NO_NAMES = frozenset({"bridge", "host", "none"})
RESTARTS = 3  # as Thresholds.docker_restarts_warning: whose logs the follow-up reads


@dataclass(frozen=True)
class Call:
    """Container `caller` names `target` in variable `var`; `via`: name, traefik, caddy, ..."""

    caller: dict[str, Any]
    var: dict[str, Any]
    target: dict[str, Any]
    via: str


def talk_pairs(value: str) -> list[tuple[str, str]]:
    """`dashboard:supabase-kong,api:db` -> [("dashboard", "supabase-kong"), ("api", "db")]."""
    pairs = []
    for item in value.split(","):
        a, sep, b = item.strip().partition(":")
        if sep and a and b and ":" not in b:
            pairs.append((a, b))
    return pairs


def find(containers: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """By container name; else by compose service or network alias that one container has."""
    for c in containers:
        if c["name"] == name:
            return c
    by_alias = [
        c
        for c in containers
        if c.get("service") == name or any(name in n["aliases"] for n in c["networks"])
    ]
    return by_alias[0] if len(by_alias) == 1 else None


def calls(facts: Facts) -> list[Call]:
    """Every variable that names another container, directly or through a served name."""
    containers = facts["containers"]
    out = []
    for a in containers:
        for var in a["url_env"]:
            host = str(var["host"]).lower()
            target = find(containers, var["host"])
            if target is not None and target is not a:
                out.append(Call(a, var, target, "name"))
                continue
            for b in containers:
                via = next((h["via"] for h in b["proxy_hosts"] if h["host"] == host), None)
                if via is not None and b is not a:
                    out.append(Call(a, var, b, via))
                    break
            else:
                b = _published(containers, a, var.get("port"))
                if b is not None and "." in host:
                    out.append(Call(a, var, b, "published"))
    return out


def _published(
    containers: list[dict[str, Any]], a: dict[str, Any], port: int | None
) -> dict[str, Any] | None:
    """The other container publishing host port `port`, if one does."""
    for c in containers:
        if c is not a and port is not None:
            if any(p.split("->")[0].rsplit(":", 1)[-1] == str(port) for p in c["published"]):
                return c
    return None


def published_by(docker: Facts, port: int) -> str | None:
    """The running container that publishes host TCP port `port`, if any.

    With `userland-proxy: false` Docker publishes through iptables DNAT only: no process
    listens on the port, yet connections reach the container.
    """
    for c in docker.get("containers") or []:
        for mapping in c.get("published") or []:
            host_side, _, inner = mapping.partition("->")
            if (
                c["state"] == "running"
                and inner.endswith("/tcp")
                and host_side.rsplit(":", 1)[-1] == str(port)
            ):
                return str(c["name"])
    return None


def detail_targets(facts: Facts) -> tuple[list[str], list[str]]:
    """What docker_detail should look at: names to resolve, container ids to read logs of."""
    if facts.get("available") is False:
        return [], []
    found = calls(facts)
    names = [str(k.var["host"]) for k in found if k.via != "name"]
    failing = [
        c["id"]
        for c in facts["containers"]
        if c["state"] == "restarting"
        or c.get("health") == "unhealthy"
        or c["oom_killed"]
        or (c["state"] == "exited" and c["exit_code"] not in (0, 143))
        or c["restart_count"] >= RESTARTS
    ]
    callers = [k.caller["id"] for k in found]
    return list(dict.fromkeys(names)), list(dict.fromkeys(failing + callers))


def user_nets(c: dict[str, Any]) -> list[str]:
    """The container's networks on which Docker resolves names (not bridge/host/none)."""
    return [n["name"] for n in c["networks"] if n["name"] not in NO_NAMES]


def internal_port(call: Call) -> int | str:
    """The target's internal port: the proxy's label, the called port if exposed, the first."""
    b, called = call.target, call.var.get("port")
    if b.get("proxy_port"):
        return int(b["proxy_port"])
    if called is not None and (called in b["ports"] or (not b["ports"] and call.via == "name")):
        return int(called)
    return b["ports"][0] if b["ports"] else "PORT"


def connect_hint(a: dict[str, Any], b: dict[str, Any]) -> str:
    """The `docker network` commands that put `a` on a network with `b`."""
    nets = user_nets(b)
    if nets:
        return f"`docker network connect {nets[0]} {a['name']}`"
    net = f"{b['name']}-net"  # B only on the default bridge: give both a network of their own
    return (
        f"`docker network create {net}`, `docker network connect {net} {b['name']}` and "
        f"`docker network connect {net} {a['name']}`"
    )


def _isolated(
    a: dict[str, Any], b: dict[str, Any], pair: str, host: HostTarget, calls_: list[Call]
) -> Finding:
    nets_a = [n["name"] for n in a["networks"]]
    nets_b = [n["name"] for n in b["networks"]]
    shared = sorted(set(nets_a) & set(nets_b))
    port = internal_port(calls_[0]) if calls_ else (b["ports"][0] if b["ports"] else "PORT")
    internal = f"http://{b['name']}:{port}"
    public = [k.var for k in calls_ if k.via != "name"]
    named = [k.var for k in calls_ if k.via == "name"]
    if public:
        env = (
            f"; set {', '.join(v['name'] for v in public)} to `{internal}` instead of the "
            f"public name {public[0]['host']}"
        )
    elif named:
        env = f" ({', '.join(v['name'] for v in named)} names {named[0]['host']})"
    else:
        env = f"; use the internal address `{internal}` instead of a public name"
    where = (
        f"they share only {', '.join(shared)}, where names do not resolve"
        if shared
        else "they share no network"
    )
    return DOCKER_NETWORK_ISOLATED.finding(
        severity="warning",
        title=f"{a['name']} cannot reach {b['name']} by name: {where} "
        f"({a['name']}: {', '.join(nets_a) or 'none'}; {b['name']}: {', '.join(nets_b) or 'none'})",
        detail="Containers resolve each other by name only on a shared user-defined network; "
        "calls through the public name leave the host and come back (latency, ETIMEDOUT).",
        evidence={
            "pair": pair,
            "from": a["name"],
            "to": b["name"],
            "from_networks": nets_a,
            "to_networks": nets_b,
            "shared": shared,
            "internal_address": internal,
            "variables": [{"name": v["name"], "host": v["host"]} for v in public + named],
            "public_names_in_env": [{"name": v["name"], "host": v["host"]} for v in public],
        },
        suggestion=(
            f"Connect them: {connect_hint(a, b)}{env}. Check from inside: `docker exec {a['name']} "
            f"wget -qO- --timeout=5 {internal}/` ('bad address' = different networks)."
        ),
        host=host.name,
    )


def _shares(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(set(user_nets(a)) & set(user_nets(b)))


def _network_isolated(facts: Facts, host: HostTarget, found: list[Call]) -> Iterator[Finding]:
    containers = facts["containers"]
    seen: set[tuple[str, str]] = set()
    for a_name, b_name in talk_pairs(host.labels.get("talks", "")):
        pair = f"{a_name}:{b_name}"
        a, b = find(containers, a_name), find(containers, b_name)
        missing = [n for n, c in ((a_name, a), (b_name, b)) if c is None]
        if missing:
            names = sorted(c["name"] for c in containers)
            yield DOCKER_NETWORK_ISOLATED.finding(
                severity="warning",
                title=f"talks={pair}: no container named {' or '.join(missing)} on {host.name}",
                detail="The registry says these containers must talk, but one is not there "
                "(removed, renamed by a redeploy, or the label is stale).",
                evidence={"pair": pair, "missing": missing, "containers": names[:20]},
                suggestion=(
                    "List them with `docker ps -a --format '{{.Names}}'`; redeploy the missing "
                    "one, or fix the host's `talks` label (`triagebot hosts show "
                    f"{host.name}`)."
                ),
                host=host.name,
            )
            continue
        assert a is not None and b is not None
        seen.add((a["name"], b["name"]))
        if not _shares(a, b):
            mine = [k for k in found if k.caller is a and k.target is b]
            yield _isolated(a, b, pair, host, mine)
    for a, b in dict.fromkeys((k.caller["name"], k.target["name"]) for k in found):
        if (a, b) in seen:
            continue
        mine = [k for k in found if k.caller["name"] == a and k.target["name"] == b]
        if mine[0].via == "published" or _shares(mine[0].caller, mine[0].target):
            continue  # a published port is reached through the host, not by name
        yield _isolated(mine[0].caller, mine[0].target, f"{a}:{b}", host, mine)


def network_isolated(facts: Facts, host: HostTarget, found: list[Call]) -> Iterator[Finding]:
    """docker.network_isolated: from the calls found (automatic) and from `talks=` labels."""
    yield from _network_isolated(facts, host, found)
