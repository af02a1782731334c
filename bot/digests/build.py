"""Build one digest from the store: hosts, new and resolved findings, DNS changes, forecasts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.digests.forecast import Forecast, describe, forecast
from bot.runs.differs import dns_diff, dns_text
from bot.store import digest_data
from bot.store.db import Store
from bot.store.digest_data import DiskPoint, HostState
from bot.store.digests import DigestRepo, Schedule

FORECAST_WINDOW = timedelta(days=14)
Series = dict[str, list[tuple[datetime, float]]]


@dataclass(frozen=True)
class Digest:
    """Everything one digest post says, plus the baseline for the next one."""

    schedule: Schedule
    slot: datetime
    hosts: list[HostState]
    first: bool  # no earlier posted digest to compare with
    new: list[str] = field(default_factory=list)  # "web-1 disk.full"
    resolved: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    forecasts: list[Forecast] = field(default_factory=list)
    series: Series = field(default_factory=dict)  # "host mount" -> (time, use %)
    fleet: list[str] = field(default_factory=list)  # per group: the hosts that stand out
    snapshot: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> str:
        """`3 hosts: 1 critical, 1 warning, 1 ok`."""
        tally: dict[str, int] = {}
        for h in self.hosts:
            tally[_level(h)] = tally.get(_level(h), 0) + 1
        order = ("critical", "warning", "ok", "no data")
        parts = [f"{tally[k]} {k}" for k in order if tally.get(k)]
        return f"{len(self.hosts)} hosts" + (": " + ", ".join(parts) if parts else "")

    def forecast_lines(self) -> list[str]:
        """Growing first (soonest full first), then noisy and shrinking; flat ones counted."""
        shown = [f for f in self.forecasts if f.kind in ("growing", "noisy", "shrinking")]
        shown.sort(key=lambda f: (f.kind != "growing", f.full_in_s or 0.0, f.host, f.mount))
        lines = [f"{f.host} {describe(f)}" for f in shown]
        flat = sum(f.kind == "flat" for f in self.forecasts)
        short = sum(f.kind == "insufficient" for f in self.forecasts)
        if flat:
            lines.append(f"{flat} other filesystem{'s' if flat != 1 else ''} flat")
        if short:
            lines.append(f"{short} with too little history for a forecast")
        return lines

    def host_lines(self) -> list[str]:
        """One line per host: status, worst finding, which run and when."""
        out = []
        for h in self.hosts:
            if h.run_id is None or h.started_at is None:
                out.append(f"{h.host}: no triage stored yet")
                continue
            ago = _ago(self.slot - h.started_at)
            more = f" (+{len(h.findings) - 1} more)" if len(h.findings) > 1 else ""
            out.append(
                f"{h.host}: {h.status}, {h.worst or 'no findings'}{more}  (run {h.run_id}, {ago})"
            )
        return out

    def lines(self) -> list[str]:
        """The whole digest as plain text lines."""
        s = self.schedule
        when = f"{self.slot:%Y-%m-%d %H:%M} UTC"
        out = [f"Digest {s.id} (hosts={s.hosts}, {s.cron} {s.tz}) for {when}"]
        out.append(self.counts())
        if self.first:
            out.append("First digest of this schedule: nothing earlier to compare with.")
        else:
            out.append("New since the last digest: " + (", ".join(self.new) or "none"))
            out.append("Resolved since the last digest: " + (", ".join(self.resolved) or "none"))
        if self.schedule.domains or self.dns:
            out.append("DNS changes: " + ("; ".join(self.dns) if self.dns else "none"))
        if self.fleet:
            out.append("Groups:")
            out += [f"  {line}" for line in self.fleet]
        out.append("Disk forecasts:")
        out += [f"  {line}" for line in self.forecast_lines()] or ["  no disk history stored"]
        out.append("Hosts:")
        out += [f"  {line}" for line in self.host_lines()] or ["  no watched host matches"]
        return out


def _level(h: HostState) -> str:
    if h.run_id is None:
        return "no data"
    worst = h.findings[0][0] if h.findings else "ok"
    return worst if worst in ("critical", "warning") else "ok"


def _ago(delta: timedelta) -> str:
    s = max(0, int(delta.total_seconds()))
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 172_800:
        return f"{s // 3600} h ago"
    return f"{s // 86_400} days ago"


def disk_points(rows: list[DiskPoint], host: str, inodes: bool = False) -> Series:
    """'host mount' -> (time, use %): space use (or inode use) from each run's stored points."""
    out: Series = {}
    for at, space, inode in rows:
        for mount, pct in (inode if inodes else space).items():
            out.setdefault(f"{host} {mount}", []).append((at, float(pct)))
    return out


