"""Pure: the facts of one view (the bot's, or curl's on a host) -> findings, and the comparison.

A failed outcome is a row of OUTCOMES (code, severity, title template, advice); an answer
(`response`) is judged by its status class and its timings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from commands.dns import codes as dns_codes
from commands.web import advice, certs, codes
from commands.web.request import HttpOptions, HttpRequest
from commands.web.view import PHASES, View, layer, slowest
from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, Severity

__all__ = ["OUTCOMES", "PHASES", "Verdict", "compare", "findings", "layer", "slowest"]

_5XX = {
    502: "the proxy or load balancer in front got no valid answer from its upstream",
    503: "no healthy upstream, or the service is overloaded or in maintenance",
    504: "the proxy or load balancer in front gave up waiting for its upstream",
}
_4XX = {
    401: "credentials are missing or wrong",
    403: "the server refuses this client (permissions, IP allow-list, WAF)",
    404: "no such path on this server (or the request reached the wrong virtual host)",
    405: "this method is not allowed here",
    429: "rate limited",
}


@dataclass(frozen=True)
class Verdict:
    """The finding of one failed outcome: `title` is formatted with `View.words()`."""

    code: Code
    severity: Severity
    title: str
    advice: Callable[[View], str]


_UNRESOLVED = "{host} does not resolve: {detail}"
OUTCOMES: dict[str, Verdict] = {
    "tcp.refused": Verdict(
        codes.TCP_REFUSED, "critical", "connection to {where} refused", advice.refused
    ),
    "tcp.timeout": Verdict(
        codes.TCP_TIMEOUT, "critical", "TCP connect to {where} got no answer",
        advice.connect_timeout,
    ),
    "http.timeout": Verdict(
        codes.HTTP_TIMEOUT, "critical", "connected to {where}, but no response in time",
        advice.response_timeout,
    ),
    "tls.error": Verdict(
        codes.TLS_ERROR, "critical", "TLS failure with {where}: {kind}", advice.tls
    ),
    "http.connection_closed": Verdict(
        codes.HTTP_CONNECTION_CLOSED, "critical",
        "{where} closed the connection without a response", advice.connection_closed,
    ),
    "http.too_many_redirects": Verdict(
        codes.HTTP_TOO_MANY_REDIRECTS, "warning",
        "{shown} redirects more than {max_redirects} times", advice.redirect_loop,
    ),
    # A name that does not resolve: the DNS code itself (an empty answer is a warning).
    **{
        code.code: Verdict(
            code,
            "warning" if code is dns_codes.DNS_NO_ANSWER else "critical",
            _UNRESOLVED,
            advice.unresolved,
        )
        for code in dns_codes.CODES
    },
}  # fmt: skip
# A dns.* outcome without a code of its own reads as a failed resolution.
_DNS_OTHER = Verdict(dns_codes.DNS_SERVFAIL, "critical", _UNRESOLVED, advice.unresolved)


def _verdict(outcome: str) -> Verdict | None:
    found = OUTCOMES.get(outcome)
    if found is None and outcome.startswith("dns."):
        return _DNS_OTHER
    return found


def findings(facts: Facts, host: str, req: HttpRequest, opts: HttpOptions) -> list[Finding]:
    """Findings for one view; `host` is where the check ran from ('local' for the bot)."""
    out: list[Finding] = []
    view = View(facts, req, opts)
    evidence: dict[str, Any] = {
        k: facts[k] for k in ("ip", "port", "status", "timings", "detail") if k in facts
    }
    if "hops" in facts:
        evidence["hops"] = facts["hops"]

    def add(code: Code, severity: Severity, title: str, suggestion: str) -> None:
        detail = facts.get("detail", "")
        out.append(
            code.finding(
                severity, title, detail=detail, evidence=evidence, suggestion=suggestion, host=host
            )
        )

    if view.outcome == "response":
        for finding in _response(view):
            add(*finding)
    elif (row := _verdict(view.outcome)) is not None:
        add(row.code, row.severity, row.title.format(**view.words()), row.advice(view))
    out.extend(_expiring(facts, host, opts))
    addresses = facts.get("addresses") or []
    if len(addresses) > 1:
        add(
            dns_codes.DNS_MULTIPLE_A,
            "info",
            f"{req.host} resolves to {len(addresses)} addresses; this check used {addresses[0]}",
            advice.several_addresses(view),
        )
    return out


def _response(view: View) -> list[tuple[Code, Severity, str, str]]:
    """An answer: its status class (5xx, 4xx), and whether it was slow."""
    found: list[tuple[Code, Severity, str, str]] = []
    status, shown = int(view.facts.get("status") or 0), view.req.shown
    if status >= 500:
        why = _5XX.get(status, "the application failed while handling the request")
        title = f"HTTP {status} from {shown}: {why}"
        found.append((codes.HTTP_5XX, "critical", title, advice.server_error(view)))
    elif status >= 400:
        why = _4XX.get(status, "the server refused the request")
        title = f"HTTP {status} from {shown}: {why}"
        found.append((codes.HTTP_4XX, "warning", title, advice.client_error(view)))
    worst = slowest(view.facts)
    limit_ms = view.opts.slow_threshold_s * 1000
    if worst is not None and worst[2] > limit_ms:
        phase, ms, total = worst
        title = (
            f"{shown} took {total:.0f} ms (threshold {limit_ms:.0f}"
            f" ms); slowest phase: {PHASES[phase]}, {ms:.0f} ms"
        )
        found.append((codes.HTTP_SLOW, "warning", title, advice.slow(view, phase)))
    return found


def _expiring(facts: Facts, host: str, opts: HttpOptions) -> list[Finding]:
    """tls.expiring for each host:port whose served certificate has few days left."""
    out: list[Finding] = []
    seen: set[str] = set()
    for hop in facts.get("hops") or []:
        where = f"{hop.get('host')}:{hop.get('port')}"
        if hop.get("certificate") and where not in seen:
            seen.add(where)
            finding = certs.expiring(
                hop["certificate"],
                where,
                host,
                opts.tls_expiry_warning_days,
                opts.tls_expiry_critical_days,
            )
            if finding is not None:
                out.append(finding)
    return out


def compare(local: Facts, remote: Facts, host: str, req: HttpRequest) -> list[Finding]:
    """A finding when the bot and HOST see different things (outcome, status or address)."""

    def seen(f: Facts) -> str:
        return f"HTTP {f.get('status')}" if f.get("outcome") == "response" else str(f["outcome"])

    a, b = seen(local), seen(remote)
    ip_a, ip_b = local.get("ip"), remote.get("ip")
    if a == b and (not ip_a or not ip_b or ip_a == ip_b):
        return []
    why = []
    if ip_a and ip_b and ip_a != ip_b:
        why.append(f"the name resolves differently ({ip_a} here, {ip_b} on {host})")
    advice = (
        f"The path from {host} differs from the bot's: compare DNS (`triagebot dig {req.host} "
        f"--from {host}`), {host}'s egress firewall and routes (`iptables -S OUTPUT`, "
        f"`ip route get {ip_b or ip_a or req.host}`), and any proxy settings on {host}."
    )
    return [
        codes.HTTP_VIEW_MISMATCH.finding(
            "warning",
            f"the bot sees {a}, {host} sees {b}" + (f"; {why[0]}" if why else ""),
            evidence={"local": {"outcome": a, "ip": ip_a}, host: {"outcome": b, "ip": ip_b}},
            suggestion=advice,
            host=host,
        )
    ]
