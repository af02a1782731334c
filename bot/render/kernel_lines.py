"""Summary lines of the bot's TLS handshakes (pure); the host probes' are in ssh_probes.checks."""

from __future__ import annotations

from ssh_probes.model import Facts


def tls_lines(facts: Facts) -> list[str]:
    """The certificate the bot saw on an expected TLS port."""
    where = f"{facts.get('address')}:{facts.get('port')}"
    cert = facts.get("certificate")
    if not cert:
        return [f"{where}: {facts.get('outcome')} {facts.get('detail', '')}".rstrip()]
    return [
        f"{where}: {cert['subject']} (issuer {cert['issuer']}), expires {cert['not_after']} "
        f"({cert['days_left']:g} days left)"
    ]
