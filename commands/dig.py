"""`dig DOMAIN [TYPE]... [@RESOLVER[:PORT]]... [--from HOST] [--trace]`: what a name resolves
to, from where, through which CDN, and what that means.

All questions go out at once (every type at every resolver, the authoritative check, the
trace and the --from host) and gathered into one mapping of facts; `commands.dns.rules.evaluate`
turns them into findings, as the host rules do for triage.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dns.resolver

from commands import validate
from commands.dns import authority, remote, rules
from commands.dns import facts as dig_facts
from commands.dns.query import Server, resolve, show
from commands.dns.ranges import RANGES_DIR
from commands.dns.trace import trace
from commands.dns.words import parse_domain, parse_resolver, shown
from commands.report import Report, status_of
from commands.target_guard import AT_THE_MACHINE, Guard
from ssh_probes.errors import InputError
from ssh_probes.model import Facts, Finding, HostTarget, SSHOptions
from ssh_probes.rules.unreachable import unreachable

if TYPE_CHECKING:  # asyncssh is imported only when --from needs it
    from ssh_probes.executor import Executor

USAGE = "usage: dig DOMAIN [TYPE]... [@RESOLVER[:PORT]]... [--from HOST] [--trace]"
DEFAULT_TYPES = ("A", "AAAA", "CNAME", "NS", "SOA", "MX", "TXT", "CAA")
KNOWN_TYPES = (*DEFAULT_TYPES, "PTR", "SRV", "DS", "DNSKEY", "HTTPS", "SVCB", "NAPTR", "TLSA")
MAX_RESOLVERS = 4
# a.root-servers.net .. m.root-servers.net (IANA root hints).
ROOT_SERVERS: tuple[Server, ...] = tuple(
    (ip, 53)
    for ip in (
        "198.41.0.4",
        "170.247.170.2",
        "192.33.4.12",
        "199.7.91.13",
        "192.203.230.10",
        "192.5.5.241",
        "192.112.36.4",
        "198.97.190.53",
        "192.36.148.17",
        "192.58.128.30",
        "193.0.14.129",
        "199.7.83.42",
        "202.12.27.33",
    )
)


@dataclass(frozen=True)
class DigRequest:
    """What the user asked: the name (ASCII/punycode and as typed), types, resolvers, modes."""

    domain: str
    display: str
    types: tuple[str, ...] = ()  # empty: DEFAULT_TYPES
    resolvers: tuple[Server, ...] = ()  # empty: the system resolver
    trace: bool = False
    from_host: str | None = None


@dataclass(frozen=True)
class DigOptions:
    """How to ask: per-query timeout, where --trace starts, the system resolver, range data."""

    timeout_s: float = 2.0
    root_servers: tuple[Server, ...] = ROOT_SERVERS
    system_nameservers: tuple[Server, ...] | None = None  # None: /etc/resolv.conf
    dns_port: int = 53  # for servers found through NS records and referrals (a lab moves it)
    ranges_dir: Path = RANGES_DIR
    check_ns: bool = True
    ssh: SSHOptions = field(default_factory=SSHOptions)


def parse(words: Sequence[str]) -> DigRequest:
    """Parse the words after `dig`; anything that is not plain data is refused in one line."""
    names: list[str] = []
    types: list[str] = []
    resolvers: list[Server] = []
    trace_on, from_host = False, None
    at = 0
    while at < len(words):
        word = words[at]
        at += 1
        if word == "--trace":
            trace_on = True
        elif word == "--from" or word.startswith("--from="):
            value = word.partition("=")[2]
            if not value and at < len(words) and word == "--from":
                value, at = words[at], at + 1
            if not value:
                raise InputError(f"--from needs a host name; {USAGE}")
            from_host = validate.host_name(value)
        elif word.startswith("@"):
            resolvers.append(parse_resolver(word[1:]))
        elif word.startswith("-"):
            raise InputError(f"unknown option {shown(word)}; {USAGE}")
        elif word.upper() in KNOWN_TYPES:
            if word.upper() not in types:
                types.append(word.upper())
        else:
            names.append(word)
    if len(names) != 1:
        raise InputError(("no domain given; " if not names else "give one domain; ") + USAGE)
    if len(resolvers) > MAX_RESOLVERS:
        raise InputError(f"at most {MAX_RESOLVERS} resolvers at once")
    ascii_name, display = parse_domain(names[0])
    return DigRequest(
        ascii_name, display, tuple(types), tuple(dict.fromkeys(resolvers)), trace_on, from_host
    )


def system_resolver(opts: DigOptions) -> Server:
    """The first nameserver of /etc/resolv.conf (or the configured override), as dig uses."""
    if opts.system_nameservers:
        return opts.system_nameservers[0]
    try:
        conf = dns.resolver.Resolver(configure=True)
    except dns.resolver.NoResolverConfiguration:
        raise InputError("no system resolver configured: give one, e.g. @1.1.1.1") from None
    first: Any = conf.nameservers[0]
    if isinstance(first, str):
        return first, conf.port
    return str(first.address), int(getattr(first, "port", conf.port))


async def _from(request: DigRequest, executor: Executor, opts: DigOptions, own: bool) -> Facts:
    """The --from host's view; an unreachable host is data (`error`, `code`), not a raise."""
    try:
        return await remote.resolve_on(executor, request.domain, wait_s=opts.timeout_s)
    finally:
        if own:
            await executor.close()


