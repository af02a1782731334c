"""What the host's logs and resolver say that most siblings' do not: error groups, DNS answers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from commands.fleet.outliers import HostFacts, Limits, Outlier, having, majority, num, usable
from commands.fleet.words import compared
from ssh_probes.model import Facts
from ssh_probes.rules.base import Thresholds


def log_groups(
    host: str, mine: HostFacts, sibs: Mapping[str, HostFacts], t: Thresholds, lim: Limits
) -> Iterator[Outlier]:
    """Error groups (repeated at least log_repeat_warning times) most siblings do not have."""
    own, others = usable(mine, "logs"), having(sibs, "logs")
    if own is None or not others:
        return
    theirs = {n: {g.get("message") for g in f.get("groups") or []} for n, f in others.items()}
    only = []
    for g in own.get("groups") or []:
        count = num(g.get("count")) or 0
        seen = sum(g.get("message") in msgs for msgs in theirs.values())
        if count >= t.log_repeat_warning and seen * 2 < len(theirs):
            only.append(g)
    if not only:
        return
    only.sort(key=lambda g: -(num(g.get("count")) or 0))
    total = int(sum(num(g.get("count")) or 0 for g in only))
    zero = {n: sum(g.get("message") in msgs for g in only) for n, msgs in theirs.items()}
    top = only[0]
    groups = [
        {"message": g.get("message"), "count": g.get("count"), "source": g.get("source")}
        for g in only[:5]
    ]
    yield Outlier(
        "log",
        "errors",
        f"{len(only)} error group{'s' if len(only) != 1 else ''} ({total:,} lines) in "
        f"{host}'s logs that most siblings do not have; top: {top.get('message')}",
        compared(host, len(only), zero),
        f"On {host}: read {top.get('source')} around {top.get('last_seen')}; the "
        "siblings do not log this, so look at what differs on this host.",
        {"groups": groups, "host_value": len(only), "siblings": zero},
    )


def dns_answers(
    host: str, mine: HostFacts, sibs: Mapping[str, HostFacts], t: Thresholds, lim: Limits
) -> Iterator[Outlier]:
    """A watched name (the `resolve` label) resolving otherwise than on most siblings."""
    own, others = usable(mine, "resolve"), having(sibs, "resolve")
    if own is None or not others:
        return

    def answer(entry: Facts) -> str:
        if entry.get("status") != "ok":
            return str(entry.get("status"))
        return ", ".join(sorted(str(a) for a in entry.get("addresses") or [])) or "no address"

    theirs = {
        n: {str(e.get("name")): answer(e) for e in f.get("names") or []} for n, f in others.items()
    }
    for entry in own.get("names") or []:
        name = str(entry.get("name"))
        answers = {n: names[name] for n, names in theirs.items() if name in names}
        usual = majority(answers) if answers else None
        if usual is None or answer(entry) == usual:
            continue
        yield Outlier(
            "dns",
            name,
            f"{name} resolves otherwise on {host} than on its siblings",
            compared(host, answer(entry), answers),
            f"On {host}: `getent ahosts {name}`, `cat /etc/resolv.conf` and "
            "/etc/hosts; compare with a sibling's.",
            {"name": name, "host_value": answer(entry), "siblings": answers},
        )
