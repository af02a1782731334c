"""What to do about each HTTP outcome: the suggestion texts of the verdict, per view."""

from __future__ import annotations

from commands.web.view import CDN_HEADERS, View, layer


def compare_hint(view: View) -> str:
    """Through a CDN: how to compare with the origin directly (else '')."""
    via, req = layer(view.facts), view.req
    if not any(name in via for _, name in CDN_HEADERS):
        return ""
    return (
        f" The answer came through {via.split(',')[0]}: compare with the origin directly, "
        f"`triagebot http {req.shown} --resolve {req.host}:{req.port}:ORIGIN_IP`."
    )


def each_address(view: View) -> str:
    """With several addresses: the command that checks each one (else '')."""
    addresses, req = view.facts.get("addresses") or [], view.req
    if len(addresses) < 2:
        return ""
    cmds = [f"`triagebot http {req.shown} --resolve {req.host}:{req.port}:{a}`" for a in addresses]
    return " with " + ", ".join(cmds[:4]) + (" ..." if len(cmds) > 4 else "") + "."


def server_error(view: View) -> str:
    """http.5xx: the answering layer's log, then its upstream."""
    return (
        f"Read the error log of the layer that answered ({layer(view.facts) or 'unknown'}) for "
        "this request, then check its upstream: is the backend up, listening on "
        "the port the proxy uses (`ss -lntp` on the backend), and answering within "
        "the proxy's timeout? `triagebot triage HOST` on the backend shows its load, "
        "logs and listeners." + compare_hint(view)
    )


def client_error(view: View) -> str:
    """http.4xx: path, credentials, method."""
    return (
        "Check the URL's path, the credentials or token, and the method "
        f"({view.req.method}); the server that answered: {layer(view.facts) or 'unknown'}."
    )


def slow(view: View, phase: str) -> str:
    """http.slow: what the slowest phase points at."""
    host = view.req.host
    return {
        "dns_ms": f"DNS is slow: check the resolver (`triagebot dig {host}`), or cache it.",
        "connect_ms": "The TCP connect is slow: network distance, packet loss, or a full "
        "listen backlog on the server (`ss -lnt` Recv-Q).",
        "tls_ms": "The TLS handshake is slow: distance (round trips), OCSP, or a busy server.",
        "ttfb_ms": "The server itself is slow to answer: profile the handler and its "
        "dependencies (database, upstream APIs); compare with the origin via --resolve.",
        "transfer_ms": "The body is large or the path is slow: compression, caching, size.",
    }[phase] + compare_hint(view)


def refused(view: View) -> str:
    """tcp.refused: nothing listening, or a rejecting firewall."""
    port = view.port
    return (
        f"Nothing accepts connections on port {port} there, or a firewall rejects them. On "
        f"the server: `ss -lntp 'sport = :{port}'` (is the service running, bound to "
        "0.0.0.0 rather than 127.0.0.1?), then its firewall (`iptables -S`, security groups)."
    )


def connect_timeout(view: View) -> str:
    """tcp.timeout: dropped packets or a host down."""
    return (
        f"Packets are dropped or the host is down: check firewalls and security groups for "
        f"port {view.port}, routes (`ip route get {view.target}`), and try "
        f"`nc -vz -w 5 {view.target} {view.port}`." + each_address(view)
    )


def response_timeout(view: View) -> str:
    """http.timeout: the application or its upstream hangs."""
    return (
        "The application or its upstream hangs: read its logs around now, check its "
        "dependencies (database, external APIs) and its worker or connection pool; "
        "`triagebot triage HOST` on the server shows load, logs and connection states."
    )


def connection_closed(view: View) -> str:
    """http.connection_closed: dropped by the server or a proxy."""
    return (
        "The server or a proxy in between dropped the request: check the server's error "
        "log, a crashing worker, or a proxy/idle timeout shorter than the request."
    )


def redirect_loop(view: View) -> str:
    """http.too_many_redirects: the usual loops."""
    return (
        "A redirect loop: typically http->https behind a TLS-terminating proxy that does "
        "not pass X-Forwarded-Proto, or a login page redirecting to itself. See the hops."
    )


def unresolved(view: View) -> str:
    """dns.*: what each resolver says, and how to test without DNS."""
    req = view.req
    return (
        f"`triagebot dig {req.host}` shows what each resolver answers; to test the server "
        f"without DNS: `triagebot http {req.shown} --resolve {req.host}:{view.port}:IP`."
    )


def several_addresses(view: View) -> str:
    """dns.multiple_a in an HTTP check: check each address."""
    return "Intermittent failures can be one bad backend: check each address" + each_address(view)


def tls(view: View) -> str:
    """tls.error: per kind of failure."""
    kind = view.facts.get("tls_kind", "protocol")
    text = TLS_ADVICE.get(kind, TLS_ADVICE["unknown CA"])
    return text.format(host=view.req.host, port=view.port)


TLS_ADVICE = {
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
