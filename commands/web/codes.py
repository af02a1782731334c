"""The HTTP and TCP finding codes, with their catalog entries (emitted by verdict and reach)."""

from __future__ import annotations

from ssh_probes.codes import Code

TCP_REFUSED = Code(
    "tcp.refused",
    "http",
    "Connection refused",
    "Nothing listens on that address and port, or a firewall rejects it.",
    "`ss -lntp` on the server; check the port and bind address.",
)

TCP_TIMEOUT = Code(
    "tcp.timeout",
    "http",
    "TCP connect timed out",
    "The connect got no answer: host down, packets dropped, wrong address.",
    "Check firewalls and routes; try `curl --resolve` against each address.",
)

HTTP_TIMEOUT = Code(
    "http.timeout",
    "http",
    "No HTTP response in time",
    "Connected, but the application or its upstream did not answer in time.",
    "Check the application's logs and its dependencies (database, external APIs, pools).",
)

HTTP_5XX = Code(
    "http.5xx",
    "http",
    "Server error",
    "5xx from the server; 502 and 504 point at the upstream behind a proxy.",
    "Read the proxy's error log and the upstream's health.",
)

HTTP_4XX = Code(
    "http.4xx",
    "http",
    "Client error",
    "The server refused the request (auth, missing path, method).",
    "Check the URL, credentials and method.",
)

TLS_ERROR = Code(
    "tls.error",
    "http",
    "TLS failure",
    "The certificate is expired, self-signed or does not match the name.",
    "Renew or fix the certificate chain; check the served name.",
)

TLS_EXPIRING = Code(
    "tls.expiring",
    "http",
    "TLS certificate expires soon",
    "The served certificate has fewer days left than the warning threshold (14 by default; "
    "critical under 3): when it expires every client fails the handshake.",
    "Renew it (certbot, cert-manager, the proxy's ACME), reload the server, and check the "
    "renewal job that should have done it.",
)

HTTP_SLOW = Code(
    "http.slow",
    "http",
    "Slow response",
    "The total time is over the threshold; the slowest phase is named.",
    "Work on the named phase: DNS, connect, TLS, or the server's time to first byte.",
)

HTTP_CONNECTION_CLOSED = Code(
    "http.connection_closed",
    "http",
    "Connection closed without a response",
    "Connected, but the server or a proxy in between closed or reset the connection before "
    "answering: a crashing worker, or an idle/proxy timeout shorter than the request.",
    "Read the server's and the proxy's error logs at that time; compare proxy and application "
    "timeouts.",
)

HTTP_TOO_MANY_REDIRECTS = Code(
    "http.too_many_redirects",
    "http",
    "Redirect loop",
    "The URL redirects more times than allowed, usually to itself: http->https behind a "
    "TLS-terminating proxy that does not pass X-Forwarded-Proto, or a login loop.",
    "Follow the hops in the report; fix the proxy headers or the application's base URL.",
)

HTTP_VIEW_MISMATCH = Code(
    "http.view_mismatch",
    "http",
    "The bot and the host see different results",
    "`http --from HOST` gave a different outcome, status or address than the bot's own check: the "
    "host's DNS, egress firewall, routes or proxy differ.",
    "Compare DNS (`triagebot dig NAME --from HOST`), then the host's firewall and routes.",
)

CODES = (
    TCP_REFUSED,
    TCP_TIMEOUT,
    HTTP_TIMEOUT,
    HTTP_5XX,
    HTTP_4XX,
    TLS_ERROR,
    TLS_EXPIRING,
    HTTP_SLOW,
    HTTP_CONNECTION_CLOSED,
    HTTP_TOO_MANY_REDIRECTS,
    HTTP_VIEW_MISMATCH,
)
BY_CODE = {c.code: c for c in CODES}