def _snapshot(hosts: list[HostState], dns: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    keep = ("kind", "answers", "authoritative", "rcode")
    return {
        "findings": {h.host: sorted({c for _, c in h.findings}) for h in hosts if h.run_id},
        "dns": {
            d: {p: {k: f.get(k) for k in keep} for p, f in probes.items()}
            for d, probes in dns.items()
        },
    }


async def build(store: Store, schedule: Schedule, slot: datetime, now: datetime) -> Digest:
    """The digest of `schedule` for `slot`, compared with its last posted digest."""
    names = await digest_data.watched_hosts(store, schedule.hosts)
    hosts = await digest_data.host_states(store, names)
    repo = DigestRepo(store)
    domains = sorted(set(schedule.domains) | set(await repo.watched()))
    dns = {d: await digest_data.dns_facts(store, d) for d in domains}
    snapshot = _snapshot(hosts, dns)
    baseline = await repo.baseline(schedule.id, slot)
    digest = Digest(schedule, slot, hosts, first=baseline is None, snapshot=snapshot)
    if baseline is not None:
        before: dict[str, list[str]] = baseline.get("findings") or {}
        for host, codes in sorted(snapshot["findings"].items()):
            old = set(before.get(host, []))
            digest.new.extend(f"{host} {c}" for c in codes if c not in old)
            digest.resolved.extend(f"{host} {c}" for c in sorted(old - set(codes)))
        old_dns: dict[str, dict[str, Any]] = baseline.get("dns") or {}
        for domain, probes in sorted(snapshot["dns"].items()):
            for probe, facts in sorted(probes.items()):
                earlier = (old_dns.get(domain) or {}).get(probe)
                change = dns_diff(earlier, facts) if earlier else {}
                if change:
                    digest.dns.append(dns_text(domain, probe, change))
    digest.fleet.extend(await fleet_lines(store, hosts))
    rows = await digest_data.disk_series(store, names, now - FORECAST_WINDOW)
    for host in names:
        for key, points in disk_points(rows.get(host, []), host).items():
            digest.series[key] = points
            mount = key.split(" ", 1)[1]
            digest.forecasts.append(forecast(host, mount, points, now))
        # Inodes run out too (many small files); said only when they are filling up.
        for key, points in disk_points(rows.get(host, []), host, inodes=True).items():
            inode = forecast(host, f"{key.split(' ', 1)[1]} inodes", points, now)
            if inode.kind == "growing":
                digest.forecasts.append(inode)
    return digest


# What the comparison reads; the digest loads only these facts of each host's latest run.
COMPARED_PROBES = (
    "load",
    "stat",
    "disk",
    "sockets",
    "connections",
    "services",
    "docker",
    "logs",
    "resolve",
)


async def fleet_lines(store: Store, hosts: list[HostState]) -> list[str]:
    """One line per `group` label value with two hosts or more: the hosts that stand out."""
    from commands.fleet.compare import Member, stand_out

    labels = await digest_data.host_labels(store, [h.host for h in hosts])
    groups: dict[str, list[HostState]] = {}
    for h in hosts:
        for value in filter(None, labels.get(h.host, {}).get("group", "").split(",")):
            groups.setdefault(value, []).append(h)
    groups = {g: hs for g, hs in groups.items() if len(hs) > 1}
    if not groups:
        return []
    ids = sorted({h.run_id for hs in groups.values() for h in hs if h.run_id is not None})
    facts = await digest_data.run_facts(store, ids, COMPARED_PROBES)
    lines = []
    for value, hs in sorted(groups.items()):
        members = [
            Member(
                h.host,
                facts.get(h.run_id, {}) if h.run_id else {},
                unreachable="" if h.run_id else "no triage stored",
            )
            for h in hs
        ]
        found = stand_out(members, f"group={value}")
        if not found:
            lines.append(f"group={value} ({len(hs)} hosts): no host stands out")
            continue
        said = "; ".join(
            f"{host} ({', '.join(_what(f.evidence) for f in fs)})" for host, fs in found.items()
        )
        lines.append(f"group={value} ({len(hs)} hosts): stand out: {said}")
    return lines


def _what(evidence: Any) -> str:
    """`port 8080`, `disk /var`, `log errors`: an outlier's kind and key."""
    kind, key = evidence.get("kind"), evidence.get("key")
    return str(kind) if kind == key else f"{kind} {key}"
