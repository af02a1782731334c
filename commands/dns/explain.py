"""Why two views of a name differ: stale cache (propagation), split horizon, the zone's own
servers disagreeing, or a CDN handing out different edges. Pure functions of the facts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from commands.dns.query import is_internal
from commands.dns.ranges import attribute
from ssh_probes.model import Facts, Severity

FLUSH = "`rndc flushname NAME` (BIND), `unbound-control flush NAME`, `resolvectl flush-caches`"


def _internal(values: Sequence[str]) -> list[str]:
    return [v for v in values if is_internal(v)]


def _one_cdn(groups: Sequence[Sequence[str]]) -> str | None:
    """The CDN every address of every group belongs to, if it is one and the same."""
    names = set()
    for values in groups:
        if not values:
            return None
        for v in values:
            p = attribute(v)
            if p is None or p["kind"] != "cdn":
                return None
            names.add(p["name"])
    return names.pop() if len(names) == 1 else None


Said = tuple[str, str]  # (why the views differ, what to do)


def _flush(name: str) -> str:
    return FLUSH.replace("NAME", name)


def _against_authority(name: str, v: dict[str, Any], auth: dict[str, Any]) -> Said:
    res = v["resolver"]
    said = " ".join(auth["values"]) or auth["rcode"]
    other_view = (
        f"Decide which view clients should get: compare with `dig @{res} {name}` from where "
        "the clients run, and fix the internal zone, forwarder or override if it should match."
    )
    if _internal(v["values"]):
        internal = ", ".join(_internal(v["values"]))
        return (
            f"{res} answers with internal addresses ({internal}) that the zone's servers do "
            f"not serve ({said}): a split horizon (an internal view of the zone).",
            other_view,
        )
    if v["authoritative"]:
        return (
            f"{res} answers authoritatively from its own copy of the zone, which differs from "
            f"the zone's delegated servers ({said}): a split horizon, or a stale copy there.",
            other_view,
        )
    if v["rcode"] == "NXDOMAIN":
        return (
            f"{res} still caches 'does not exist' while the zone's servers say {said}: "
            "negative caching, which ends within the zone's SOA minimum TTL.",
            f"Wait it out, or flush that resolver: {_flush(name)}.",
        )
    if v["ttl"] is not None and auth["ttl"] is not None and v["ttl"] < auth["ttl"]:
        return (
            f"{res} serves a cached answer ({v['ttl']}s of its TTL left) while the zone's "
            f"servers now say {said} (TTL {auth['ttl']}s): a stale cache after a change; it "
            f"expires by itself within {v['ttl']}s (propagation).",
            f"Wait {v['ttl']}s, or flush that resolver's cache: {_flush(name)}.",
        )
    return (
        f"{res}'s answer is fresh (full TTL) yet differs from the zone's servers ({said}): it "
        "sees another view: a split horizon, a forwarder to an internal DNS, or a local "
        "override (hosts file, RPZ).",
        other_view,
    )


def _between(name: str, views: Sequence[dict[str, Any]], ns: Facts | None) -> Said:
    ask_each = " ".join(f"`dig @{v['resolver']} {name}`" for v in views[:3])
    internal = [v["resolver"] for v in views if _internal(v["values"])]
    if internal and len(internal) < len(views):
        return (
            f"{', '.join(internal)} answers with internal addresses and the others do not: a "
            "split horizon (an internal DNS view).",
            "Query the resolver your clients really use; fix the internal zone if it is wrong.",
        )
    if all(v["authoritative"] for v in views):
        if ns and ns.get("problems"):
            return (
                "Both answers are authoritative: the zone's own name servers hold different "
                "data (see dns.inconsistent_ns), so resolvers get whichever server they ask.",
                "Bring the out-of-date name server in line (zone transfer, serial); see "
                "dns.inconsistent_ns.",
            )
        return (
            "Each server answers authoritatively with different data: a split horizon "
            "(separate views of the zone), or one server holds an old copy.",
            f"Compare serials ({ask_each.replace(name, name + ' SOA')}) and decide which view "
            "is right.",
        )
    ttls = [v["ttl"] for v in views if v["ttl"] is not None]
    if ttls and min(ttls) < max(ttls):
        return (
            f"The answers come from caches of different ages (TTLs {sorted(set(ttls))}s): one "
            f"is probably stale after a change; they converge within {max(ttls)}s "
            "(propagation). If they still differ after that, it is a split horizon.",
            f"Wait {max(ttls)}s, or flush the stale resolver: {_flush(name)}.",
        )
    return (
        "Fresh answers that differ: a split horizon, geo-based answers, or an override on one "
        "resolver.",
        f"Ask each directly ({ask_each}) and the zone's servers (`dig {name} +trace`).",
    )


def mismatch(
    name: str, diffs: Sequence[dict[str, Any]], ns: Facts | None
) -> tuple[Severity, str, str]:
    """(severity, why, fix) for the differing views found by the rules."""
    groups = [v["values"] for d in diffs for v in d["views"]]
    groups += [d["authority"]["values"] for d in diffs if "authority" in d]
    cdn = _one_cdn(groups)
    if cdn is not None:
        return (
            "info",
            f"Every answer is a {cdn} address: the CDN gives different resolvers different "
            "edges (geo or load balancing). Expected.",
            "Nothing to fix.",
        )
    whys: list[str] = []
    fixes: list[str] = []
    for d in diffs:
        if "authority" in d:
            why, fix = _against_authority(name, d["views"][0], d["authority"])
        else:
            why, fix = _between(name, d["views"], ns)
        whys += [why] if why not in whys else []
        fixes += [fix] if fix not in fixes else []
    return "warning", " ".join(whys), " ".join(fixes)


def from_host(
    name: str, remote: Facts, bot: Sequence[str]
) -> tuple[Severity, str, str, str] | None:
    """(severity, title, why, fix) when the host resolves `name` otherwise than the bot."""
    host, getent, dig = remote["host"], remote["getent"], remote["dig"]
    check = (
        f"On {host}: `getent ahosts {name}`, `grep -w {name} /etc/hosts`, `cat /etc/resolv.conf`."
    )
    if not getent["available"]:
        return None
    seen = set(getent["addresses"])
    if not seen:
        if not bot:
            return None
        return (
            "warning",
            f"{host} cannot resolve {name}; the bot gets {', '.join(bot)}",
            f"{getent['error'] or 'getent found nothing'}: {host}'s resolver or nsswitch "
            "configuration does not find the name.",
            check,
        )
    wanted = set(bot)
    # Compare IPv6 only when the host returned some: a host without IPv6 may filter AAAA out.
    if not any(":" in a for a in seen):
        wanted = {a for a in wanted if ":" not in a}
    if seen == wanted:
        return None
    title = (
        f"{host} resolves {name} to {', '.join(sorted(seen))}; the bot gets "
        f"{', '.join(sorted(bot)) or 'nothing'}"
    )
    if _one_cdn([sorted(seen), sorted(wanted)]):
        return "info", title, "Both are addresses of the same CDN: edge selection.", "Nothing."
    digged = (
        set(dig.get("addresses") or []) if dig.get("available") and not dig.get("error") else None
    )
    if digged is not None and digged == set(bot):
        why = (
            f"{host}'s DNS resolver agrees with the bot, so getent's answer comes from "
            f"/etc/hosts (or another nsswitch source) on {host}."
        )
        fix = f"Remove or fix the entry: `grep -w {name} /etc/hosts` on {host}."
    elif digged is not None and digged and digged <= seen:
        why = (
            f"{host}'s own resolver (its /etc/resolv.conf) answers differently: an internal "
            "DNS (split horizon) or a stale cache there."
        )
        fix = f"Compare TTLs with `dig {name}` on {host}; flush or fix that resolver."
    else:
        why, fix = f"{host} sees another answer than the bot.", check
    internal = _internal(sorted(seen ^ wanted))
    if internal:
        why += f" Internal addresses ({', '.join(internal)}) point at an internal view."
    return "warning", title, why, fix
