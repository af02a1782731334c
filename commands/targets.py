"""Which addresses a command may reach: the policy's `targets:` rules and the built-in defaults.

Pure: no DNS, no sockets. `normalise` turns every spelling of an address into one canonical
IP (decimal `2852039166`, octal/hex `0251.0376.0251.0376` and `0xa9fea9fe`, short `127.1`,
brackets, `[::ffff:169.254.169.254]`, trailing dots, upper case); `decide` says whether one
resolved address (and the name it came from) may be reached, and which rule says so.

Order: the command's section, then the global one; inside a section the most specific rule
wins (a name before any CIDR, a longer prefix before a shorter one, deny on a tie). Then the
built-in defaults: cloud metadata and link-local are always refused, the bot's own loopback
and unspecified addresses are refused for remote requesters (Slack, the scheduler). A
built-in refusal is lifted only by an `allow` CIDR inside the refused range (`0.0.0.0/0`
does not open metadata); a name `allow` never lifts it (DNS could point it anywhere).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from commands import validate
from ssh_probes.errors import ConfigError, InputError

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
Addr = ipaddress.IPv4Address | ipaddress.IPv6Address

# Per-command sections; `from` is what curl on a `--from` host may reach.
COMMANDS = ("http", "dig", "triage-port", "from")
_HOW = "allow it under targets: in the policy"


def _nets(*texts: str) -> tuple[Net, ...]:
    return tuple(ipaddress.ip_network(t) for t in texts)


# (networks, what they are, refused for every requester?). 100.64.0.0/10 (CGNAT) is NOT
# here: it carries ordinary internal services (Tailscale, some Kubernetes pod ranges); only
# Alibaba's metadata address inside it is refused.
# 168.63.129.16 is Azure's host endpoint (WireServer), reachable only from inside Azure.
METADATA = _nets("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
BUILTIN: tuple[tuple[tuple[Net, ...], str, bool], ...] = (
    (METADATA, "cloud metadata", True),
    (_nets("169.254.0.0/16", "fe80::/10"), "link-local", True),
    (_nets("224.0.0.0/4", "ff00::/8", "255.255.255.255/32"), "multicast or broadcast", True),
    (_nets("127.0.0.0/8", "::1/128"), "the bot's own loopback", False),
    (_nets("0.0.0.0/8", "::/128"), "an unspecified address (the bot itself)", False),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMBER = re.compile(r"^(0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)$")


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """What inet_aton (and so getaddrinfo and curl) makes of `127.1`, `0x7f000001`, `0177.0.0.1`."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER.fullmatch(p) for p in parts):
        return None
    try:
        nums = [int(p, 16) if p.startswith("0x") else int(p, 8 if p != "0" and p[0] == "0" else 10)
                for p in parts]  # fmt: skip
    except ValueError:  # a bare "0x"
        return None
    last_bits = 8 * (5 - len(nums))
    if any(n > 255 for n in nums[:-1]) or nums[-1] >= 1 << last_bits:
        return None
    value = nums[-1]
    for i, n in enumerate(nums[:-1]):
        value |= n << (24 - 8 * i)
    return ipaddress.IPv4Address(value)


def normalise(text: str) -> Addr | None:
    """The IP a host text means, in any spelling; None for a DNS name."""
    host = text.strip().rstrip(".").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.split("%", 1)[0]  # an IPv6 zone id does not change the address
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _inet_aton(host)


def numeric_host(text: str) -> bool:
    """True when the last label is a number: an IPv4 spelling (or junk), never a DNS name."""
    last = text.strip().rstrip(".").lower().rsplit(".", 1)[-1]
    return bool(_NUMBER.fullmatch(last)) or last.startswith("0x")


def embedded(ip: Addr) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, -compatible, 6to4 or NAT64 IPv6 address."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    value = int(ip)
    if ip in _NAT64 or (value >> 32 == 0 and value > 0xFFFF):  # NAT64, or ::a.b.c.d
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


def name_of(text: str) -> str:
    """A rule's or a host's name in canonical form: IDNA, lower case, no trailing dot."""
    return validate.domain(text)


@dataclass(frozen=True)
class Section:
    """One `allow`/`deny` pair: CIDRs and names (`*.example.com` covers its subdomains)."""

    where: str = "targets"
    allow: tuple[Net, ...] = ()
    deny: tuple[Net, ...] = ()
    allow_names: tuple[str, ...] = ()
    deny_names: tuple[str, ...] = ()

    def match(self, ip: Addr, name: str | None) -> tuple[str, str, Net | None] | None:
        """('allow'|'deny', the rule as written, its network) of the most specific match."""
        if name:
            hits = [(len(p), v, p) for v, ps in (("deny", self.deny_names),
                    ("allow", self.allow_names)) for p in ps if _name_hit(p, name)]  # fmt: skip
            if hits:
                _, verdict, rule = max(hits, key=lambda h: (h[0], h[1] == "deny"))
                return verdict, rule, None
        nets = [(n.prefixlen, v, n) for v, ns in (("deny", self.deny), ("allow", self.allow))
                for n in ns if n.version == ip.version and ip in n]  # fmt: skip
        if not nets:
            return None
        _, verdict, net = max(nets, key=lambda h: (h[0], h[1] == "deny"))
        return verdict, str(net), net


