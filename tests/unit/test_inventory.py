"""Inventory parsers on realistic files: Ansible INI and YAML, OpenSSH client config."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.inventory import Candidate
from commands.inventory_import import read_inventory
from ssh_probes.errors import InputError

INV = Path(__file__).resolve().parents[1] / "fixtures" / "inventories"


def by_name(kind: str, name: str) -> dict[str, Candidate]:
    return {h.name: h for h in read_inventory(kind, str(INV / name)).hosts}


def test_ansible_ini_groups_children_and_vars() -> None:
    hosts = by_name("ansible", "hosts.ini")
    assert set(hosts) == {
        "mail.example.com",
        "web1.example.com",
        "web2.example.com",
        "db1.example.com",
    }
    web2 = hosts["web2.example.com"]
    assert (web2.address, web2.port, web2.user) == ("198.18.5.12", 2222, "ops")
    assert sorted(web2.groups) == ["prod", "webservers"]
    db1 = hosts["db1.example.com"]
    # Host vars beat group vars; the child group's vars beat the parent's.
    assert (db1.user, db1.key) == ("postgres", "/etc/triagebot/id_db")
    assert hosts["mail.example.com"].groups == []
    notes = read_inventory("ansible", str(INV / "hosts.ini")).notes
    assert any("www[01:50].example.com" in n and ":7:" in n for n in notes)


def test_ansible_yaml() -> None:
    hosts = by_name("ansible", "hosts.yml")
    assert (hosts["web-b"].address, hosts["web-b"].port, hosts["web-b"].user) == (
        "198.18.6.11",
        2200,
        "www",
    )
    assert hosts["bastion.example.com"].user == "deploy"
    assert hosts["db-a"].user == "postgres" and hosts["db-a"].groups == ["db"]


def test_ssh_config_hosts_wildcards_and_defaults() -> None:
    parsed = read_inventory("ssh-config", str(INV / "ssh_config"))
    hosts = {h.name: h for h in parsed.hosts}
    assert set(hosts) == {"bastion", "web-1", "web-2", "db-1"}
    assert (hosts["web-2"].address, hosts["web-2"].port, hosts["web-2"].key) == (
        "198.18.7.10",
        2222,
        "~/.ssh/id_web",
    )
    assert hosts["bastion"].user == "jump"
    assert hosts["db-1"].user == "ops"  # from `Host *`; the Match block is not evaluated
    assert hosts["db-1"].address == "198.18.7.20"
    text = "\n".join(parsed.notes)
    assert "'*.internal' skipped" in text and "Match block skipped" in text
    assert "Include" in text


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("broken.ini", "broken.ini:3: malformed section header"),
        ("broken_port.ini", "broken_port.ini:3: ansible_port 'twenty-two' is not a number"),
        ("broken.yml", "broken.yml:5:"),
    ],
    ids=["ini-header", "ini-port", "yaml-indent"],
)
def test_malformed_files_name_the_line(name: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        read_inventory("ansible", str(INV / name))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_and_unknown_kind() -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_inventory("ansible", "/nonexistent/inventory")
    with pytest.raises(InputError, match="unknown inventory kind"):
        read_inventory("puppet", str(INV / "hosts.ini"))
