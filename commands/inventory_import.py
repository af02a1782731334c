"""`hosts import ansible|ssh-config FILE`: inventory candidates -> validated registry entries.

Host keys come from a known_hosts file; a host without a known key is listed and left out
unless trust-on-first-use is asked for, in which case its key is fetched (with a timeout)
and the fingerprint printed so a person can check it. The whole import is validated before
anything is written: one bad entry, nothing imported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from commands.hosts import HostSpec, build_spec, known_hosts_keys
from commands.inventory import (
    Candidate,
    Parsed,
    parse_ansible_ini,
    parse_ansible_yaml,
    parse_ssh_config,
)
from ssh_probes.errors import InputError

KEYSCAN_TIMEOUT_S = 5.0


@dataclass
class Plan:
    """What an import would do."""

    add: list[HostSpec] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # already registered under that name
    no_key: list[str] = field(default_factory=list)  # left out: no known host key
    trusted: list[tuple[str, str]] = field(default_factory=list)  # (name, fingerprint) TOFU
    notes: list[str] = field(default_factory=list)


def read_inventory(kind: str, path: str) -> Parsed:
    """Parse FILE as an Ansible inventory (INI or YAML, by content) or an ssh config."""
    try:
        text = Path(path).expanduser().read_text()
    except OSError as exc:
        raise InputError(f"cannot read {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path!r} is not a text file") from None
    if kind == "ssh-config":
        return parse_ssh_config(text, path)
    if kind != "ansible":
        raise InputError(f"unknown inventory kind {kind!r}: use ansible or ssh-config")
    yaml_like = path.endswith((".yml", ".yaml")) or text.lstrip().startswith(("---", "all:"))
    return parse_ansible_yaml(text, path) if yaml_like else parse_ansible_ini(text, path)


async def scan_host_key(address: str, port: int) -> tuple[str, str]:
    """The server's host key line and its SHA256 fingerprint (trust on first use)."""
    import asyncssh

    try:
        async with asyncio.timeout(KEYSCAN_TIMEOUT_S):
            key = await asyncssh.get_server_host_key(address, port)
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        why = str(exc) or type(exc).__name__
        raise InputError(f"cannot fetch the host key of {address}:{port}: {why}") from None
    if key is None:
        raise InputError(f"{address}:{port} offered no host key")
    line = key.export_public_key("openssh").decode().strip()
    return line, key.get_fingerprint("sha256")


def _labels(candidate: Candidate) -> list[str]:
    return [f"group={','.join(candidate.groups)}"] if candidate.groups else []


async def plan_import(
    parsed: Parsed,
    registered: Sequence[str],
    *,
    known_hosts: str | None,
    trust_on_first_use: bool = False,
    default_key: str | None = None,
) -> Plan:
    """Validate every candidate; the first invalid one is an InputError naming its line."""
    plan = Plan(notes=list(parsed.notes))
    for c in parsed.hosts:
        where = f"{c.name} (line {c.line})" if c.line else c.name
        if c.name in registered:
            plan.unchanged.append(c.name)
            continue
        keys: tuple[str, ...] = ()
        if known_hosts:
            try:
                keys = known_hosts_keys(known_hosts, c.address, c.port)
            except InputError as exc:
                if "no host key for" not in str(exc):
                    raise
        if not keys and trust_on_first_use:
            line, fingerprint = await scan_host_key(c.address, c.port)
            keys = (line,)
            plan.trusted.append((c.name, fingerprint))
        if not keys:
            plan.no_key.append(c.name)
            continue
        try:
            spec = build_spec(
                c.name,
                address=c.address,
                port=c.port,
                user=c.user,
                key=c.key or default_key,
                host_keys=keys,
                labels=_labels(c),
            )
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        plan.add.append(spec)
    return plan
