"""Short human lines for each probe's facts, shared by every renderer.

The host probes' lines are declared with their check (ssh_probes.checks); this adds the
commands' own results (dig, http, curl, the bot's TLS handshakes, digests), which win over a
host check's of the same name. The host checks (every probe module, ~0.1 s of imports) are
loaded only for a result that is not the commands' own, so a dig renders without them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from bot.render.kernel_lines import tls_lines
from commands.dns.summary import dig_lines
from ssh_probes.model import Facts, ProbeResult

__all__ = ["OWN_SUMMARIES", "all_summaries", "http_lines", "summarize"]
Summary = Callable[[Facts], list[str]]

_PHASES = ("dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "transfer_ms", "total_ms")


def http_lines(facts: Facts) -> list[str]:
    """`http` (the bot's hops) or `curl` (a host's view): status, address, phase times, layer."""
    lines = []
    for n, hop in enumerate(facts.get("hops") or [facts], 1):
        t = hop.get("timings") or {}
        head = f"HTTP {hop['status']}" if hop.get("status") else "no response"
        head += f" from {hop['ip']}" if hop.get("ip") else ""
        head += f" -> {hop['location']}" if "location" in hop else ""
        url = hop["url"] if "hops" in facts else f"after {hop.get('redirects', 0)} redirects"
        lines.append(f"{n}. {url}: {head}")
        phases = [f"{k[:-3]} {t[k]:.1f}" for k in _PHASES if t.get(k) is not None]
        if phases:
            lines.append("   ms: " + "  ".join(phases))
        if hop.get("headers"):
            lines.append("   " + "  ".join(f"{k}: {v}" for k, v in hop["headers"].items()))
    if facts.get("outcome") not in (None, "response"):
        lines.append(f"{facts['outcome']}: {facts.get('detail', '')}")
    return lines


OWN_SUMMARIES: dict[str, Summary] = {
    "dig": dig_lines,
    "http": http_lines,
    "curl": http_lines,
    "tls": tls_lines,
    "digest": lambda facts: [str(line) for line in facts.get("lines", [])],
}


@cache
def all_summaries() -> dict[str, Summary]:
    """Probe name -> its lines: every host check's, then the commands' own."""
    from ssh_probes.checks import SUMMARIES as HOST_SUMMARIES

    return {**HOST_SUMMARIES, **OWN_SUMMARIES}


def summarize(result: ProbeResult) -> list[str]:
    """Lines describing one probe result; failures say why."""
    if not result.ok:
        return [f"probe failed: {result.error}"]
    name = result.probe.split(":", 1)[0]
    fn = OWN_SUMMARIES.get(name) or all_summaries().get(name)
    try:
        return fn(result.facts) if fn else [f"{k}: {v}" for k, v in result.facts.items()]
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return [f"{k}: {v}" for k, v in result.facts.items()]
