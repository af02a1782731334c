"""The bot's own view of a URL: DNS, TCP connect, TLS, first byte and transfer, timed per hop.

DNS is resolved here (the system resolver, as curl and most clients use it) so it can be
timed and pinned; httpx then connects to the IP while Host and SNI keep the name. The other
phases come from httpcore's trace extension. Proxies from the environment are ignored on
purpose: the check is about the path from this machine to the server.

Failures become an outcome code from the catalog, never an exception:

    getaddrinfo EAI_NONAME / EAI_AGAIN / EAI_FAIL  -> dns.nxdomain / dns.timeout / dns.servfail
    ConnectionRefusedError during connect          -> tcp.refused
    timeout or EHOSTUNREACH during connect         -> tcp.timeout
    ssl.SSLCertVerificationError / ssl.SSLError    -> tls.error (expired, self-signed, ...)
    timeout after connect (TLS, head or body)      -> http.timeout
    closed or reset after connect, no response     -> http.connection_closed
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from typing import Any

import httpx

from commands import validate
from commands.target_guard import AT_THE_MACHINE, Guard
from commands.web import certs
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

# OpenSSL X509_V_ERR_* codes (also curl's ssl_verify_result) -> what to call the problem.
TLS_KINDS = {
    9: "not yet valid",
    10: "expired",
    18: "self-signed",
    19: "self-signed CA in chain",
    20: "unknown CA",
    21: "unknown CA",
    62: "name mismatch",
}
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH}


class Failure(Exception):
    """A classified failure of one hop: a catalog code, a one-line detail, extra facts."""

    def __init__(self, outcome: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.extra = extra


class Trace:
    """httpcore trace callback: when each step started, completed or failed."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        # "connection.connect_tcp.started" -> "connect_tcp.started"; http11 and http2 alike.
        self.at[name.split(".", 1)[1]] = time.monotonic()

    def span_ms(self, step: str, end: str | None = None) -> float | None:
        """Milliseconds from `step` starting to it (or `end`) completing."""
        start = self.at.get(f"{step}.started")
        stop = self.at.get(f"{end or step}.complete")
        return None if start is None or stop is None else round((stop - start) * 1000, 1)

    def stuck(self) -> str:
        """The last step that started and never completed: where a failure happened."""
        steps = ("connect_tcp", "start_tls", "receive_response_headers", "receive_response_body")
        for step in reversed(steps):
            if f"{step}.started" in self.at and f"{step}.complete" not in self.at:
                return step
        return ""


def tls_kind(exc: ssl.SSLError) -> str:
    """Name a TLS failure the way a person would: expired, self-signed, name mismatch, protocol."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TLS_KINDS.get(exc.verify_code, "certificate not trusted")
    return "protocol"


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        cur = todo.pop()
        if cur in seen:
            continue
        seen.append(cur)
        todo.extend(e for e in (cur.__cause__, cur.__context__) if e is not None)
        if isinstance(cur, BaseExceptionGroup):
            todo.extend(cur.exceptions)
    return seen


def classify(exc: BaseException, trace: Trace, where: str, opts: HttpOptions) -> Failure:
    """Map an httpx/httpcore/OS exception to a catalog outcome, using the trace's progress."""
    causes = _causes(exc)
    tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
    if tls is not None:
        kind = tls_kind(tls)
        reason = getattr(tls, "verify_message", "") or getattr(tls, "reason", "") or str(tls)
        return Failure("tls.error", f"TLS with {where} failed: {kind} ({reason})", tls_kind=kind)
    stuck = trace.stuck()
    if "connect_tcp.complete" not in trace.at:
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return Failure("tcp.refused", f"{where} refused the connection")
        unreachable = any(isinstance(c, OSError) and c.errno in _UNREACHABLE for c in causes)
        if unreachable or isinstance(exc, httpx.ConnectTimeout | TimeoutError):
            why = "no route (nothing answers ARP/ICMP)" if unreachable else "no answer"
            return Failure(
                "tcp.timeout", f"TCP connect to {where}: {why} within {opts.connect_timeout_s:g}s"
            )
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        during = {
            "start_tls": "during the TLS handshake",
            "receive_response_body": "while the body was being sent",
        }.get(stuck, "waiting for the response head")
        return Failure("http.timeout", f"connected to {where}, then no data {during}", during=stuck)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return Failure(
            "http.connection_closed", f"{where} closed the connection: {redact(str(exc))}"
        )
    return Failure("http.error", f"{type(exc).__name__}: {redact(str(exc))}")


async def resolve(host: str, port: int, opts: HttpOptions) -> list[str]:
    """The host's addresses in the system resolver's order; failures as dns.* Failures."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), opts.dns_timeout_s
        )
    except TimeoutError:
        why = f"no DNS answer for {host} in {opts.dns_timeout_s:g}s"
        raise Failure("dns.timeout", why) from None
    except socket.gaierror as exc:
        codes = {
            socket.EAI_NONAME: "dns.nxdomain",
            getattr(socket, "EAI_NODATA", socket.EAI_NONAME): "dns.no_answer",
            socket.EAI_AGAIN: "dns.timeout",
            socket.EAI_FAIL: "dns.servfail",
        }
        outcome = codes.get(exc.errno, "dns.servfail")
        raise Failure(outcome, f"cannot resolve {host}: {exc.strerror}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


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