async def _nothing() -> None:
    return None


async def _gather(
    request: DigRequest,
    opts: DigOptions,
    resolvers: list[Server],
    executor: Executor | None,
    own: bool,
    guard: Guard,
) -> Facts:
    """Every question at once; dig's facts for `rules.evaluate` (see commands.dns.rules)."""
    name, wait_s = request.domain, opts.timeout_s
    types = request.types or DEFAULT_TYPES
    ns_type = "A" if "A" in types else types[0]
    port, refusal = opts.dns_port, guard.refusal
    replies, ns, traced, there = await asyncio.gather(
        asyncio.gather(*(resolve(s, name, t, wait_s=wait_s) for s in resolvers for t in types)),
        authority.check(name, ns_type, resolvers, wait_s=wait_s, dns_port=port, refusal=refusal)
        if opts.check_ns
        else _nothing(),
        trace(
            name,
            ns_type,
            opts.root_servers,
            wait_s=wait_s,
            dns_port=port,
            helpers=resolvers,
            refusal=refusal,
        )
        if request.trace
        else _nothing(),
        _from(request, executor, opts, own) if executor else _nothing(),
    )
    system = not request.resolvers
    queries = [dig_facts.query_facts(r, request.display, system, opts.ranges_dir) for r in replies]
    if there is not None:
        there["bot_addresses"] = dig_facts.bot_addresses(queries, show(resolvers[0]))
    return {
        "name": name,
        "explicit": bool(request.types),
        "queries": queries,
        "ns": ns,
        "trace": traced,
        "from": there,
    }


def _executor(
    request: DigRequest, opts: DigOptions, host: HostTarget | None, given: Executor | None
) -> Executor | None:
    """The executor for --from (the given one, or one for `host`); None without --from."""
    if given is None and host is not None:
        from ssh_probes.executor import executor_for

        given = executor_for(host, opts.ssh)
    if request.from_host and given is None:
        raise InputError(f"--from {request.from_host}: no such registered host")
    return given


def _unreachable(there: Facts | None, host: HostTarget | None, opts: DigOptions) -> list[Finding]:
    """The unreachable-host finding when the --from host could not be reached."""
    if there is None or not there.get("error"):
        return []
    gone = host or HostTarget(name=there["host"])
    detail = there.get("detail") or there["error"]
    timeout_s = opts.ssh.connect_timeout_s
    return [
        unreachable(gone, there["code"], detail, connect_timeout_s=timeout_s, doing="the lookup")
    ]


async def run(
    request: DigRequest,
    options: DigOptions | None = None,
    *,
    from_host: HostTarget | None = None,
    from_executor: Executor | None = None,
    guard: Guard = AT_THE_MACHINE,
) -> Report:
    """Ask everything at once, attribute addresses to providers, evaluate the rules.

    Every `@RESOLVER` must pass `guard` (TargetRefused otherwise, before anything is sent);
    name servers found on the way (NS records, referrals) that it refuses are not asked.
    """
    opts = options or DigOptions()
    for server in request.resolvers:
        guard.check(server[0], None, f"resolver @{show(server)}")
    started_at, t0 = datetime.now(UTC), time.monotonic()
    resolvers = list(request.resolvers) or [system_resolver(opts)]
    executor = _executor(request, opts, from_host, from_executor)
    facts = await _gather(request, opts, resolvers, executor, from_executor is None, guard)
    findings = rules.evaluate(facts) + _unreachable(facts["from"], from_host, opts)
    results = dig_facts.results(facts)
    return Report(
        command="dig",
        target=request.domain,
        status=status_of(results),
        started_at=started_at,
        duration_ms=int((time.monotonic() - t0) * 1000),
        findings=tuple(findings),
        results=tuple(results),
    )
