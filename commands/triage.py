"""`triage HOST [port N]`: run the routine's probes on one host and turn facts into findings.

With `port N` the report answers "why is N refused or timing out": N is treated as an
expected port (is anything listening, on which address) and the bot also connects to it from
outside, so "not listening", "loopback only" and "listening but filtered" are told apart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from commands import reach, validate
from commands.dns.ranges import attribute
from commands.hosts import selector as selector  # re-exported: label selectors
from commands.hosts import selects as selects
from commands.report import Report, Status, status_of
from commands.target_guard import AT_THE_MACHINE, Guard
from commands.web import certs
from commands.web.request import HttpOptions, HttpRequest
from commands.web.request import parse as parse_url
from ssh_probes.checks import DEFAULT_PROBES, evaluate, follow_up_probes
from ssh_probes.errors import ExecutorError, InputError
from ssh_probes.executor import Executor, SSHOptions, executor_for
from ssh_probes.model import Finding, HostTarget, ProbeConfig, ProbeResult
from ssh_probes.probes import build
from ssh_probes.rules import Thresholds
from ssh_probes.rules.unreachable import unreachable
from ssh_probes.runner import run_probes

USAGE = (
    "usage: /triage HOST [port N] [url URL] | /triage HOST compare LABEL=VALUE"
    "   (HOST: a registered host name, or `local`)"
)


@dataclass(frozen=True)
class TriageRequest:
    """What the user asked for: a host name (validated, not yet looked up), maybe a port."""

    host: str
    port: int | None = None
    url: HttpRequest | None = None
    compare: tuple[str, str] | None = None  # `compare group=web`: with its siblings


@dataclass(frozen=True)
class TriageOptions:
    """How to run: SSH limits, thresholds and which probes."""

    ssh: SSHOptions = field(default_factory=SSHOptions)
    thresholds: Thresholds = field(default_factory=Thresholds)
    probes: tuple[str, ...] = DEFAULT_PROBES
    probe_config: ProbeConfig = field(default_factory=ProbeConfig)
    http: HttpOptions = field(default_factory=HttpOptions)


def parse(text: str | Sequence[str]) -> TriageRequest:
    """Parse the text (or the words) after `/triage`: `HOST [port N] [url URL]`, or
    `HOST compare LABEL=VALUE`."""
    words = validate.words_of(text)
    if not words or len(words) % 2 == 0 or len(words) > 5:
        raise InputError(USAGE)
    host = validate.host_name(words[0])
    if words[1:2] and words[1].lower() == "compare":
        chosen = selector(words[2]) if len(words) == 3 else None
        if chosen is None:
            raise InputError("usage: /triage HOST compare LABEL=VALUE   (e.g. group=web)")
        return TriageRequest(host=host, compare=chosen)
    port: int | None = None
    url: HttpRequest | None = None
    for key, value in zip(words[1::2], words[2::2], strict=True):
        key = key.lower()
        if key == "port" and port is None and value.isdigit() and len(value) <= 5:
            port = validate.port(int(value))
        elif key == "url" and url is None:
            url = parse_url([value])
        else:
            raise InputError(USAGE)
    return TriageRequest(host=host, port=port, url=url)


def symptom_target(
    host: str, port: int | None, url: HttpRequest | None, compare: tuple[str, str] | None = None
) -> str:
    """The stored target: `web-1`, `web-1 port 443`, `web-1 url https://...`,
    `web-1 compare group=web`."""
    parts = [host]
    if compare is not None:
        parts.append(f"compare {compare[0]}={compare[1]}")
    if port is not None:
        parts.append(f"port {port}")
    if url is not None:
        parts.append(f"url {url.shown}")
    return " ".join(parts)


def _attribute(results: list[ProbeResult]) -> None:
    """Which provider (CDN, cloud) each address docker_detail resolved belongs to.

    Rules cannot import commands, so the shipped range lists are applied here, once.
    """
    for r in results:
        if r.probe == "docker_detail" and r.ok:
            addresses = {a for found in r.facts.get("names", {}).values() for a in found}
            hits = {a: attribute(a) for a in sorted(addresses)}
            r.facts["providers"] = {a: hit for a, hit in hits.items() if hit is not None}


async def run(
    host: HostTarget,
    options: TriageOptions | None = None,
    *,
    port: int | None = None,
    url: HttpRequest | None = None,
    guard: Guard = AT_THE_MACHINE,
    executor: Executor | None = None,
) -> Report:
    """Connect once, run every probe concurrently, evaluate the rules.

    `executor`, when given, is `host`'s, made by the caller (maybe already connecting:
    SSHExecutor.start_connect); run closes it as it closes its own.

    With `port`, that port is expected to listen for this run, and the bot connects to it
    from outside at the same time as the probes run. With `url`, the HTTP check runs on the
    host (curl, over the same connection) and from the bot, and the two are compared.
    Both pass `guard` (sections `triage-port` and `http`) before anything runs.
    """
    opts = options or TriageOptions()
    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    outside = None
    if url is not None:  # literal addresses and pins refused before the host is touched
        from commands import http  # httpx and the web checks: only with `url` (start-up)

        http.precheck(url, guard)
    if port is not None:
        host = replace(host, expect_ports=tuple(sorted({*host.expect_ports, port})))
        allowed = await guard.for_command("triage-port").resolve(
            host.address or host.name,
            port,
            opts.ssh.connect_timeout_s,
            f"port check of {host.name}",
        )  # resolved once: the connection goes to the address that was checked
        outside = asyncio.ensure_future(
            reach.tcp_connect(host, port, opts.ssh.connect_timeout_s, address=allowed[0])
        )
    # The certificates of the host's expected TLS ports, read by the bot alongside the probes.
    certificates = asyncio.ensure_future(
        certs.check_ports(host, guard.for_command("triage-port"), opts.ssh.connect_timeout_s)
    )
    probes = [build(name, opts.probe_config) for name in opts.probes]
    probes = [p for p in probes if p.applies is None or p.applies(host)]
    findings: list[Finding] = []
    results: list[ProbeResult] = []
    web: Report | None = None
    executor = executor or executor_for(host, opts.ssh)
    try:
        await executor.connect()
        checked = (
            http.run(url, opts.http, from_host=host, from_executor=executor, guard=guard)
            if url is not None
            else _nothing()
        )
        results, web = await asyncio.gather(run_probes(executor, probes, host), checked)
        results += await run_probes(executor, follow_up_probes(results, opts.thresholds), host)
        _attribute(results)
    except ExecutorError as exc:
        findings.append(
            unreachable(host, exc.code, exc.detail, connect_timeout_s=opts.ssh.connect_timeout_s)
        )
        if url is not None:  # the host is out of reach; the bot's own view still helps
            web = await http.run(url, opts.http, guard=guard)
    except BaseException:
        certificates.cancel()
        if outside is not None:
            outside.cancel()
        raise
    finally:
        await executor.close()
    if results:
        findings.extend(evaluate(results, host, opts.thresholds))
    status: Status = status_of(results) if results else "failed"
    if outside is not None and port is not None:
        results.append(await outside)
        ok_facts = {r.probe: r.facts for r in results if r.ok}
        findings.extend(reach.port_findings(host, port, ok_facts))
    tls = await certificates
    results.extend(tls)
    findings.extend(
        certs.port_findings(
            tls, host, opts.http.tls_expiry_warning_days, opts.http.tls_expiry_critical_days
        )
    )
    if web is not None:
        results.extend(web.results)
        findings.extend(web.findings)
    return Report(
        command="triage",
        target=symptom_target(host.name, port, url),
        status=status,
        started_at=started_at,
        duration_ms=int((time.monotonic() - t0) * 1000),
        findings=tuple(findings),
        results=tuple(results),
    )


async def _nothing() -> None:
    return None