def _name_hit(rule: str, name: str) -> bool:
    if rule.startswith("*."):
        return name.endswith(rule[1:])
    return name == rule


@dataclass(frozen=True)
class Targets:
    """The global section and one per command (COMMANDS)."""

    everywhere: Section = field(default_factory=Section)
    commands: dict[str, Section] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """Allowed, or refused with the one line that says which rule refused and what to do."""

    allowed: bool
    reason: str = ""


def _section(data: Any, where: str) -> Section:
    if data is None:
        return Section(where)
    if not isinstance(data, dict) or set(data) - {"allow", "deny"}:
        raise ConfigError(f"policy file: {where} takes only `allow` and `deny` lists")
    lists: dict[str, tuple[list[Net], list[str]]] = {"allow": ([], []), "deny": ([], [])}
    for key, (nets, names) in lists.items():
        items = data.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"policy file: {where}.{key} must be a list of CIDRs or names")
        for item in items:
            try:
                nets.append(ipaddress.ip_network(item.strip().strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            wild = item.strip().startswith("*.")
            try:
                names.append(("*." if wild else "") + name_of(item.strip()[2 if wild else 0 :]))
            except InputError:
                raise ConfigError(f"policy file: {where}.{key}: {item!r} is neither a CIDR "
                                  "nor a DNS name") from None  # fmt: skip
    return Section(where, tuple(lists["allow"][0]), tuple(lists["deny"][0]),
                   tuple(lists["allow"][1]), tuple(lists["deny"][1]))  # fmt: skip


def parse_targets(data: Any) -> Targets:
    """The policy file's `targets:` section; a wrong shape is a ConfigError."""
    if data is None:
        return Targets()
    if not isinstance(data, dict) or set(data) - {"allow", "deny", "commands"}:
        raise ConfigError("policy file: `targets` takes `allow`, `deny` and `commands`")
    per = data.get("commands") or {}
    if not isinstance(per, dict) or set(per) - set(COMMANDS):
        raise ConfigError(f"policy file: targets.commands takes only {', '.join(COMMANDS)}")
    glob = {k: v for k, v in data.items() if k != "commands"}
    return Targets(_section(glob, "targets"),
                   {c: _section(per[c], f"targets.commands.{c}") for c in per})  # fmt: skip


def _builtin(ip: Addr, remote: bool) -> tuple[tuple[Net, ...], str, bool] | None:
    for nets, what, always in BUILTIN:
        if (always or remote) and any(ip.version == n.version and ip in n for n in nets):
            return tuple(n for n in nets if n.version == ip.version and ip in n), what, always
    return None


def _inside(small: Net, big: Net) -> bool:
    return small.version == big.version and small.subnet_of(big)  # type: ignore[arg-type]


def _one(ip: Addr, name: str | None, command: str, targets: Targets, remote: bool) -> Verdict:
    shown = f"{name} ({ip})" if name else str(ip)
    lifted: list[Net] = []
    sections = [targets.commands.get(command), targets.everywhere]
    for section in (s for s in sections if s is not None):
        hit = section.match(ip, name)
        if hit is None:
            continue
        verdict, rule, net = hit
        if verdict == "deny":
            return Verdict(False, f"refused: {shown} is denied by {section.where}.deny {rule}")
        if net is not None:
            lifted.append(net)
        break
    builtin = _builtin(ip, remote)
    if builtin is not None:
        nets, what, always = builtin
        if not any(_inside(a, n) for a in lifted for n in nets):
            where = "default" if always else "from Slack"
            return Verdict(False, f"refused: {shown} is {what} ({where} deny; {_HOW})")
    return Verdict(True)


def decide(ip: Addr, name: str | None, command: str, targets: Targets, remote: bool) -> Verdict:
    """May `command` reach `ip` (resolved from `name`)? The embedded IPv4 is checked too."""
    verdict = _one(ip, name, command, targets, remote)
    inner = embedded(ip)
    if verdict.allowed and inner is not None:
        inside = _one(inner, name, command, targets, remote)
        if not inside.allowed:
            return Verdict(False, inside.reason.replace(f"{inner}", f"{ip} = {inner}", 1))
    return verdict
