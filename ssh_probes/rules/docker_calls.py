"""Calls between containers: docker.network_isolated and docker.hairpin (the seed's incident).

A container's environment names the hosts it calls (ssh_probes/probes/docker_refs.py). When
such a host is another container (its name, a network alias, its compose service) or a name
that another container serves (a Traefik/Caddy/nginx-proxy/Coolify rule), the two must share a
user-defined network to talk directly: otherwise docker.network_isolated. When the served name
resolves on the host (docker_detail's `getent ahosts`) to a CDN/proxy range (attributed in
commands/triage.py from the shipped range lists) or to the host's own address, every call leaves
the server and comes back: docker.hairpin. `talks=A:B` registry labels still name pairs by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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

DOCKER_HAIRPIN = Code(
    "docker.hairpin",
    "host",
    "Container calls a proxied public name served on the same host",
    "The call leaves the server, goes through the CDN or proxy and comes back: added latency and "
    "intermittent ETIMEDOUT.",
    "Point the variable at the internal address on a shared network (e.g. "
    "`http://supabase-kong:8000`) or make the DNS record DNS-only.",
)

CODES = (DOCKER_NETWORK_ISOLATED, DOCKER_HAIRPIN)

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


def _user_nets(c: dict[str, Any]) -> list[str]:
    return [n["name"] for n in c["networks"] if n["name"] not in NO_NAMES]


def _port(call: Call) -> int | str:
    """The target's internal port: the proxy's label, the called port if exposed, the first."""
    b, called = call.target, call.var.get("port")
    if b.get("proxy_port"):
        return int(b["proxy_port"])
    if called is not None and (called in b["ports"] or (not b["ports"] and call.via == "name")):
        return int(called)
    return b["ports"][0] if b["ports"] else "PORT"


def _connect(a: dict[str, Any], b: dict[str, Any]) -> str:
    nets = _user_nets(b)
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
    port = _port(calls_[0]) if calls_ else (b["ports"][0] if b["ports"] else "PORT")
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
            f"Connect them: {_connect(a, b)}{env}. Check from inside: `docker exec {a['name']} "
            f"wget -qO- --timeout=5 {internal}/` ('bad address' = different networks)."
        ),
        host=host.name,
    )


def _shares(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(set(_user_nets(a)) & set(_user_nets(b)))


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


def _hairpin_via(
    name: str, detail: Mapping[str, Any]
) -> tuple[str, list[str], dict[str, str]] | None:
    """(provider, addresses, attribution) when `name` resolves to a CDN/proxy or this host."""
    addresses = list((detail.get("names") or {}).get(name) or [])
    providers = detail.get("providers") or {}
    own = set(detail.get("host_addresses") or [])
    for address in addresses:
        hit = providers.get(address)
        if hit and hit.get("kind") == "cdn":
            return str(hit["name"]), addresses, dict(hit)
    for address in addresses:
        if address in own:
            return "this host's own address", addresses, {"address": address}
    return None


def _hairpin(found: list[Call], host: HostTarget, detail: Mapping[str, Any]) -> Iterator[Finding]:
    for k in found:
        if k.via == "name":
            continue
        name = str(k.var["host"]).lower()
        via = _hairpin_via(name, detail)
        if via is None:
            continue
        provider, addresses, hit = via
        a, b, var = k.caller, k.target, k.var["name"]
        internal = f"http://{b['name']}:{_port(k)}"
        shared = sorted(set(_user_nets(a)) & set(_user_nets(b)))
        route = (
            f"they share {shared[0]}: set {var}=`{internal}` in {a['name']}"
            if shared
            else f"put them on one network ({_connect(a, b)}) and set {var}=`{internal}` "
            f"in {a['name']}"
        )
        grey = " (Cloudflare: the grey cloud)" if provider == "Cloudflare" else ""
        dns_only = (
            f"or make the DNS record of {name} DNS-only, not proxied by {provider}{grey}, so it "
            "resolves to the server"
            if provider != "this host's own address"
            else "or keep the public name and accept the detour through the host's public address"
        )
        served = "a published port" if k.via == "published" else f"a {k.via} rule"
        yield DOCKER_HAIRPIN.finding(
            severity="warning",
            title=f"{a['name']} calls {name} ({var}) through {provider}, but {b['name']} "
            "serves it on this host",
            detail=f"On this host {name} resolves to {', '.join(addresses[:4])} ({provider}"
            + (f", {hit['range']}" if hit.get("range") else "")
            + f"); {b['name']} serves it ({served}). Each call leaves the server, goes through "
            f"{provider} and comes back: added latency and intermittent ETIMEDOUT.",
            evidence={
                "from": a["name"],
                "to": b["name"],
                "variable": var,
                "name": name,
                "addresses": addresses[:8],
                "provider": provider,
                "served_via": k.via,
                "internal_address": internal,
                "shared_networks": shared,
            },
            suggestion=(
                f"Call it inside the host: {route}; {dns_only}. Prove it: `docker exec {a['name']} "
                f"wget -qO- --timeout=5 {internal}/` ('bad address' = no shared network)."
            ),
            host=host.name,
        )


def findings(facts: Facts, host: HostTarget, extra: Mapping[str, Facts]) -> Iterator[Finding]:
    """docker.network_isolated (automatic and talks=) and docker.hairpin for these facts."""
    found = calls(facts)
    yield from _hairpin(found, host, extra.get("docker_detail") or {})
    yield from _network_isolated(facts, host, found)
