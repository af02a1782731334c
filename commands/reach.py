"""Can the bot open a TCP connection to a host's port? The outside view of `triage HOST port N`.

The answer is one of: open, refused (RST: nothing listens or a firewall rejects), timeout (no
answer: packets dropped), unreachable (no route). It is compared with what the host itself
reports (the sockets probe) to tell "not listening" from "listening but filtered".
"""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import Iterator, Mapping

from commands.web import codes
from ssh_probes.model import Facts, Finding, HostTarget, ProbeResult

CONNECT_TIMEOUT_S = 3.0


async def tcp_connect(
    host: HostTarget, port: int, timeout_s: float = CONNECT_TIMEOUT_S, address: str = ""
) -> ProbeResult:
    """Connect from the bot to `address` (default: the host's) and `port`; outcome in facts."""
    address = address or host.address or host.name
    started = time.monotonic()
    outcome, detail = "open", ""
    try:
        async with asyncio.timeout(timeout_s):
            _reader, writer = await asyncio.open_connection(address, port)
        writer.close()
        try:
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        except (TimeoutError, OSError):
            pass
    except TimeoutError:
        outcome, detail = "timeout", f"no answer within {timeout_s:g}s"
    except ConnectionRefusedError:
        outcome, detail = "refused", "connection refused"
    except OSError as exc:
        unreachable = exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH)
        outcome = "unreachable" if unreachable else "error"
        detail = exc.strerror or str(exc)
    elapsed_ms = int((time.monotonic() - started) * 1000)
    return ProbeResult(
        probe=f"reach:{port}",
        host=host.name,
        ok=True,
        facts={
            "address": address,
            "port": port,
            "outcome": outcome,
            "detail": detail,
            "connect_ms": elapsed_ms,
        },
        duration_ms=elapsed_ms,
        area="network",
    )


def _listening(sockets: Facts | None, port: int) -> list[str] | None:
    """Addresses the host listens on for `port` (None when the sockets probe did not run)."""
    if sockets is None:
        return None
    return [s["local_address"] for s in sockets["listeners"] if s["port"] == port]


def port_findings(host: HostTarget, port: int, ok_facts: Mapping[str, Facts]) -> Iterator[Finding]:
    """What the outside view adds to the host's own: a filtered port, a rejecting firewall."""
    reach = ok_facts.get(f"reach:{port}")
    addresses = _listening(ok_facts.get("sockets"), port)
    if reach is None or addresses is None:
        return
    outward = [a for a in addresses if a not in ("127.0.0.1", "::1")]
    if not outward:
        return  # port.not_listening / port.loopback_only already say why it fails
    where = f"{reach['address']}:{port}"
    evidence = {
        "port": port,
        "from": "bot",
        "outcome": reach["outcome"],
        "listening_on": addresses,
        "connect_ms": reach["connect_ms"],
    }
    if reach["outcome"] == "timeout":
        yield codes.TCP_TIMEOUT.finding(
            severity="critical",
            title=f"{where} listens on the host but the bot's connect got no answer",
            detail="The service is up; packets to it are dropped on the way (host firewall, "
            "security group, or a network ACL).",
            evidence=evidence,
            suggestion=(
                f"Look for a DROP rule for port {port} on the host (`iptables -L -n -v`, "
                "`nft list ruleset`), then in security groups / cloud firewalls between; "
                f"test from elsewhere with `nc -vz -w 3 {reach['address']} {port}`."
            ),
            host=host.name,
        )
    elif reach["outcome"] == "refused":
        yield codes.TCP_REFUSED.finding(
            severity="critical",
            title=f"{where} listens on the host but refuses the bot's connection",
            detail="Something rejects the connection before the service sees it: a REJECT "
            "firewall rule, or the listener is in another network namespace (a container "
            "port that is not published).",
            evidence=evidence,
            suggestion=(
                f"Check REJECT rules for port {port} (`iptables -L -n -v | grep {port}`), and "
                f"for containers that the port is published (`docker ps --format "
                f"'{{{{.Names}}}} {{{{.Ports}}}}'`)."
            ),
            host=host.name,
        )
    elif reach["outcome"] in ("unreachable", "error"):
        yield codes.TCP_TIMEOUT.finding(
            severity="critical",
            title=f"{where}: {reach['detail']}",
            detail="The bot has no route to the host's address.",
            evidence=evidence,
            suggestion=f"Check routing to {reach['address']} (`ip route get {reach['address']}`).",
            host=host.name,
        )
