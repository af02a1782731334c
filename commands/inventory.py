"""Read host inventories people already have: Ansible (INI and YAML) and ~/.ssh/config.

Parsers are pure: text in, candidates (or an InputError naming the line) out. Nothing here
touches the registry; `hosts import` validates every candidate with `build_spec` and adds
them in one transaction, so a bad file imports nothing.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from ssh_probes.errors import InputError


@dataclass
class Candidate:
    """A host as an inventory describes it, before validation."""

    name: str
    address: str
    port: int = 22
    user: str = "root"
    key: str | None = None
    groups: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class Parsed:
    """What a file gave: candidates, plus notes on what was skipped and why."""

    hosts: list[Candidate]
    notes: list[str] = field(default_factory=list)


def _int(value: object, what: str, line: int, source: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise InputError(f"{source}:{line}: {what} {str(value)[:20]!r} is not a number") from None


def _apply(host: Candidate, var: dict[str, Any], line: int, source: str) -> None:
    if "ansible_host" in var:
        host.address = str(var["ansible_host"])
    if "ansible_port" in var:
        host.port = _int(var["ansible_port"], "ansible_port", line, source)
    if "ansible_user" in var:
        host.user = str(var["ansible_user"])
    if "ansible_ssh_private_key_file" in var:
        host.key = str(var["ansible_ssh_private_key_file"])


def _finish(
    hosts: dict[str, Candidate],
    group_hosts: dict[str, list[str]],
    children: dict[str, list[str]],
    group_vars: dict[str, dict[str, Any]],
    host_vars: dict[str, tuple[dict[str, Any], int]],
    source: str,
) -> Parsed:
    """Resolve children, apply group vars (parents first) then host vars."""

    def members(group: str, seen: frozenset[str] = frozenset()) -> list[str]:
        if group in seen:
            raise InputError(f"{source}: group {group!r} contains itself")
        out = list(group_hosts.get(group, []))
        for child in children.get(group, []):
            out.extend(members(child, seen | {group}))
        return out

    # Parents before children so a child's vars win, as in Ansible.
    order = ["all", *sorted(g for g in {*group_hosts, *children, *group_vars} if g != "all")]
    depth: dict[str, int] = {}

    def level(group: str, seen: frozenset[str] = frozenset()) -> int:
        if group not in depth:
            parents = [p for p, kids in children.items() if group in kids and p not in seen]
            depth[group] = 1 + max((level(p, seen | {group}) for p in parents), default=0)
        return depth[group]

    for group in sorted(order, key=lambda g: (0 if g == "all" else level(g), g)):
        names = list(hosts) if group == "all" else members(group)
        for name in dict.fromkeys(names):
            host = hosts[name]
            if group != "all" and group not in host.groups:
                host.groups.append(group)
            _apply(host, group_vars.get(group, {}), host.line, source)
    for name, (var, line) in host_vars.items():
        _apply(hosts[name], var, line, source)
    return Parsed(list(hosts.values()))


def parse_ansible_ini(text: str, source: str = "inventory") -> Parsed:
    """An INI inventory: [group], [group:vars], [group:children], `host key=value ...`."""
    hosts: dict[str, Candidate] = {}
    group_hosts: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    group_vars: dict[str, dict[str, Any]] = {}
    host_vars: dict[str, tuple[dict[str, Any], int]] = {}
    section, kind = "ungrouped", "hosts"
    notes: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise InputError(f"{source}:{number}: malformed section header {line[:40]!r}")
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                raise InputError(f"{source}:{number}: unknown section kind {kind!r}")
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise InputError(f"{source}:{number}: {exc}") from None
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise InputError(f"{source}:{number}: expected key=value in [{section}:vars]")
            group_vars.setdefault(section, {})[key.strip()] = value.strip().strip("'\"")
            continue
        if kind == "children":
            children.setdefault(section, []).append(words[0])
            continue
        name, pairs = words[0], words[1:]
        if any(c in name for c in "[]*?"):
            notes.append(f"{source}:{number}: host range or pattern {name!r} skipped")
            continue
        var: dict[str, Any] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep:
                raise InputError(f"{source}:{number}: expected key=value, got {pair[:40]!r}")
            var[key] = value
        hosts.setdefault(name, Candidate(name=name, address=name, line=number))
        group_hosts.setdefault(section, []).append(name)
        if var:
            host_vars[name] = ({**host_vars.get(name, ({}, 0))[0], **var}, number)
    parsed = _finish(hosts, group_hosts, children, group_vars, host_vars, source)
    for host in parsed.hosts:
        if "ungrouped" in host.groups:
            host.groups.remove("ungrouped")
    parsed.notes = notes
    return parsed


def parse_ansible_yaml(text: str, source: str = "inventory") -> Parsed:
    """A YAML inventory: all: {hosts: {...}, vars: {...}, children: {group: {...}}}."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or "not valid YAML"
        raise InputError(f"{source}{where}: {reason}") from None
    if not isinstance(data, dict) or not data:
        raise InputError(f"{source}: expected a mapping of groups (all: hosts: ...)")
    hosts: dict[str, Candidate] = {}
    group_hosts: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    group_vars: dict[str, dict[str, Any]] = {}
    host_vars: dict[str, tuple[dict[str, Any], int]] = {}

    def walk(group: str, body: Any) -> None:
        if body is None:
            return
        if not isinstance(body, dict):
            raise InputError(f"{source}: group {group!r} must be a mapping")
        for name, var in (body.get("hosts") or {}).items():
            if var is not None and not isinstance(var, dict):
                raise InputError(f"{source}: host {name!r} vars must be a mapping")
            hosts.setdefault(str(name), Candidate(name=str(name), address=str(name)))
            group_hosts.setdefault(group, []).append(str(name))
            if var:
                host_vars[str(name)] = ({**host_vars.get(str(name), ({}, 0))[0], **var}, 0)
        if body.get("vars"):
            group_vars.setdefault(group, {}).update(body["vars"])
        for child, child_body in (body.get("children") or {}).items():
            children.setdefault(group, []).append(str(child))
            walk(str(child), child_body)

    for group, body in data.items():
        walk(str(group), body)
    return _finish(hosts, group_hosts, children, group_vars, host_vars, source)


