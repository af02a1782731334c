"""Every probe parser against real captured output (golden files in tests/fixtures/outputs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssh_probes.model import CommandResult
from tests.fixtures.capture import OUTPUTS, probe_for

CASES = sorted(OUTPUTS.glob("*/*.txt"))


def test_there_are_golden_files_for_every_foundation_probe() -> None:
    assert {p.parent.name for p in CASES} >= {"load", "disk", "sockets", "disk_usage"}


@pytest.mark.parametrize("txt", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_golden(txt: Path) -> None:
    expected = json.loads(txt.with_suffix(".json").read_text())
    out = CommandResult(txt.read_text(), "", expected["exit_status"], 0.01)
    assert probe_for(txt.parent.name).parse(out) == expected["facts"]


BAD = {
    "load-empty": ("load", "", 0),
    "load-garbage": ("load", "not a loadavg\n", 0),
    "load-zero-cpus": ("load", "0.1 0.2 0.3 1/100 42\n0\n", 0),
    "disk-no-header": ("disk", "/dev/sda1 ext4 1 1 0 100% /\n--- inodes ---\n", 0),
    "disk-no-inode-section": (
        "disk",
        "Filesystem Type 1024-blocks Used Available Capacity Mounted on\n",
        0,
    ),
    "sockets-error-only": ("sockets", "", 1),
    "sockets-not-ss": ("sockets", "ESTAB 0 0 1.2.3.4:5 6.7.8.9:10\n", 0),
    "du-nothing": ("disk_usage", "", 1),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_unparseable_output_is_a_value_error(case: str) -> None:
    probe, stdout, status = BAD[case]
    with pytest.raises(ValueError):
        probe_for(probe).parse(CommandResult(stdout, "ss: permission denied", status, 0.01))


def test_disk_mount_with_spaces_and_pseudo_filesystems_skipped() -> None:
    txt = OUTPUTS / "disk" / "full-and-inodes.txt"
    facts = probe_for("disk").parse(CommandResult(txt.read_text(), "", 0, 0.01))
    mounts = {f["mount"]: f for f in facts["filesystems"]}
    assert "/mnt/tb full" in mounts
    assert not {"/dev"} & set(mounts)  # devtmpfs
    # tmpfs is reported (a full /dev/shm breaks PostgreSQL); this old capture has no
    # /proc/mounts, so its read-only tmpfs cannot be told apart and stays.
    assert mounts["/dev/shm"]["kind"] == "memory"
    assert mounts["/mnt/tb full"]["use_pct"] == 100
    assert mounts["/mnt/tbinodes"]["iuse_pct"] == 97


@pytest.mark.parametrize(
    ("endpoint", "address", "port", "loopback"),
    [
        ("127.0.0.1:5432", "127.0.0.1", 5432, True),
        ("[::1]:9090", "::1", 9090, True),
        ("127.0.0.53%lo:53", "127.0.0.53", 53, True),
        ("[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80, True),
        ("*:8443", "*", 8443, False),
        ("0.0.0.0:22", "0.0.0.0", 22, False),
        ("[::]:22", "::", 22, False),
        ("[fe80::1%eth0]:8080", "fe80::1", 8080, False),
    ],
)
def test_socket_endpoints(endpoint: str, address: str, port: int, loopback: bool) -> None:
    from ssh_probes.probes.sockets import is_loopback, split_endpoint

    assert split_endpoint(endpoint) == (address, port)
    assert is_loopback(address) is loopback
