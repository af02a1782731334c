"""Host key pinning: the keys a target's registry entry pins, and what to offer the server."""

from __future__ import annotations

from collections.abc import Sequence

import asyncssh
from asyncssh import SSHKey
from asyncssh.public_key import get_default_certificate_algs, get_default_public_key_algs

from ssh_probes.errors import HostKeyMismatch
from ssh_probes.model import HostTarget


def pinned_host_keys(target: HostTarget) -> tuple[list[SSHKey], list[SSHKey], list[SSHKey]]:
    """The target's pinned keys as asyncssh known_hosts lists: (host keys, CA keys, revoked).

    Accepts bare public key lines ('ssh-ed25519 AAAA...') and known_hosts lines (a host
    pattern first, optionally a @cert-authority or @revoked marker); the pattern is ignored
    because the registry entry already binds the keys to this host.
    """
    keys: list[SSHKey] = []
    cas: list[SSHKey] = []
    revoked: list[SSHKey] = []
    for entry in target.host_keys:
        for line in entry.splitlines():
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            marker = fields.pop(0) if fields[0].startswith("@") else ""
            # SSH key blobs start with a 4-byte length, so their base64 always begins "AAAA".
            at = 0 if len(fields) > 1 and fields[1].startswith("AAAA") else 1
            try:
                key = asyncssh.import_public_key(" ".join(fields[at : at + 2]))
            except (asyncssh.KeyImportError, ValueError) as exc:
                raise HostKeyMismatch(target.name, f"pinned host key is not valid: {exc}") from exc
            {"@cert-authority": cas, "@revoked": revoked}.get(marker, keys).append(key)
    if not keys and not cas:
        raise HostKeyMismatch(
            target.name, "no host key pinned; add one with --host-key or --known-hosts"
        )
    return keys, cas, revoked


def host_key_algs(keys: Sequence[SSHKey], cas: Sequence[SSHKey]) -> list[str]:
    """Host key algorithms to offer: the pinned keys' first, then every other.

    Offering only the pinned types would make a server without them hang up during
    negotiation, which looks like a network fault. With the rest offered after, the server
    shows a key of another type, it fails verification, and we report a mismatch.
    """
    pinned = [alg for key in keys for alg in key.sig_algorithms]
    certs = get_default_certificate_algs() if cas else []
    algs = dict.fromkeys([*certs, *pinned, *get_default_public_key_algs()])
    return [alg.decode("ascii") for alg in algs]
