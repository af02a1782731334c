"""The bot's own view of a URL: DNS, TCP connect, TLS, first byte and transfer, timed per hop.

DNS is resolved here (the system resolver, as curl and most clients use it) so it can be
timed and pinned; httpx then connects to the IP while Host and SNI keep the name. The other
phases come from httpcore's trace extension. Proxies from the environment are ignored on
purpose: the check is about the path from this machine to the server.

Failures become an outcome code from the catalog, never an exception (commands/web/failures.py).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

import httpx

from commands import validate
from commands.target_guard import AT_THE_MACHINE, Guard
from commands.web import certs
from commands.web.failures import Failure, Trace, classify, resolve
from commands.web.request import DEFAULT_PORTS, HttpOptions, HttpRequest, shown_url
from ssh_probes.model import Facts
from ssh_probes.redact import redact

LAYER_HEADERS = (
    "server",
    "via",
    "x-cache",
    "x-served-by",
    "cf-ray",
    "cf-cache-status",
    "x-amz-cf-pop",
    "x-amz-cf-id",
)
REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = "triagebot/0.1 (http check)"


def _ms(t0: float, t1: float) -> float:
    return round((t1 - t0) * 1000, 1)


async def _hop(
    client: httpx.AsyncClient,
    url: httpx.URL,
    method: str,
    req: HttpRequest,
    opts: HttpOptions,
    hops: list[Facts],
    guard: Guard = AT_THE_MACHINE,
) -> httpx.Response:
    """One request, no redirects followed; its facts go to `hops` even when it fails.

    Every address is checked by `guard` before the connection, which goes to that checked
    address (Host and SNI keep the name): a redirect hop to a refused address stops here.
    """
    host, port = url.host, url.port or DEFAULT_PORTS[url.scheme]
    hop: Facts = {"url": shown_url(str(url)), "host": host, "port": port, "timings": {}}
    hops.append(hop)
    t0 = time.monotonic()
    trace = Trace()
    pinned = req.pin_for(host, port)
    is_ip = validate.ip_address(host) is not None
    what = f"redirect hop {len(hops)} to {hop['url']}" if len(hops) > 1 else ""
    try:
        if is_ip:
            ip = guard.check(host, None, what)
        elif pinned is not None:
            ip, hop["pinned"] = guard.check(pinned.ip, host, what or "--resolve pin"), True
        else:
            addresses = await resolve(host, port, opts)
            hop["timings"]["dns_ms"] = _ms(t0, time.monotonic())
            hop["addresses"] = addresses
            ip = guard.check_all(addresses, host, what)[0]
        hop["ip"] = ip
        where = f"{ip}:{port}" if ":" not in ip else f"[{ip}]:{port}"
        where = where if is_ip else f"{host} ({where})"
        extensions: dict[str, Any] = {"trace": trace}
        if url.scheme == "https" and not is_ip:
            extensions["sni_hostname"] = host
        default = port == DEFAULT_PORTS[url.scheme]
        host_header = (f"[{host}]" if ":" in host else host) + ("" if default else f":{port}")
        request = client.build_request(
            method, url.copy_with(host=ip), headers={"Host": host_header}, extensions=extensions
        )
        try:
            response = await client.send(request, stream=True)
            if url.scheme == "https":
                stream = response.extensions.get("network_stream")
                hop["certificate"] = certs.from_ssl_object(
                    stream.get_extra_info("ssl_object") if stream is not None else None
                )
            try:
                received = 0
                if method != "HEAD":
                    async for chunk in response.aiter_raw():
                        received += len(chunk)
                        if received >= opts.max_body_bytes:
                            hop["body_truncated"] = True
                            break
            finally:
                await response.aclose()
        except (httpx.HTTPError, OSError) as exc:
            raise classify(exc, trace, where, opts) from None
    finally:
        # Also on a total timeout (cancellation): record how far this hop got.
        _close_hop(hop, trace, t0)
    hop.update(
        status=response.status_code,
        reason=response.reason_phrase,
        http_version=response.http_version,
        bytes=received,
        reused="connect_tcp.started" not in trace.at,
        headers={k: redact(response.headers[k]) for k in LAYER_HEADERS if k in response.headers},
    )
    hop.pop("stuck", None)
    if "location" in response.headers:
        hop["location"] = shown_url(str(url.join(response.headers["location"])))
    return response


def _close_hop(hop: Facts, trace: Trace, t0: float) -> None:
    end = time.monotonic()
    timings = hop["timings"]
    timings.setdefault("dns_ms", None)
    timings["connect_ms"] = trace.span_ms("connect_tcp")
    timings["tls_ms"] = trace.span_ms("start_tls")
    timings["ttfb_ms"] = trace.span_ms("send_request_headers", "receive_response_headers")
    head_done = trace.at.get("receive_response_headers.complete")
    timings["transfer_ms"] = _ms(head_done, end) if head_done is not None else None
    timings["total_ms"] = _ms(t0, end)
    hop["stuck"] = trace.stuck()


def ssl_context(opts: HttpOptions) -> ssl.SSLContext:
    """Verification on: certifi, this machine's store and the configured CA file (certs.py)."""
    return certs.trusted_context(opts.ca_file)


