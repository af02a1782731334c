"""The check registry: every derived view comes from CHECKS, rules read only what they need,
and the uptime check (one module + one registry line) works on a real capture."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.render.summaries import summarize
from bot.runs.history import OWN_DIFFERS, all_differs
from ssh_probes import checks, probes, rules
from ssh_probes.checks import CHECKS, NEEDS, RULES, evaluate, follow_up_probes, uptime
from ssh_probes.model import CommandResult, Facts, HostTarget, ProbeResult
from ssh_probes.rules import Thresholds
from tests.fixtures.capture import OUTPUTS, probe_for
from tests.unit.test_catalog import CASES, load

HOST = HostTarget(name="web-1", address="198.18.0.2")
GOLDENS = sorted(OUTPUTS.glob("*/*.json"))


def golden(path: Path) -> Facts:
    facts: Facts = json.loads(path.read_text())["facts"]
    return facts


def result_name(path: Path) -> str:
    """The probe name a golden would have in a run (follow-ups carry their mount)."""
    folder = path.parent.name
    return f"{folder}:/" if folder in ("disk_usage", "inode_usage") else folder


class Reads(Mapping[str, Facts]):
    """`extra` that records every key a rule asks for, present or not."""

    def __init__(self, data: Mapping[str, Facts]) -> None:
        self.data = dict(data)
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> Facts:
        self.asked.add(key)
        return self.data[key]

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return key in self.data

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("a rule iterates over every probe's facts: declare what it needs")

    def __len__(self) -> int:
        return len(self.data)


def bases(keys: set[str]) -> set[str]:
    return {k.split(":", 1)[0] for k in keys}


def test_derived_views_come_from_the_registry() -> None:
    assert checks.DEFAULT_PROBES == tuple(n for c in CHECKS for n in c.probes)
    assert probes.DEFAULT_PROBES is checks.DEFAULT_PROBES
    assert probes.FACTORIES is checks.FACTORIES and rules.RULES is checks.RULES
    assert rules.CODES is checks.CODES and rules.evaluate is checks.evaluate
    assert len({c.name for c in CHECKS}) == len(CHECKS)
    codes = [code.code for code in checks.CODES]
    assert len(codes) == len(set(codes))
    # Every rule keys on a probe some check runs, first or as a follow-up.
    runs = set(checks.DEFAULT_PROBES) | {"docker_detail"}
    assert set(RULES) <= runs
    # The bot's summaries and differs include every check's.
    assert set(checks.DIFFERS) <= set(all_differs())
    assert {"sockets", "disk", "connections", "uptime", "dig"} <= set(all_differs())
    # A dig report is diffed with the bot's own differs only (bot.runs.history.differs_for):
    # that is the same as all of them only while no host check's differ is named `dig...`.
    assert not [name for name in checks.DIFFERS if name.startswith("dig")]
    assert set(OWN_DIFFERS) == {"dig"}


@pytest.mark.parametrize(
    "path", [p for p in CASES if p.name.startswith("host-")], ids=lambda p: p.stem
)
def test_recorded_rule_reads_only_its_declared_needs(path: Path) -> None:
    """Every fact a rule reads from `extra` is its own probe's or declared in its needs."""
    case = load(path)
    name = case["fn"].split(".", 1)[1]
    extra = Reads({**case["extra"], name: case["facts"]})
    host = HostTarget(
        **{
            **case["host"],
            **{k: tuple(case["host"][k]) for k in ("host_keys", "expect_ports", "logs")},
        }
    )
    list(RULES[name](case["facts"], host, Thresholds(**case["thresholds"]), extra))
    assert bases(extra.asked) <= NEEDS[name], bases(extra.asked) - NEEDS[name]


def test_every_rule_on_every_golden_reads_only_its_needs() -> None:
    """All goldens at once, as one run's facts: each rule still asks only for its needs."""
    ok = {result_name(p): golden(p) for p in GOLDENS}
    host = replace(HOST, expect_ports=(22, 5432), logs=("/var/log/app.log",))
    for path in GOLDENS:
        name = path.parent.name
        if name not in RULES or golden(path).get("available") is False:
            continue
        extra = Reads({**ok, name: golden(path)})
        list(RULES[name](golden(path), host, Thresholds(), extra))
        assert bases(extra.asked) <= NEEDS[name], (path, bases(extra.asked) - NEEDS[name])


