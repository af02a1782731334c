"""`http URL`: refused vs timeout vs 5xx vs TLS, with a timing breakdown, optionally from a host.

The parts live in `commands/web/`: `request` (parse and validate), `fetch` (the bot's own
view with httpx), `curl` (the same check on a registered host), `verdict` (facts -> findings).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime

from commands import validate
from commands.report import Report, status_of
from commands.target_guard import AT_THE_MACHINE, Guard
from commands.web import verdict
from commands.web.curl_hops import HopFailed, remote_view
from commands.web.fetch import fetch
from commands.web.request import HttpOptions, HttpRequest, Pin, parse
from ssh_probes.errors import ExecutorError, InputError
from ssh_probes.executor import Executor, SSHOptions, executor_for
from ssh_probes.model import LOCAL_HOST, Facts, Finding, HostTarget, ProbeResult
from ssh_probes.rules.unreachable import unreachable
from ssh_probes.runner import could_not_run

__all__ = ["HttpOptions", "HttpRequest", "Pin", "parse", "run"]

AREA = "http"
# Facts outcomes that are not a classified answer: the check itself did not work.
_BROKEN = ("http.error", "curl.error")


def _result(probe: str, host: str, facts: Facts, ms: int, raw: str = "") -> ProbeResult:
    ok = facts.get("outcome") not in _BROKEN and facts.get("available", True)
    error = "" if ok else str(facts.get("detail") or facts.get("why") or "check failed")
    return ProbeResult(probe, host, bool(ok), facts, error, ms, AREA, raw)


async def _local(request: HttpRequest, opts: HttpOptions, guard: Guard) -> ProbeResult:
    t0 = time.monotonic()
    facts = await fetch(request, opts, guard)
    return _result("http", LOCAL_HOST, facts, int((time.monotonic() - t0) * 1000))


def _unreachable(
    host: HostTarget, code: str, detail: str, ms: int, opts: HttpOptions
) -> tuple[ProbeResult, list[Finding]]:
    gone = unreachable(
        host, code, detail, connect_timeout_s=opts.connect_timeout_s, doing="the curl check"
    )
    return ProbeResult("curl", host.name, False, {}, detail, ms, AREA), [gone]


async def _remote(
    request: HttpRequest,
    opts: HttpOptions,
    host: HostTarget,
    executor: Executor | None,
    guard: Guard,
) -> tuple[ProbeResult, list[Finding]]:
    t0 = time.monotonic()
    own = executor is None
    ex = executor or executor_for(
        host, SSHOptions(command_timeout_s=opts.total_timeout_s + opts.connect_timeout_s)
    )
    try:
        if own:
            await ex.connect()
        facts, raw = await remote_view(request, opts, ex, guard.for_command("from"))
    except ValueError as exc:  # e.g. a redirect to a URL with an impossible port
        ms = int((time.monotonic() - t0) * 1000)
        return ProbeResult("curl", host.name, False, {}, str(exc), ms, AREA), []
    except ExecutorError as exc:  # connecting (own executor) failed
        ms = int((time.monotonic() - t0) * 1000)
        return _unreachable(host, exc.code, exc.detail, ms, opts)
    except HopFailed as failed:
        ms = int((time.monotonic() - t0) * 1000)
        gone = could_not_run(failed.result)
        if gone is not None:
            return _unreachable(host, *gone, ms, opts)
        return ProbeResult("curl", host.name, False, {}, failed.result.error, ms, AREA), []
    finally:
        if own:
            await ex.close()
    ms = int((time.monotonic() - t0) * 1000)
    facts.setdefault("url", request.shown)
    facts["port"] = request.port
    return _result("curl", host.name, facts, ms, raw), []


def precheck(request: HttpRequest, guard: Guard) -> None:
    """Refuse a literal address or a `--resolve` pin before anything runs (names: per hop)."""
    if validate.ip_address(request.host) is not None:
        guard.check(request.host)
    for pin in request.pins:
        guard.check(pin.ip, pin.host, "--resolve pin")


async def _both(
    first: Awaitable[ProbeResult], second: Awaitable[tuple[ProbeResult, list[Finding]]]
) -> tuple[ProbeResult, tuple[ProbeResult, list[Finding]]]:
    """Both at once; when one fails (a refused hop), the other is cancelled, not left running."""
    one, two = asyncio.ensure_future(first), asyncio.ensure_future(second)
    try:
        await asyncio.wait({one, two}, return_when=asyncio.FIRST_EXCEPTION)
        return one.result(), two.result()  # raises the first failure; the finally cancels
    finally:
        for task in (one, two):
            task.cancel()
        await asyncio.gather(one, two, return_exceptions=True)


async def run(
    request: HttpRequest,
    options: HttpOptions | None = None,
    *,
    from_host: HostTarget | None = None,
    from_executor: Executor | None = None,
    guard: Guard = AT_THE_MACHINE,
) -> Report:
    """Check the URL from here (and from `from_host` with curl, concurrently); one Report.

    Every address either view connects to passes `guard` first; a refused one raises
    TargetRefused (an InputError) and the report is not made.
    """
    opts = options or HttpOptions()
    precheck(request, guard)
    if request.from_host and from_host is None:
        raise InputError(f"--from {request.from_host}: not a registered host")
    if from_host is not None and request.from_host != from_host.name:
        request = replace(request, from_host=from_host.name)
    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    extra: list[Finding] = []
    if from_host is None:
        local = await _local(request, opts, guard)
        results = [local]
    else:
        local, (remote, extra) = await _both(
            _local(request, opts, guard), _remote(request, opts, from_host, from_executor, guard)
        )
        results = [local, remote]
    findings = verdict.findings(local.facts, LOCAL_HOST, request, opts) + extra
    if from_host is not None and results[1].ok and results[1].facts.get("outcome"):
        remote_facts = results[1].facts
        findings += verdict.findings(remote_facts, from_host.name, request, opts)
        findings += verdict.compare(local.facts, remote_facts, from_host.name, request)
    return Report(
        command="http",
        target=request.shown,
        status=status_of(results),
        started_at=started_at,
        duration_ms=int((time.monotonic() - t0) * 1000),
        findings=tuple(findings),
        results=tuple(results),
    )
