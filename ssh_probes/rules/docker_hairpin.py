"""docker.hairpin: a container calls, by its public name, a service served on the same host.

The served name (a Traefik/Caddy/nginx-proxy/Coolify rule, or a published port) resolves on
the host (docker_detail's `getent ahosts`) to a CDN/proxy range (attributed in
commands/triage.py from the shipped range lists) or to the host's own address: every call
leaves the server and comes back through the proxy (the seed: Cloudflare, intermittent
ETIMEDOUT). The fix names the real containers, variable, network and internal address.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Finding, HostTarget
from ssh_probes.rules.docker_calls import Call, connect_hint, internal_port, user_nets

DOCKER_HAIRPIN = Code(
    "docker.hairpin",
    "host",
    "Container calls a proxied public name served on the same host",
    "The call leaves the server, goes through the CDN or proxy and comes back: added latency and "
    "intermittent ETIMEDOUT.",
    "Point the variable at the internal address on a shared network (e.g. "
    "`http://supabase-kong:8000`) or make the DNS record DNS-only.",
)

CODES = (DOCKER_HAIRPIN,)


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


def hairpin(found: list[Call], host: HostTarget, detail: Mapping[str, Any]) -> Iterator[Finding]:
    """docker.hairpin for each call through a served name that leaves the host and returns."""
    for k in found:
        if k.via == "name":
            continue
        name = str(k.var["host"]).lower()
        via = _hairpin_via(name, detail)
        if via is None:
            continue
        provider, addresses, hit = via
        a, b, var = k.caller, k.target, k.var["name"]
        internal = f"http://{b['name']}:{internal_port(k)}"
        shared = sorted(set(user_nets(a)) & set(user_nets(b)))
        route = (
            f"they share {shared[0]}: set {var}=`{internal}` in {a['name']}"
            if shared
            else f"put them on one network ({connect_hint(a, b)}) and set {var}=`{internal}` "
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
