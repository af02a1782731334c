"""`http --from HOST`, hop by hop: every address curl connects to on the host is checked first.

Every command (getent, each curl) is a Probe built for this hop, with the validated name or URL
as argv elements of their own (or on stdin), run by `run_probe` like every probe: timeouts,
output caps, redaction, and an unreachable host as a result (raised here as HopFailed).
curl never resolves or follows anything on its own. For each hop the name is resolved on the
host (`getent ahosts`, so the host's own DNS view is kept), every address is checked by the
guard (the policy's `targets:`, section `from`), and curl gets `--resolve NAME:PORT:ADDRESS`
for the first one and no `-L`; a redirect's Location is checked the same way before the next
curl runs. A host without getent falls back to resolving here (also checked, also pinned).
"""

from __future__ import annotations

import time
from dataclasses import replace
from urllib.parse import urljoin, urlsplit

from commands import validate
from commands.dns.remote import getent_facts, getent_probe
from commands.target_guard import Guard
from commands.web import curl
from commands.web.fetch import REDIRECTS
from commands.web.request import DEFAULT_PORTS, HttpOptions, HttpRequest, Pin, shown_url
from ssh_probes.executor import Executor
from ssh_probes.model import CommandResult, Facts, HostTarget, Probe, ProbeResult
from ssh_probes.runner import could_not_run, run_probe

AREA = "http"


class HopFailed(Exception):
    """A command of a hop did not give facts: the host unreachable, a timeout, bad output."""

    def __init__(self, result: ProbeResult) -> None:
        super().__init__(result.error)
        self.result = result


async def _run(ex: Executor, probe: Probe) -> ProbeResult:
    result = await run_probe(ex, probe, HostTarget(name=ex.host))
    if not result.ok:
        raise HopFailed(result)
    return result


async def _pin(
    req: HttpRequest, host: str, port: int, ex: Executor, guard: Guard, what: str, wait_s: float
) -> tuple[Pin | None, Facts | None]:
    """The checked pin for this hop (None for an IP literal), or the facts of a DNS failure."""
    if validate.ip_address(host) is not None:
        guard.check(host, None, what)
        return None, None
    pinned = req.pin_for(host, port)
    if pinned is not None:
        return Pin(host, port, guard.check(pinned.ip, host, what or "--resolve pin")), None
    result = await run_probe(ex, getent_probe(host, wait_s), HostTarget(name=ex.host))
    if could_not_run(result) is not None:
        raise HopFailed(result)
    got = getent_facts(result)
    if not got["available"]:
        addresses = await guard.resolve(host, port, wait_s, what)
    elif got["error"] or not got["addresses"]:
        why = f"{ex.host} cannot resolve {host}: {got['error'] or 'no address'}"
        return None, {"outcome": "dns.nxdomain", "detail": why}
    else:
        addresses = guard.check_all(got["addresses"], host, what)
    return Pin(host, port, addresses[0]), None


def _total(parts: list[Facts]) -> float | None:
    totals = [p.get("timings", {}).get("total_ms") for p in parts]
    known = [t for t in totals if t is not None]
    return round(sum(known), 1) if known else None


async def remote_view(
    req: HttpRequest, opts: HttpOptions, ex: Executor, guard: Guard
) -> tuple[Facts, str]:
    """curl's facts (shaped as one `-L` run's) and its raw output; raises TargetRefused."""
    deadline = time.monotonic() + opts.total_timeout_s
    url, method, raw, parts = req.url, req.method, "", []
    fetched = url
    for hop in range(opts.max_redirects + 1):
        split = urlsplit(url)
        host = validate.ip_address(split.hostname or "") or (split.hostname or "")
        port = split.port or DEFAULT_PORTS[split.scheme]
        what = f"redirect hop {hop + 1} to {shown_url(url)} on {ex.host}" if hop else ""
        left = max(1.0, deadline - time.monotonic())
        pin, failed = await _pin(req, host, port, ex, guard, what, min(left, opts.dns_timeout_s))
        if failed is not None:
            return {**failed, "url": shown_url(url), "redirects": hop}, raw
        one = replace(req, url=url, pins=(pin,) if pin else (), method=method)
        argv, stdin = curl.argv(one, replace(opts, total_timeout_s=left), follow=False)
        seen: dict[str, str | None] = {}

        def parse(result: CommandResult, seen: dict[str, str | None] = seen) -> Facts:
            # The Location is followed as sent; what the result keeps is redacted.
            facts = curl.parse(result)
            seen["location"] = facts.pop("redirect_url", None)
            return facts

        probe = Probe(
            "curl", AREA, tuple(argv), parse, timeout_s=left + 5, stdin=stdin, raw_stderr=True
        )
        done = await _run(ex, probe)  # HopFailed: the caller reports the failed run
        raw += done.raw
        facts, location = dict(done.facts), seen.get("location")
        parts.append(facts)
        status, fetched = facts.get("status"), url
        if facts.get("outcome") != "response" or status not in REDIRECTS or not location:
            break
        url = urljoin(url, location)
        if urlsplit(url).scheme not in DEFAULT_PORTS:
            facts["note"] = "redirect to a non-http URL not followed"
            break
        method = "GET" if status == 303 and method != "HEAD" else method
    else:
        facts = {**parts[-1], "outcome": "http.too_many_redirects",
                 "detail": f"more than {opts.max_redirects} redirects"}  # fmt: skip
    facts = {**facts, "redirects": len(parts) - 1, "url_effective": shown_url(fetched)}
    if facts.get("timings"):
        facts["timings"] = {**facts["timings"], "total_ms": _total(parts)}
    return facts, raw
