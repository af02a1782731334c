"""TRIAGEBOT_SSH_KEY_FILE and TRIAGEBOT_SSH_KNOWN_HOSTS_FILE: the defaults the Helm chart sets.

The CLI runs as a real process. The key file is tested over real SSH to a lab host that was
registered without --key; the known_hosts file by `hosts add` and `hosts import`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncssh
import pytest

from ssh_probes.executor import SSHExecutor
from tests.lab.fixtures import target_for
from tests.lab.netns import LabHost

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGEBOT_", "SLACK_"))}
    clean["TRIAGEBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    clean["HOME"] = str(tmp_path)  # no ~/.ssh/known_hosts to fall back on
    return clean


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def host_keys(env: dict[str, str], name: str) -> list[str]:
    out = cli(env, "hosts", "show", name, "--json")
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout)["host_keys"])


@pytest.fixture
def known_hosts(tmp_path: Path) -> tuple[Path, str]:
    """A known_hosts file pinning a fresh key for [198.18.7.9]:2222; returns it and the key."""
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    pub = " ".join(key.split()[:2])
    path = tmp_path / "known_hosts"
    path.write_text(f"[198.18.7.9]:2222 {pub}\n")
    return path, pub


def test_hosts_add_takes_its_host_key_from_the_setting(
    env: dict[str, str], known_hosts: tuple[Path, str]
) -> None:
    path, pub = known_hosts
    args = ("hosts", "add", "web-9", "--address", "198.18.7.9", "--port", "2222")
    refused = cli(env, *args)
    assert refused.returncode == 2 and "a host key is required" in refused.stderr
    added = cli({**env, "TRIAGEBOT_SSH_KNOWN_HOSTS_FILE": str(path)}, *args)
    assert added.returncode == 0, added.stderr
    assert host_keys(env, "web-9") == [pub]


def test_hosts_import_reads_host_keys_from_the_setting(
    env: dict[str, str], known_hosts: tuple[Path, str], tmp_path: Path
) -> None:
    path, pub = known_hosts
    config = tmp_path / "ssh_config"
    config.write_text("Host web-9\n  HostName 198.18.7.9\n  Port 2222\n  User deploy\n")
    without = cli(env, "hosts", "import", "ssh-config", str(config))
    assert without.returncode == 0, without.stderr
    assert "skipped" in without.stdout and "added" not in without.stdout
    with_setting = cli(
        {**env, "TRIAGEBOT_SSH_KNOWN_HOSTS_FILE": str(path)}, "hosts", "import", "ssh-config",
        str(config),
    )  # fmt: skip
    assert with_setting.returncode == 0, with_setting.stderr
    assert "added" in with_setting.stdout
    assert host_keys(env, "web-9") == [pub]


@pytest.mark.lab
def test_key_file_setting_is_used_for_a_host_registered_without_key(
    env: dict[str, str], lab_host: LabHost, tmp_path: Path
) -> None:
    kh = tmp_path / "lab_known_hosts"
    kh.write_text(f"[{lab_host.address}]:{lab_host.port} {lab_host.host_key_line}\n")
    add = cli(
        {**env, "TRIAGEBOT_SSH_KNOWN_HOSTS_FILE": str(kh)}, "hosts", "add", "lab-1",
        "--address", lab_host.address, "--port", str(lab_host.port), "--user", lab_host.user,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert json.loads(cli(env, "hosts", "show", "lab-1", "--json").stdout)["key_path"] is None

    fast = {**env, "TRIAGEBOT_SAMPLE_WINDOW_S": "0.3"}
    # No key anywhere: the server refuses us (auth), reported as a finding, not a crash.
    without = cli(fast, "triage", "lab-1", "--json")
    assert without.returncode == 0, without.stderr
    codes = [f["code"] for f in json.loads(without.stdout)["findings"]]
    assert codes == ["ssh.auth_failed"], codes

    with_key = cli(
        {**fast, "TRIAGEBOT_SSH_KEY_FILE": lab_host.key_path}, "triage", "lab-1", "--json"
    )
    assert with_key.returncode == 0, with_key.stderr
    report = json.loads(with_key.stdout)
    assert not [f for f in report["findings"] if f["code"].startswith("ssh.")], report
    assert any(r["ok"] for r in report["results"]), report["results"]

    missing = cli({**fast, "TRIAGEBOT_SSH_KEY_FILE": str(tmp_path / "nope")}, "triage", "lab-1")
    assert missing.returncode == 2
    assert "cannot read key file" in missing.stderr


@pytest.mark.lab
async def test_ssh_connections_open_gauge(lab_host: LabHost) -> None:
    from bot.ops import metrics

    def gauge() -> float:
        return metrics.SSH_OPEN.collect()[0].samples[0].value

    before = gauge()
    executor = SSHExecutor(target_for(lab_host))
    await executor.connect()
    try:
        assert gauge() == before + 1
        assert (await executor.run(["true"])).exit_status == 0
        assert gauge() == before + 1  # one connection per host, however many commands
    finally:
        await executor.close()
    assert gauge() == before
