"""Pure: the facts of one view (the bot's, or curl's on a host) -> findings, and the comparison."""

from __future__ import annotations

from typing import Any

from commands.dns import codes as dns_codes
from commands.web import certs, codes
from commands.web.request import HttpOptions, HttpRequest
from ssh_probes.codes import Code
from ssh_probes.model import Facts, Finding, Severity

PHASES = {
    "dns_ms": "DNS",
    "connect_ms": "TCP connect",
    "tls_ms": "TLS handshake",
    "ttfb_ms": "waiting for the first byte (the server's own time)",
    "transfer_ms": "transfer of the body",
}
_CDN_HEADERS = (
    ("cf-ray", "Cloudflare"),
    ("x-amz-cf-id", "AWS CloudFront"),
    ("x-amz-cf-pop", "AWS CloudFront"),
    ("x-served-by", "a CDN (Fastly-style x-served-by)"),
)
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


def _last_hop(facts: Facts) -> Facts:
    hops: list[Facts] = facts.get("hops") or [facts]
    return hops[-1]


def layer(facts: Facts) -> str:
    """Who answered, from the layer headers: 'Cloudflare', 'server nginx via 1.1 lb', or ''."""
    headers: dict[str, str] = _last_hop(facts).get("headers", {})
    cdn = next((name for key, name in _CDN_HEADERS if key in headers), "")
    parts = [f"{k} {headers[k]}" for k in ("server", "via", "x-cache") if k in headers]
    return ", ".join(([cdn] if cdn else []) + parts)


def slowest(facts: Facts) -> tuple[str, float, float] | None:
    """(phase, its ms, the hop's total ms) of the slowest hop, or None without timings."""
    hops: list[Facts] = facts.get("hops") or [facts]
    timed = [h for h in hops if h.get("timings", {}).get("total_ms") is not None]
    if not timed:
        return None
    worst = max(timed, key=lambda h: float(h["timings"]["total_ms"]))
    t = worst["timings"]
    phase = max(PHASES, key=lambda k: t.get(k) or 0.0)
    return phase, float(t.get(phase) or 0.0), float(t["total_ms"])


def _where(facts: Facts, req: HttpRequest) -> str:
    ip = facts.get("ip")
    port = facts.get("port") or req.port
    if not ip:
        return f"{req.host}:{port}"
    shown = f"[{ip}]" if ":" in str(ip) else str(ip)
    return f"{req.host} ({shown}:{port})" if ip != req.host else f"{shown}:{port}"


def _compare_hint(facts: Facts, req: HttpRequest) -> str:
    via = layer(facts)
    if not any(name in via for _, name in _CDN_HEADERS):
        return ""
    return (
        f" The answer came through {via.split(',')[0]}: compare with the origin directly, "
        f"`triagebot http {req.shown} --resolve {req.host}:{req.port}:ORIGIN_IP`."
    )


