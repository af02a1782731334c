"""Probes made cheaper for the host (issue 18) give the facts they gave before."""

from __future__ import annotations

import json
from pathlib import Path

from ssh_probes.model import CommandResult
from ssh_probes.probes import build

OUTPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "outputs"


def facts(probe: str, case: str) -> dict[str, object]:
    text = (OUTPUTS / probe / f"{case}.txt").read_text()
    return dict(build(probe).parse(CommandResult(text, "", 0, 0.0)))


def test_clock_without_systemd_not_asking_timedatectl_says_what_it_said() -> None:
    asked, not_asked = facts("clock", "no-systemd"), facts("clock", "no-systemd-not-asked")
    assert not_asked["ntp"] == asked["ntp"]
    assert json.loads((OUTPUTS / "clock" / "no-systemd-not-asked.json").read_text())["facts"] == (
        not_asked
    )


def test_clock_script_skips_timedatectl_only_without_systemd() -> None:
    script = build("clock").command[2]
    skip = script.index("[ -d /run/systemd/system ]")
    assert script.index("timesyncd synchronized") < skip < script.index("timedatectl show")


def test_kernel_reads_dmesg_once_and_journal_only_when_files_exist() -> None:
    script = build("kernel").command[2]
    assert script.count("dmesg -T") == 1
    assert "/var/log/journal/*/*.journal*" in script
    assert script.index("/var/log/journal/") < script.index("journalctl -k")
