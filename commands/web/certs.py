"""Certificates: what the bot trusts, how long a served certificate has left, tls.expiring.

Trust is certifi's bundle, plus what this machine trusts (the system store, or the files named
by SSL_CERT_FILE / SSL_CERT_DIR, as OpenSSL reads them), plus TRIAGEBOT_CA_FILE: internal
services signed by a private CA verify as they do for the machine's other clients.

Days left are read from the certificate the server sent: after a verified `/http` handshake,
and, for a host's expected TLS ports (TLS_PORTS) during `triage`, from a handshake that does
not verify (trust is `/http`'s question; this one is only "when does it expire").
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import certifi
from cryptography import x509
from cryptography.x509.oid import NameOID

from commands.target_guard import Guard, TargetRefused
from commands.web.codes import TLS_EXPIRING
from ssh_probes.model import Facts, Finding, HostTarget, ProbeResult

# Ports that speak TLS from the first byte: https, smtps, ldaps, imaps, pop3s, k8s API, alt-https.
TLS_PORTS = frozenset({443, 465, 636, 993, 995, 6443, 8443})
HANDSHAKE_TIMEOUT_S = 3.0


@lru_cache(maxsize=8)
def _context(ca_file: str | None, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()  # the system store, or SSL_CERT_FILE / SSL_CERT_DIR
    ctx.load_verify_locations(cafile=certifi.where())
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


def trusted_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying context trusting certifi, this machine's store and `ca_file` (cached)."""
    return _context(ca_file, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


def _name(name: x509.Name, fallback: str = "") -> str:
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common[0].value) if common else fallback or name.rfc4514_string()[:200]


def _dns_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in san.value.get_values_for_type(x509.DNSName)][:10]


def describe(der: bytes | None, now: float | None = None) -> Facts | None:
    """The served certificate's subject, issuer, notAfter and days left (None without one)."""
    if not der:
        return None
    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    left = (not_after.timestamp() - (time.time() if now is None else now)) / 86400
    names = _dns_names(cert)
    return {
        "subject": _name(cert.subject, names[0] if names else ""),
        "names": names,
        "issuer": _name(cert.issuer),
        "not_after": not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days_left": round(left, 1),
    }


def from_ssl_object(ssl_object: Any) -> Facts | None:
    """describe() of the peer certificate of an open TLS connection, if it has one."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return describe(der)


async def handshake(host: HostTarget, port: int, guard: Guard, timeout_s: float) -> ProbeResult:
    """A TLS handshake from the bot to the host's port, no verification: the certificate.

    The address passes `guard` first (resolved once; the connection goes to what was
    checked); a refused one is recorded as such and never connected to.
    """
    name = host.address or ("127.0.0.1" if host.is_local else host.name)
    started = time.monotonic()
    facts: Facts = {"address": name, "port": port}
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # only its dates are read; trust is /http's job
    try:
        allowed = await guard.resolve(name, port, timeout_s, f"TLS check of {host.name}:{port}")
        facts["address"] = allowed[0]
        async with asyncio.timeout(timeout_s):
            _reader, writer = await asyncio.open_connection(allowed[0], port, ssl=ctx)
        try:
            facts["certificate"] = from_ssl_object(writer.get_extra_info("ssl_object"))
            facts["outcome"] = "ok"
        finally:
            writer.close()
    except TargetRefused as exc:
        facts.update(outcome="refused", detail=str(exc))
    except (TimeoutError, OSError, ssl.SSLError, ValueError) as exc:
        facts.update(outcome="error", detail=str(exc)[:200] or type(exc).__name__)
    ms = int((time.monotonic() - started) * 1000)
    return ProbeResult(f"tls:{port}", host.name, True, facts, "", ms, "network")


async def check_ports(
    host: HostTarget, guard: Guard, timeout_s: float = HANDSHAKE_TIMEOUT_S
) -> list[ProbeResult]:
    """Handshakes with each of the host's expected ports that speak TLS, at once."""
    ports = sorted(p for p in host.expect_ports if p in TLS_PORTS)
    return list(await asyncio.gather(*(handshake(host, p, guard, timeout_s) for p in ports)))


def expiring(
    cert: Facts | None, where: str, host: str, warning_days: float, critical_days: float
) -> Finding | None:
    """tls.expiring for a certificate with fewer than `warning_days` left (critical under
    `critical_days`); None otherwise, and for one already expired (that is tls.error)."""
    if not cert or cert["days_left"] >= warning_days or cert["days_left"] < 0:
        return None
    days = cert["days_left"]
    when = datetime.strptime(cert["not_after"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return TLS_EXPIRING.finding(
        "critical" if days < critical_days else "warning",
        f"TLS certificate of {where} expires in {days:.1f} days ({when:%Y-%m-%d %H:%M} UTC)",
        detail=f"Issued to {cert['subject']} by {cert['issuer']}. When it expires every "
        "client fails the handshake; renewals that silently stopped (ACME, cron, a secret not "
        "reloaded) are the usual cause.",
        evidence={"where": where, **cert},
        suggestion=(
            "Renew it now: `certbot renew` (check `certbot certificates` and its timer), or the "
            "cert-manager Certificate (`kubectl describe certificate`), or the proxy's ACME; "
            "then reload the server so it serves the new one, and confirm with `openssl "
            f"s_client -connect {where} </dev/null 2>/dev/null | openssl x509 -noout -enddate`."
        ),
        host=host,
    )


def port_findings(
    results: list[ProbeResult], host: HostTarget, warning_days: float, critical_days: float
) -> list[Finding]:
    """tls.expiring for the expected TLS ports the bot shook hands with."""
    out = []
    for r in results:
        address, port = r.facts["address"], r.facts["port"]
        where = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        cert = r.facts.get("certificate")
        finding = expiring(cert, where, host.name, warning_days, critical_days)
        if finding is not None:
            out.append(finding)
    return out
