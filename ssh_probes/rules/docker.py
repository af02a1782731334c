"""Docker rules: docker.restarting and docker.network_isolated.

`talks=A:B,C:D` in the host's registry labels names containers that must reach each other
by name; Docker resolves names only on a shared user-defined network (the seed's incident:
two Coolify projects, two networks, the dashboard calling Supabase through its public name).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.rules.base import Rule, Thresholds

DOCKER_NETWORK_ISOLATED = Code(
    "docker.network_isolated",
    "host",
    "Containers that must talk share no network",
    "Containers resolve each other by name only on a shared Docker network.",
    "`docker network connect NETWORK CONTAINER`, or use the internal address on one.",
)

DOCKER_RESTARTING = Code(
    "docker.restarting",
    "host",
    "Container restarting",
    "A container keeps restarting (crash loop or failing health check).",
    "`docker logs --tail 200 CONTAINER` and `docker inspect` for its exit code and OOM flag.",
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

CODES = (DOCKER_NETWORK_ISOLATED, DOCKER_RESTARTING, DOCKER_HAIRPIN)


# Networks on which Docker's embedded DNS does not resolve container names.
NO_NAMES = frozenset({"bridge", "host", "none"})
_EXIT_HINT = {
    137: "137 = SIGKILL: the OOM killer or `docker kill`/a stop timeout",
    139: "139 = SIGSEGV: the process crashed",
    143: "143 = SIGTERM: it was stopped",
    1: "1 = the application exited with an error: its last log lines say why",
}


def talk_pairs(value: str) -> list[tuple[str, str]]:
    """`dashboard:supabase-kong,api:db` -> [("dashboard", "supabase-kong"), ("api", "db")]."""
    pairs = []
    for item in value.split(","):
        a, sep, b = item.strip().partition(":")
        if sep and a and b and ":" not in b:
            pairs.append((a, b))
    return pairs


def _mib(n: int) -> str:
    return f"{n / 1048576:.0f} MiB"


def _restarting(
    facts: Facts, host: HostTarget, t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    for c in facts["containers"]:
        name, count, code = c["name"], c["restart_count"], c["exit_code"]
        looping = c["state"] == "restarting"
        oom = c["oom_killed"] and c["state"] in ("exited", "dead", "restarting")
        if not (looping or oom or count >= t.docker_restarts_warning):
            continue
        why = []
        if looping:
            why.append("in state restarting")
        if oom:
            why.append("killed for lack of memory (OOMKilled)")
        why.append(f"{count} restarts, last exit code {code}")
        limit = c["memory_limit"]
        memory = (
            f"Its memory limit is {_mib(limit)}: raise it (e.g. `docker update --memory "
            f"{2 * limit // 1048576}m --memory-swap {2 * limit // 1048576}m {name}`, or "
            "mem_limit in compose) or find what grows."
            if limit
            else "It has no memory limit: the host itself ran short; check `free -h` and "
            "what else grew, or set a limit so one container cannot starve the rest."
        )
        hint = _EXIT_HINT.get(code, "")
        yield DOCKER_RESTARTING.finding(
            severity="critical" if looping or oom else "warning",
            title=f"container {name} " + ", ".join(why),
            detail=(c.get("status") or f"state {c['state']}") + (f"; exit {hint}" if hint else ""),
            evidence={
                "container": name,
                "image": c["image"],
                "state": c["state"],
                "status": c.get("status"),
                "restart_count": count,
                "exit_code": code,
                "oom_killed": c["oom_killed"],
                "restart_policy": c["restart_policy"],
                "memory_limit": limit,
            },
            suggestion=(
                f"Read why it stops: `docker logs --tail 200 {name}` and "
                f"`docker inspect {name} --format '{{{{.State.OOMKilled}}}} "
                f"{{{{.State.ExitCode}}}}'`. "
                + (memory if oom or code == 137 else f"If it runs out of memory: {memory}")
            ),
            host=host.name,
        )


def _find(containers: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """By container name; else by a network alias that only one container has."""
    for c in containers:
        if c["name"] == name:
            return c
    by_alias = [c for c in containers if any(name in n["aliases"] for n in c["networks"])]
    return by_alias[0] if len(by_alias) == 1 else None


def _isolated(a: dict[str, Any], b: dict[str, Any], pair: str, host: HostTarget) -> Finding:
    nets_a = [n["name"] for n in a["networks"]]
    nets_b = [n["name"] for n in b["networks"]]
    shared = sorted(set(nets_a) & set(nets_b))
    port = b["ports"][0] if b["ports"] else "PORT"
    internal = f"http://{b['name']}:{port}"
    served = {h["host"] for h in b["proxy_hosts"]}
    via_public = [e for e in a["url_env"] if e["host"] in served]
    user_nets = [n for n in nets_b if n not in NO_NAMES]
    if user_nets:
        connect = f"`docker network connect {user_nets[0]} {a['name']}`"
    else:  # B is only on the default bridge (or host/none): give both a network of their own
        connect = (
            f"`docker network create {b['name']}-net`, then `docker network connect "
            f"{b['name']}-net {b['name']}` and `docker network connect {b['name']}-net {a['name']}`"
        )
    env = (
        f"; set {', '.join(e['name'] for e in via_public)} to `{internal}` instead of the "
        f"public name {via_public[0]['host']}"
        if via_public
        else f"; use the internal address `{internal}` instead of a public name"
    )
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
            "public_names_in_env": [{"name": e["name"], "host": e["host"]} for e in via_public],
        },
        suggestion=(
            f"Connect them: {connect}{env}. Check from inside: `docker exec {a['name']} wget "
            f"-qO- --timeout=5 http://{b['name']}:{port}/` ('bad address' = different networks)."
        ),
        host=host.name,
    )


def _network_isolated(
    facts: Facts, host: HostTarget, _t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    containers = facts["containers"]
    for a_name, b_name in talk_pairs(host.labels.get("talks", "")):
        pair = f"{a_name}:{b_name}"
        a, b = _find(containers, a_name), _find(containers, b_name)
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
        nets_a = {n["name"] for n in a["networks"]} - NO_NAMES
        if nets_a & ({n["name"] for n in b["networks"]} - NO_NAMES):
            continue
        yield _isolated(a, b, pair, host)


def _docker(
    facts: Facts, host: HostTarget, t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    yield from _restarting(facts, host, t, extra)
    yield from _network_isolated(facts, host, t, extra)


RULES: dict[str, Rule] = {"docker": _docker}
