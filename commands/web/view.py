"""One view of an HTTP check (the bot's, or curl's on a host): what its findings can name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commands.web.request import HttpOptions, HttpRequest
from ssh_probes.model import Facts

PHASES = {
    "dns_ms": "DNS",
    "connect_ms": "TCP connect",
    "tls_ms": "TLS handshake",
    "ttfb_ms": "waiting for the first byte (the server's own time)",
    "transfer_ms": "transfer of the body",
}
CDN_HEADERS = (
    ("cf-ray", "Cloudflare"),
    ("x-amz-cf-id", "AWS CloudFront"),
    ("x-amz-cf-pop", "AWS CloudFront"),
    ("x-served-by", "a CDN (Fastly-style x-served-by)"),
)


def _last_hop(facts: Facts) -> Facts:
    hops: list[Facts] = facts.get("hops") or [facts]
    return hops[-1]


def layer(facts: Facts) -> str:
    """Who answered, from the layer headers: 'Cloudflare', 'server nginx via 1.1 lb', or ''."""
    headers: dict[str, str] = _last_hop(facts).get("headers", {})
    cdn = next((name for key, name in CDN_HEADERS if key in headers), "")
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


@dataclass(frozen=True)
class View:
    """The facts of one view with the request and options: what titles and advice read."""

    facts: Facts
    req: HttpRequest
    opts: HttpOptions

    @property
    def outcome(self) -> str:
        """The classified outcome ('response', 'tcp.refused', 'dns.nxdomain', ...)."""
        return str(self.facts.get("outcome", ""))

    @property
    def port(self) -> Any:
        """The port connected to (the URL's when the facts do not say)."""
        return self.facts.get("port") or self.req.port

    @property
    def target(self) -> Any:
        """The address connected to, or the URL's host."""
        return self.facts.get("ip") or self.req.host

    @property
    def where(self) -> str:
        """'host (ip:port)', 'ip:port' for an address URL, or 'host:port' before any address."""
        ip, host = self.facts.get("ip"), self.req.host
        if not ip:
            return f"{host}:{self.port}"
        shown = f"[{ip}]" if ":" in str(ip) else str(ip)
        return f"{host} ({shown}:{self.port})" if ip != host else f"{shown}:{self.port}"

    def words(self) -> dict[str, Any]:
        """The fields a title template may use."""
        return {
            "where": self.where,
            "port": self.port,
            "shown": self.req.shown,
            "host": self.req.host,
            "kind": self.facts.get("tls_kind", "protocol"),
            "detail": self.facts.get("detail", self.outcome),
            "max_redirects": self.opts.max_redirects,
        }