def parse_ssh_config(text: str, source: str = "ssh_config") -> Parsed:
    """`Host` blocks with HostName, Port, User, IdentityFile; wildcards skipped with a note."""
    hosts: list[Candidate] = []
    notes: list[str] = []
    current: list[Candidate] = []
    defaults: dict[str, str] = {}  # from `Host *`, applied to hosts that lack the setting
    in_wildcard = in_match = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.replace("=", " ", 1).partition(" ")
        key, value = key.lower(), value.strip().strip('"')
        if not value:
            raise InputError(f"{source}:{number}: {key!r} without a value")
        if key == "host":
            current, in_match = [], False
            patterns = value.split()
            in_wildcard = patterns == ["*"]
            for pattern in patterns:
                if any(c in pattern for c in "*?!"):
                    if pattern != "*":
                        notes.append(f"{source}:{number}: pattern {pattern!r} skipped")
                    continue
                host = Candidate(name=pattern, address=pattern, line=number)
                hosts.append(host)
                current.append(host)
        elif key == "match":
            current, in_match, in_wildcard = [], True, False
            notes.append(f"{source}:{number}: Match block skipped")
        elif key == "include":
            notes.append(f"{source}:{number}: Include {value!r} not followed")
        elif in_match:
            continue
        elif in_wildcard:
            defaults.setdefault(key, value)
        else:
            for host in current:
                _ssh_option(host, key, value, number, source)
    for host in hosts:
        for key, value in defaults.items():
            if key in ("port", "user", "identityfile") and _unset(host, key):
                _ssh_option(host, key, value, host.line, source)
    return Parsed(hosts, notes)


def _unset(host: Candidate, key: str) -> bool:
    return {"port": host.port == 22, "user": host.user == "root", "identityfile": not host.key}[key]


def _ssh_option(host: Candidate, key: str, value: str, number: int, source: str) -> None:
    if key == "hostname":
        host.address = value
    elif key == "port":
        host.port = _int(value, "Port", number, source)
    elif key == "user":
        host.user = value
    elif key == "identityfile" and host.key is None:  # ssh tries the first one first
        host.key = value