async def fetch(req: HttpRequest, opts: HttpOptions, guard: Guard = AT_THE_MACHINE) -> Facts:
    """Request the URL and follow redirects hop by hop; the facts of everything seen.

    A hop whose address `guard` refuses raises TargetRefused: nothing is reported or stored.
    """
    facts: Facts = {"url": req.shown, "method": req.method, "outcome": "response", "hops": []}
    hops: list[Facts] = facts["hops"]
    timeout = httpx.Timeout(
        connect=opts.connect_timeout_s,
        read=opts.read_timeout_s,
        write=opts.read_timeout_s,
        pool=opts.connect_timeout_s,
    )
    url, method = httpx.URL(req.url), req.method
    t0 = time.monotonic()
    async with httpx.AsyncClient(
        verify=ssl_context(opts),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    ) as client:
        try:
            async with asyncio.timeout(opts.total_timeout_s):
                for _ in range(opts.max_redirects + 1):
                    response = await _hop(client, url, method, req, opts, hops, guard)
                    location = response.headers.get("location")
                    if response.status_code not in REDIRECTS or not location:
                        break
                    url = url.join(location)
                    if url.scheme not in DEFAULT_PORTS:
                        facts["note"] = "redirect to a non-http URL not followed"
                        break
                    if not 0 < (url.port or DEFAULT_PORTS[url.scheme]) < 65536:
                        # httpx would take it to connect(), which fails outside any handler.
                        where = shown_url(str(url))
                        raise Failure("http.error", f"redirect to {where}: port out of range")
                    method = "GET" if response.status_code == 303 and method != "HEAD" else method
                else:
                    facts.update(
                        outcome="http.too_many_redirects",
                        detail=f"more than {opts.max_redirects} redirects",
                    )
        except Failure as failure:
            facts.update(outcome=failure.outcome, detail=failure.detail, **failure.extra)
        except TimeoutError:
            stuck = hops[-1].get("stuck", "") if hops else ""
            outcome = "tcp.timeout" if stuck == "connect_tcp" else "http.timeout"
            if not stuck and "ip" not in (hops[-1] if hops else {}):
                outcome = "dns.timeout"
            facts.update(
                outcome=outcome,
                detail=f"the whole check took over {opts.total_timeout_s:g}s "
                f"(stuck in {stuck or 'DNS'})",
            )
    facts["total_ms"] = _ms(t0, time.monotonic())
    if hops:
        last = hops[-1]
        facts.update(status=last.get("status"), ip=last.get("ip"), port=last["port"])
        facts["addresses"] = hops[0].get("addresses", [])
    return facts