def findings(facts: Facts, host: str, req: HttpRequest, opts: HttpOptions) -> list[Finding]:
    """Findings for one view; `host` is where the check ran from ('local' for the bot)."""
    out: list[Finding] = []
    outcome = facts.get("outcome", "")
    where = _where(facts, req)
    port = facts.get("port") or req.port
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

    if outcome == "response":
        status = int(facts.get("status") or 0)
        via = layer(facts)
        if status >= 500:
            why = _5XX.get(status, "the application failed while handling the request")
            add(
                codes.HTTP_5XX,
                "critical",
                f"HTTP {status} from {req.shown}: {why}",
                (
                    f"Read the error log of the layer that answered ({via or 'unknown'}) for "
                    "this request, then check its upstream: is the backend up, listening on "
                    "the port the proxy uses (`ss -lntp` on the backend), and answering within "
                    "the proxy's timeout? `triagebot triage HOST` on the backend shows its load, "
                    "logs and listeners." + _compare_hint(facts, req)
                ),
            )
        elif status >= 400:
            why = _4XX.get(status, "the server refused the request")
            add(
                codes.HTTP_4XX,
                "warning",
                f"HTTP {status} from {req.shown}: {why}",
                "Check the URL's path, the credentials or token, and the method "
                f"({req.method}); the server that answered: {via or 'unknown'}.",
            )
        worst = slowest(facts)
        if worst is not None and worst[2] > opts.slow_threshold_s * 1000:
            phase, ms, total = worst
            add(
                codes.HTTP_SLOW,
                "warning",
                f"{req.shown} took {total:.0f} ms (threshold {opts.slow_threshold_s * 1000:.0f}"
                f" ms); slowest phase: {PHASES[phase]}, {ms:.0f} ms",
                _slow_advice(phase, req) + _compare_hint(facts, req),
            )
    elif outcome == "tcp.refused":
        add(
            codes.TCP_REFUSED,
            "critical",
            f"connection to {where} refused",
            f"Nothing accepts connections on port {port} there, or a firewall rejects them. On "
            f"the server: `ss -lntp 'sport = :{port}'` (is the service running, bound to "
            "0.0.0.0 rather than 127.0.0.1?), then its firewall (`iptables -S`, security groups).",
        )
    elif outcome == "tcp.timeout":
        add(
            codes.TCP_TIMEOUT,
            "critical",
            f"TCP connect to {where} got no answer",
            f"Packets are dropped or the host is down: check firewalls and security groups for "
            f"port {port}, routes (`ip route get {facts.get('ip') or req.host}`), and try "
            f"`nc -vz -w 5 {facts.get('ip') or req.host} {port}`." + _each_address(facts, req),
        )
    elif outcome == "http.timeout":
        add(
            codes.HTTP_TIMEOUT,
            "critical",
            f"connected to {where}, but no response in time",
            "The application or its upstream hangs: read its logs around now, check its "
            "dependencies (database, external APIs) and its worker or connection pool; "
            "`triagebot triage HOST` on the server shows load, logs and connection states.",
        )
    elif outcome == "tls.error":
        kind = facts.get("tls_kind", "protocol")
        add(
            codes.TLS_ERROR,
            "critical",
            f"TLS failure with {where}: {kind}",
            _TLS_ADVICE.get(kind, _TLS_ADVICE["unknown CA"]).format(host=req.host, port=port),
        )
    elif outcome == "http.connection_closed":
        add(
            codes.HTTP_CONNECTION_CLOSED,
            "critical",
            f"{where} closed the connection without a response",
            "The server or a proxy in between dropped the request: check the server's error "
            "log, a crashing worker, or a proxy/idle timeout shorter than the request.",
        )
    elif outcome == "http.too_many_redirects":
        add(
            codes.HTTP_TOO_MANY_REDIRECTS,
            "warning",
            f"{req.shown} redirects more than {opts.max_redirects} times",
            "A redirect loop: typically http->https behind a TLS-terminating proxy that does "
            "not pass X-Forwarded-Proto, or a login page redirecting to itself. See the hops.",
        )
    elif outcome.startswith("dns."):
        add(
            dns_codes.BY_CODE.get(outcome, dns_codes.DNS_SERVFAIL),
            "warning" if outcome == "dns.no_answer" else "critical",
            f"{req.host} does not resolve: {facts.get('detail', outcome)}",
            f"`triagebot dig {req.host}` shows what each resolver answers; to test the server "
            f"without DNS: `triagebot http {req.shown} --resolve {req.host}:{port}:IP`.",
        )
    out.extend(_expiring(facts, host, opts))
    addresses = facts.get("addresses") or []
    if len(addresses) > 1:
        add(
            dns_codes.DNS_MULTIPLE_A,
            "info",
            f"{req.host} resolves to {len(addresses)} addresses; this check used {addresses[0]}",
            "Intermittent failures can be one bad backend: check each address"
            + _each_address(facts, req),
        )
    return out


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


def _each_address(facts: Facts, req: HttpRequest) -> str:
    addresses = facts.get("addresses") or []
    if len(addresses) < 2:
        return ""
    cmds = [f"`triagebot http {req.shown} --resolve {req.host}:{req.port}:{a}`" for a in addresses]
    return " with " + ", ".join(cmds[:4]) + (" ..." if len(cmds) > 4 else "") + "."


def _slow_advice(phase: str, req: HttpRequest) -> str:
    return {
        "dns_ms": f"DNS is slow: check the resolver (`triagebot dig {req.host}`), or cache it.",
        "connect_ms": "The TCP connect is slow: network distance, packet loss, or a full "
        "listen backlog on the server (`ss -lnt` Recv-Q).",
        "tls_ms": "The TLS handshake is slow: distance (round trips), OCSP, or a busy server.",
        "ttfb_ms": "The server itself is slow to answer: profile the handler and its "
        "dependencies (database, upstream APIs); compare with the origin via --resolve.",
        "transfer_ms": "The body is large or the path is slow: compression, caching, size.",
    }[phase]


_TLS_ADVICE = {
    "expired": "The certificate has expired: renew it (`certbot renew`, or the proxy's ACME) "
    "and reload the server. Check: `openssl s_client -connect {host}:{port} -servername {host}"
    " </dev/null | openssl x509 -noout -dates`.",
    "not yet valid": "The certificate is not valid yet: check the server's clock, or the "
    "certificate's start date.",
    "self-signed": "The server sends a self-signed certificate: install one from a trusted "
    "CA, or, for an internal service, give clients its CA (HttpOptions.ca_file / --cacert).",
    "self-signed CA in chain": "The chain ends in a CA clients do not trust: serve the full "
    "chain from a public CA, or distribute the private CA.",
    "unknown CA": "The certificate's issuer is not trusted: serve the full chain (leaf and "
    "intermediates), or trust the private CA. Check: `openssl s_client -connect {host}:{port}"
    " -servername {host} -showcerts </dev/null`.",
    "name mismatch": "The certificate does not cover {host}: the wrong virtual host or "
    "certificate is served (SNI), or the name is missing from its SAN list.",
    "protocol": "The TLS handshake itself failed: the port may speak plain HTTP (use http://), "
    "or client and server share no protocol version or cipher.",
}


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
