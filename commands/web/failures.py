"""How one hop of the bot's HTTP check fails: an httpx/OS exception -> a catalog outcome.

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

from commands.web.request import HttpOptions
from ssh_probes.redact import redact

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