def test_a_rule_is_given_only_what_it_declared() -> None:
    facts = {p.parent.name: golden(p) for p in GOLDENS}
    seen = checks.visible("disk", {"disk": facts["disk"], "disk_usage:/var": {}, "docker": {}})
    assert set(seen) == {"disk", "disk_usage:/var"}
    assert set(checks.visible("resolve", {"resolve": {}, "docker": {}})) == {"resolve"}


def test_every_check_summary_renders_its_goldens() -> None:
    for path in GOLDENS:
        name = path.parent.name
        if any(name in c.summaries for c in CHECKS):
            result = ProbeResult(probe=result_name(path), host="web-1", ok=True, facts=golden(path))
            lines = summarize(result)
            assert lines and not lines[0].startswith(tuple(f"{k}: " for k in golden(path))), path


def test_follow_ups_come_from_the_checks() -> None:
    disk = ProbeResult(
        probe="disk", host="web-1", ok=True, facts=golden(OUTPUTS / "disk" / "full-and-inodes.json")
    )
    names = [p.name for p in follow_up_probes([disk], Thresholds())]
    assert "disk_usage:/mnt/tb full" in names and "inode_usage:/mnt/tbinodes" in names
    assert follow_up_probes([replace(disk, ok=False)], Thresholds()) == []


# The uptime check: one module, one registry line.


def uptime_facts() -> Facts:
    txt = OUTPUTS / "uptime" / "this-machine.txt"
    return uptime.parse(CommandResult(txt.read_text(), "", 0, 0.01))


def test_uptime_is_one_registry_line_and_runs_in_the_routine() -> None:
    assert uptime.CHECK in CHECKS and "uptime" in checks.DEFAULT_PROBES
    assert probe_for("uptime").command == uptime.UPTIME.command
    assert "host.rebooted" in {c.code for c in checks.CODES}


def test_uptime_rule_on_the_golden_capture() -> None:
    facts = uptime_facts()
    run = [ProbeResult(probe="uptime", host="web-1", ok=True, facts=facts)]
    assert evaluate(run, HOST) == []  # up 112 minutes: over the 15-minute default
    minutes = facts["uptime_s"] / 60
    found = evaluate(run, HOST, Thresholds(reboot_recent_min=minutes + 1))
    assert [(f.code, f.severity) for f in found] == [("host.rebooted", "warning")]
    assert facts["boot_time"] in found[0].title and "journalctl -b -1" in found[0].suggestion
    assert evaluate(run, HOST, Thresholds(reboot_recent_min=minutes - 1)) == []


def test_uptime_summary_and_differ() -> None:
    facts = uptime_facts()
    assert summarize(ProbeResult(probe="uptime", host="h", ok=True, facts=facts)) == [
        f"up 112 min, booted {facts['boot_time']}"
    ]
    assert all_differs()["uptime"](facts, facts) == {}
    # Two reads of one boot may disagree on btime by a second: not a reboot.
    assert all_differs()["uptime"](facts, {**facts, "boot_epoch": facts["boot_epoch"] + 1}) == {}
    later: dict[str, Any] = {**facts, "boot_epoch": facts["boot_epoch"] + 3600, "boot_time": "x"}
    assert all_differs()["uptime"](facts, later) == {
        "rebooted": {"before": facts["boot_time"], "now": "x"}
    }


@pytest.mark.parametrize("stdout", ["", "no uptime here\n", "uptime abc\n"])
def test_uptime_unparseable_output_is_a_value_error(stdout: str) -> None:
    with pytest.raises(ValueError):
        uptime.parse(CommandResult(stdout, "", 1, 0.01))


def test_uptime_lines_show_with_the_kernel_facts() -> None:
    from datetime import UTC, datetime

    from bot.render.facts import fact_groups
    from commands.report import Report

    facts = uptime_facts()
    result = ProbeResult(probe="uptime", host="web-1", ok=True, facts=facts, area="kernel")
    report = Report("triage", "web-1", "ok", datetime.now(UTC), 1, (), (result,))
    assert [(g.title, g.lines) for g in fact_groups(report)] == [
        ("Kernel and limits", (f"up 112 min, booted {facts['boot_time']}",))
    ]
