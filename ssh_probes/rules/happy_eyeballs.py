"""log.happy_eyeballs_timeout: Node's `fetch failed` / `AggregateError [ETIMEDOUT]` raised in
`internalConnectMultiple`, in a container's logs (docker_detail) or the host's (logs).

Node connects to every address of the name in turn (IPv6 and IPv4, "happy eyeballs") and
gives up when all time out. The seed's order: prove the path from inside the container, look
at the name's addresses (an AAAA that does not route is a classic), then rule IPv6 out with
`NODE_OPTIONS=--dns-result-order=ipv4first`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, HostTarget
from ssh_probes.rules.base import Rule, Thresholds

LOG_HAPPY_EYEBALLS_TIMEOUT = Code(
    "log.happy_eyeballs_timeout",
    "host",
    "Node connect timed out on every address (happy eyeballs)",
    "`AggregateError [ETIMEDOUT]` at `internalConnectMultiple`: Node tried each address of the "
    "name (IPv6 and IPv4) and none answered: a path, proxy or IPv6 problem, not the code.",
    "Test from inside the container (`wget -qO- --timeout=5 URL`), check the name's A/AAAA "
    "records, then `NODE_OPTIONS=--dns-result-order=ipv4first` to rule IPv6 out.",
)

CODES = (LOG_HAPPY_EYEBALLS_TIMEOUT,)

_PATTERN = re.compile(r"AggregateError\s*\[?\(?ETIMEDOUT|internalConnectMultiple")
_FIX = (
    "Set `NODE_OPTIONS=--dns-result-order=ipv4first` in its environment to rule IPv6 out "
    "(the seed's step 3); if it still times out, suspect the proxy or load balancer on the path."
)


def _names(facts: Facts, container_id: str, detail: Mapping[str, Any]) -> list[str]:
    """'name -> addresses' for the hosts this container's environment calls."""
    out = []
    for c in facts.get("containers") or []:
        if c["id"] != container_id:
            continue
        for var in c["url_env"]:
            addresses = (detail.get("names") or {}).get(str(var["host"]).lower())
            if addresses:
                v6 = [a for a in addresses if ":" in a]
                shown = ", ".join(addresses[:4]) + (" (has IPv6)" if v6 else " (IPv4 only)")
                out.append(f"{var['host']} ({var['name']}) -> {shown}")
    return out


def _containers(
    detail: Facts, host: HostTarget, _t: Thresholds, extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    docker = extra.get("docker") or {}
    names = {c["id"]: c["name"] for c in docker.get("containers") or []}
    for cid, logs in sorted((detail.get("logs") or {}).items()):
        hit = logs.get("happy_eyeballs")
        if not hit:
            continue
        name = names.get(cid, cid)
        resolved = _names(docker, cid, detail)
        yield LOG_HAPPY_EYEBALLS_TIMEOUT.finding(
            severity="warning",
            title=f"container {name}: {hit['count']} connect timeouts on every address "
            "(AggregateError [ETIMEDOUT], internalConnectMultiple)",
            detail=f"Example: {hit['example']}. "
            + (f"The names it calls: {'; '.join(resolved)}. " if resolved else "")
            + "Node tried each address of the name (IPv6 and IPv4) and none answered.",
            evidence={
                "container": name,
                "count": hit["count"],
                "example": hit["example"],
                "names": resolved,
            },
            suggestion=f"`docker exec {name} wget -qO- --timeout=5 URL` proves the path; "
            f"`getent ahosts NAME` on the host shows its A/AAAA addresses. {_FIX}",
            host=host.name,
        )


def _host_logs(
    logs: Facts, host: HostTarget, _t: Thresholds, _extra: Mapping[str, Facts]
) -> Iterator[Finding]:
    # Groups keep only their headline; their `timeout` flag was computed on the whole entry,
    # so Node's `fetch failed` whose continuation says ETIMEDOUT is recognised by the two.
    trace = logs.get("first_trace") or {}
    texts = [
        (str(g.get("source", "")), int(g.get("count", 1)), str(g.get("example", "")))
        for g in logs.get("groups") or []
        if _PATTERN.search(str(g.get("example", "")))
        or (g.get("timeout") and "fetch failed" in str(g.get("example", "")))
    ] + [
        (str(trace.get("source", "")), 1, line)
        for line in trace.get("lines") or []
        if _PATTERN.search(line)
    ]
    hits = texts
    if not hits:
        return
    sources = sorted({s for s, _, _ in hits})
    yield LOG_HAPPY_EYEBALLS_TIMEOUT.finding(
        severity="warning",
        title=f"{', '.join(sources)}: connect timeouts on every address "
        "(AggregateError [ETIMEDOUT], internalConnectMultiple)",
        detail=f"Example: {hits[0][2][:300]}. Node tried each address of the name (IPv6 and "
        "IPv4) and none answered.",
        evidence={
            "sources": sources,
            "count": sum(c for _, c, _ in hits),
            "example": hits[0][2][:300],
        },
        suggestion="`dig A NAME` and `dig AAAA NAME` (or `getent ahosts NAME`) show what it "
        f"tries; `curl -v URL` from the host proves the path. {_FIX}",
        host=host.name,
    )


RULES: dict[str, Rule] = {"docker_detail": _containers, "logs": _host_logs}
