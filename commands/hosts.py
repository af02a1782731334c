"""`hosts add|list|show|remove`: validate a registry entry before anything is stored."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from commands import validate
from ssh_probes.errors import InputError
from ssh_probes.model import LOCAL_HOST, HostTarget

_LABEL_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.:/@,+-]{0,200}$")


@dataclass(frozen=True)
class HostSpec:
    """A validated registry entry."""

    name: str
    address: str
    port: int = 22
    user: str = "root"
    key_path: str | None = None
    host_keys: tuple[str, ...] = ()
    expect_ports: tuple[int, ...] = ()
    logs: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)

    def target(self) -> HostTarget:
        """The probes' view of this host."""
        return HostTarget(
            name=self.name,
            address=self.address,
            port=self.port,
            user=self.user,
            key_path=self.key_path,
            host_keys=self.host_keys,
            expect_ports=self.expect_ports,
            logs=self.logs,
            labels=dict(self.labels),
        )


LOCAL_SPEC = HostSpec(name=LOCAL_HOST, address="localhost")


def key_file(path: str) -> str:
    """An absolute path to a readable, unencrypted private key."""
    import asyncssh

    full = Path(path).expanduser().absolute()
    try:
        data = full.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read key file {str(full)!r}: {exc.strerror}") from None
    try:
        asyncssh.import_private_key(data)
    except asyncssh.KeyImportError as exc:
        raise InputError(f"key file {str(full)!r} is not a usable private key: {exc}") from None
    return str(full)


def host_key(line: str) -> str:
    """A public host key line ('ssh-ed25519 AAAA...'), normalised; comments dropped."""
    import asyncssh

    text = line.strip()
    if "\n" in text or "\r" in text:
        raise InputError("invalid host key: give one key on one line")
    try:
        key = asyncssh.import_public_key(text)
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise InputError(f"invalid host key {text[:40]!r}...: {exc}") from None
    algorithm, blob = key.export_public_key("openssh").decode().split()[:2]
    return f"{algorithm} {blob}"


def known_hosts_keys(path: str, address: str, port: int) -> tuple[str, ...]:
    """The keys a known_hosts file holds for address:port (hashed entries included)."""
    import asyncssh

    full = Path(path).expanduser()
    try:
        text = full.read_text()
    except OSError as exc:
        raise InputError(f"cannot read known_hosts file {str(full)!r}: {exc.strerror}") from None
    try:
        known = asyncssh.import_known_hosts(text)
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise InputError(f"invalid known_hosts file {str(full)!r}: {exc}") from None
    ip = validate.ip_address(address)
    host_keys = known.match(address, ip or "", port)[0]
    if not host_keys:
        where = address if port == 22 else f"[{address}]:{port}"
        raise InputError(f"no host key for {where} in {str(full)!r}")
    # The same key can match by name and by address: keep each once, in file order.
    lines = (host_key(k.export_public_key("openssh").decode()) for k in host_keys)
    return tuple(dict.fromkeys(lines))


def label(text: str) -> tuple[str, str]:
    """K=V with a safe key and value."""
    key, sep, value = text.partition("=")
    if not sep or not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
        raise InputError(f"invalid label {text[:80]!r}: use KEY=VALUE (letters, digits, ._-:/)")
    return key, value


def log_path(text: str) -> str:
    """An absolute path on the host, passed to probes as data."""
    if not text.startswith("/") or any(c in text for c in "\0\n\r") or len(text) > 1024:
        raise InputError(f"invalid log path {text[:80]!r}: give an absolute path")
    return os.path.normpath(text)


def build_spec(
    name: str,
    *,
    address: str,
    port: int = 22,
    user: str = "root",
    key: str | None = None,
    known_hosts: str | None = None,
    host_keys: Sequence[str] = (),
    expect_ports: Sequence[int] = (),
    logs: Sequence[str] = (),
    labels: Sequence[str] = (),
) -> HostSpec:
    """Validate every field of `hosts add`; the first problem is an InputError."""
    name = validate.host_name(name)
    if name == LOCAL_HOST:
        raise InputError("'local' is built in and means the machine the bot runs on")
    addr = validate.address(address)
    validate.port(port)
    if known_hosts and host_keys:
        raise InputError("give either --known-hosts or --host-key, not both")
    pinned = (
        known_hosts_keys(known_hosts, addr, port)
        if known_hosts
        else tuple(host_key(k) for k in host_keys)
    )
    if not pinned:
        raise InputError(
            "a host key is required: --known-hosts FILE or --host-key 'ssh-ed25519 AAAA...'"
            f" (get it with: ssh-keyscan -p {port} {addr}, then verify the fingerprint)"
        )
    return HostSpec(
        name=name,
        address=addr,
        port=port,
        user=validate.user(user),
        key_path=key_file(key) if key else None,
        host_keys=pinned,
        expect_ports=tuple(sorted({validate.port(p) for p in expect_ports})),
        logs=tuple(dict.fromkeys(log_path(p) for p in logs)),
        labels=dict(label(item) for item in labels),
    )
