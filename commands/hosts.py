"""`hosts add|list|show|remove`: validate a registry entry before anything is stored."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from commands import validate
from ssh_probes.errors import InputError
from ssh_probes.model import LOCAL_HOST, HostTarget

_LABEL_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.:/@,+-]{0,200}$")
MAX_FILE_BYTES = 1_000_000  # keys and known_hosts files are far smaller


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


def _why(exc: BaseException) -> str:
    """asyncssh's reason on one printable line: it may quote the offending (binary) input."""
    text = " ".join(str(exc).split())
    return "".join(c if c.isprintable() else "?" for c in text)[:120]


def _expand(path: str, what: str) -> Path:
    """`~` and `~user` expanded; an unknown user or a NUL byte is an InputError, not a crash."""
    try:
        return Path(path).expanduser()
    except (RuntimeError, ValueError):
        raise InputError(f"cannot read {what} {path[:80]!r}: no such home directory") from None


def _read_small(full: Path, what: str) -> bytes:
    """A regular file's bytes, at most MAX_FILE_BYTES; anything else is a one-line InputError.

    A FIFO or a device (`/dev/stdin`, `/dev/zero`) would block the bot or never end, and a
    NUL byte in the path is a ValueError, not an OSError, in Python.
    """
    try:
        if not stat.S_ISREG(full.stat().st_mode):
            raise InputError(f"cannot read {what} {str(full)!r}: not a regular file")
        with full.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} {str(full)!r}: {exc.strerror}") from None
    except ValueError:
        raise InputError(f"cannot read {what} {str(full)!r}: NUL byte in the path") from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"cannot read {what} {str(full)!r}: larger than {MAX_FILE_BYTES} bytes")
    return data


def key_file(path: str) -> str:
    """An absolute path to a readable, unencrypted private key."""
    import asyncssh

    full = _expand(path, "key file").absolute()
    data = _read_small(full, "key file")
    try:
        asyncssh.import_private_key(data)
    except (asyncssh.KeyImportError, ValueError) as exc:
        # asyncssh's reason may quote the file; a fixed reason never does (issue 13).
        why = (
            "it is encrypted (a key with a passphrase is not supported)"
            if "passphrase" in str(exc).lower()
            else "not a private key in OpenSSH, PEM or PKCS#8 format"
        )
        raise InputError(f"key file {str(full)!r} is not a usable private key: {why}") from None
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
        raise InputError(f"invalid host key {text[:40]!r}...: {_why(exc)}") from None
    algorithm, blob = key.export_public_key("openssh").decode().split()[:2]
    return f"{algorithm} {blob}"


def known_hosts_keys(path: str, address: str, port: int) -> tuple[str, ...]:
    """The keys a known_hosts file holds for address:port (hashed entries included)."""
    import asyncssh

    full = _expand(path, "known_hosts file")
    text = _read_small(full, "known_hosts file").decode(errors="replace")
    try:
        known = asyncssh.import_known_hosts(text)
    except (asyncssh.KeyImportError, ValueError):
        # asyncssh's reason quotes the offending line: never echo a file's content.
        raise InputError(
            f"invalid known_hosts file {str(full)!r}: not in known_hosts format "
            "(lines of `HOST KEYTYPE BASE64KEY`)"
        ) from None
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


def selector(word: str) -> tuple[str, str] | None:
    """`group=web` -> ("group", "web"): triage every host whose label holds that value."""
    return label(word) if "=" in word else None


def selects(labels: dict[str, str], key: str, value: str) -> bool:
    """True when the label `key` is `value` or a comma-separated list holding it."""
    return value in labels.get(key, "").split(",")


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
