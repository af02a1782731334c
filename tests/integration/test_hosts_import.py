"""`hosts import` as a user runs it: known_hosts, dry run, nothing on error, TOFU on a real sshd."""

from __future__ import annotations

import json
from pathlib import Path

import asyncssh
import pytest

from tests.integration.test_cli import cli
from tests.lab.netns import LabHost

INV = Path(__file__).resolve().parents[1] / "fixtures" / "inventories"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_"))}
    clean["TRIAGEBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    clean["HOME"] = str(tmp_path)  # no ~/.ssh/known_hosts of the machine's
    return clean


def names(env: dict[str, str]) -> list[str]:
    return [h["name"] for h in json.loads(cli(env, "hosts", "list", "--json").stdout)]


def known_hosts_for(tmp_path: Path, *entries: str) -> str:
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    path = tmp_path / "known_hosts"
    path.write_text("".join(f"{e} {key.strip()}\n" for e in entries))
    return str(path)


def test_import_with_known_hosts_and_dry_run(env: dict[str, str], tmp_path: Path) -> None:
    kh = known_hosts_for(tmp_path, "198.18.5.11", "[198.18.5.12]:2222", "198.18.5.21")
    key = tmp_path / "id_db"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(key))
    inventory = tmp_path / "hosts.ini"
    inventory.write_text((INV / "hosts.ini").read_text().replace("/etc/triagebot/id_db", str(key)))
    args = ["hosts", "import", "ansible", str(inventory), "--known-hosts", kh]
    dry = cli(env, *args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would add  web2.example.com" in dry.stdout
    assert "skipped    mail.example.com" in dry.stdout
    assert names(env) == ["local"]
    real = cli(env, *args)
    assert real.returncode == 0, real.stderr
    assert names(env) == ["local", "db1.example.com", "web1.example.com", "web2.example.com"]
    shown = json.loads(cli(env, "hosts", "show", "web2.example.com", "--json").stdout)
    assert shown["port"] == 2222 and shown["labels"] == {"group": "prod,webservers"}
    again = cli(env, *args)
    assert again.stdout.count("unchanged") == 3


def test_one_bad_entry_imports_nothing(env: dict[str, str], tmp_path: Path) -> None:
    kh = known_hosts_for(tmp_path, "198.18.5.11", "$(reboot)")
    out = cli(env, "hosts", "import", "ansible", str(INV / "bad_address.ini"), "--known-hosts", kh)
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1
    assert names(env) == ["local"]
    broken = cli(env, "hosts", "import", "ansible", str(INV / "broken_port.ini"))
    assert broken.returncode == 2 and "broken_port.ini:3" in broken.stderr


@pytest.mark.lab
def test_trust_on_first_use_fetches_the_real_key(
    env: dict[str, str], tmp_path: Path, lab_host: LabHost
) -> None:
    inventory = tmp_path / "inv.ini"
    inventory.write_text(f"[lab]\n{lab_host.name} ansible_host={lab_host.address}\n")
    without = cli(env, "hosts", "import", "ansible", str(inventory))
    assert "no known host key" in without.stdout and names(env) == ["local"]
    out = cli(
        env,
        "hosts",
        "import",
        "ansible",
        str(inventory),
        "--trust-on-first-use",
        "--key",
        lab_host.key_path,
    )
    assert out.returncode == 0, out.stderr
    fingerprint = asyncssh.import_public_key(lab_host.host_key_line).get_fingerprint("sha256")
    assert f"host key {fingerprint}" in out.stdout
    shown = json.loads(cli(env, "hosts", "show", lab_host.name, "--json").stdout)
    assert shown["host_keys"] == [lab_host.host_key_line]
    report = json.loads(cli(env, "triage", lab_host.name, "--json").stdout)
    assert not [f for f in report["findings"] if f["code"].startswith("ssh.")]


@pytest.mark.lab
def test_triage_a_group_by_label(env: dict[str, str], tmp_path: Path, lab: object) -> None:
    from tests.lab.netns import Lab

    assert isinstance(lab, Lab)
    hosts = [lab.add_host() for _ in range(2)]
    try:
        inventory = tmp_path / "inv.ini"
        inventory.write_text(
            "[web]\n" + "".join(f"{h.name} ansible_host={h.address}\n" for h in hosts)
        )
        kh = tmp_path / "kh"
        kh.write_text("".join(f"{h.address} {h.host_key_line}\n" for h in hosts))
        add = cli(
            env,
            "hosts",
            "import",
            "ansible",
            str(inventory),
            "--known-hosts",
            str(kh),
            "--key",
            hosts[0].key_path,
        )
        assert add.returncode == 0, add.stderr
        out = cli(env, "triage", "group=web", "--json")
        assert out.returncode == 0, out.stderr
        reports = json.loads(out.stdout)
        assert sorted(r["target"] for r in reports) == sorted(h.name for h in hosts)
        assert all(r["status"] in ("ok", "partial") for r in reports)
        none = cli(env, "triage", "group=db")
        assert none.returncode == 2 and "no registered host has label group=db" in none.stderr
    finally:
        for h in hosts:
            h.destroy()
