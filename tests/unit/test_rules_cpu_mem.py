"""CPU and memory rules on facts parsed from real captured output, varied one field at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ssh_probes.model import Facts, Finding, HostTarget, ProbeResult
from ssh_probes.rules import Thresholds, evaluate
from tests.fixtures.capture import OUTPUTS

HOST = HostTarget(name="web-1", address="198.18.0.2")


def golden(probe: str, case: str) -> Facts:
    facts: Facts = json.loads((OUTPUTS / probe / f"{case}.json").read_text())["facts"]
    return facts


LOAD = golden("load", "this-machine")  # load1 0.14 on 2 CPUs
STAT = golden("stat", "this-machine")  # procs_running [1, 1], iowait 0.5%, 96.6% available
BUSY_STAT = golden("stat", "cpu-saturated")  # six busy loops: procs_running [7, 7]
PROCS = golden("processes", "procps-busy-loops")  # top CPU: pid 4 python3 39.4%
BUSYBOX = golden("processes", "busybox")  # %CPU from ticks only: pid 6 python3 35.6%


def run(thresholds: Thresholds | None = None, **facts_by_probe: Facts | None) -> list[Finding]:
    results = [
        ProbeResult(name, HOST.name, True, facts=facts)
        for name, facts in facts_by_probe.items()
        if facts is not None
    ]
    return evaluate(results, HOST, thresholds)


def serious(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.code, f.severity) for f in findings if f.severity != "info")


def only(findings: list[Finding], code: str) -> Finding:
    found = [f for f in findings if f.code == code]
    assert len(found) == 1, findings
    return found[0]


def test_healthy_host_has_no_warning() -> None:
    assert serious(run(load=LOAD, stat=STAT, processes=PROCS)) == []
    assert serious(run(load=LOAD, stat=STAT, processes=BUSYBOX)) == []


# (load1, procs_running samples) on 2 CPUs -> (severity, basis) of the single cpu.saturated.
SATURATION: dict[str, tuple[float, list[int | None], tuple[str, str] | None]] = {
    "calm": (1.0, [2, 2], None),
    "load-just-below": (1.99, [1, 1], None),
    "load-at-warning": (2.0, [1, 1], ("warning", "load")),
    "load-below-critical": (3.99, [1, 1], ("warning", "load")),
    "load-at-critical": (4.0, [1, 1], ("critical", "load")),
    "queue-below": (0.1, [2, 2], None),  # the reader does not count: 1 runnable on 2 CPUs
    "queue-at-warning": (0.1, [3, 3], ("warning", "run_queue")),
    "queue-at-critical": (0.1, [5, 5], ("critical", "run_queue")),
    "queue-transient-spike": (0.1, [9, 2], None),  # triage's own probes in the first sample
    "queue-worse-than-load": (2.5, [7, 7], ("critical", "run_queue")),
    "load-worse-than-queue": (4.5, [3, 3], ("critical", "load")),
    "both-warning-higher-wins": (2.2, [4, 4], ("warning", "run_queue")),
    "queue-missing-samples": (0.1, [None, None], None),
}


@pytest.mark.parametrize("case", list(SATURATION), ids=list(SATURATION))
def test_one_cpu_saturated_from_load_or_run_queue(case: str) -> None:
    load1, samples, expected = SATURATION[case]
    findings = run(
        load={**LOAD, "load1": load1},
        stat={**STAT, "procs_running_samples": samples},
        processes=PROCS,
    )
    saturated = [f for f in findings if f.code == "cpu.saturated"]
    if expected is None:
        assert saturated == []
        return
    assert len(saturated) == 1
    finding = saturated[0]
    assert (finding.severity, finding.evidence["basis"]) == expected
    # Both measures are in the evidence whichever decided.
    assert finding.evidence["load1"] == load1
    assert finding.evidence["procs_running_samples"] == samples
    assert finding.evidence["load_per_core"] == round(load1 / 2, 3)


def test_real_saturated_capture_names_the_busy_loops() -> None:
    finding = only(run(load=LOAD, stat=BUSY_STAT, processes=PROCS), "cpu.saturated")
    assert finding.severity == "critical"
    assert finding.evidence["run_queue"] == 6
    assert finding.evidence["run_queue_per_core"] == 3.0
    assert finding.evidence["load_per_core"] == 0.07
    assert finding.title.startswith("run queue 6 on 2 CPU(s): 3.00 per core")
    assert "pid 4 python3 (39.4%), pid 5 python3 (29.8%)" in finding.suggestion
    assert "`top -H -p 4`" in finding.suggestion
    assert [p["pid"] for p in finding.evidence["top_cpu"]] == [4, 5, 3, 7, 2]


def test_thresholds_come_from_settings() -> None:
    findings = run(Thresholds(load_per_core=4.0, load_per_core_critical=8.0), stat=BUSY_STAT)
    assert serious(findings) == []
    findings = run(Thresholds(load_per_core=2.0, load_per_core_critical=3.5), stat=BUSY_STAT)
    assert serious(findings) == [("cpu.saturated", "warning")]


@pytest.mark.parametrize(
    ("probes", "expected_basis", "named"),
    [
        ({"stat": BUSY_STAT, "processes": PROCS}, "run_queue", 4),
        ({"stat": BUSY_STAT}, "run_queue", None),
        ({"stat": BUSY_STAT, "processes": BUSYBOX}, "run_queue", 6),
        ({"load": {**LOAD, "load1": 5.0}, "processes": PROCS}, "load", 4),
        (
            {"load": {**LOAD, "load1": 5.0}, "stat": {"available": False, "why": "no /proc"}},
            "load",
            None,
        ),
    ],
    ids=["no-load-probe", "no-processes", "busybox-ps", "no-stat", "stat-unavailable"],
)
def test_missing_facts_still_give_one_finding(
    probes: dict[str, Facts], expected_basis: str, named: int | None
) -> None:
    finding = only(run(**probes), "cpu.saturated")
    assert finding.evidence["basis"] == expected_basis
    if named is None:
        assert "Busiest" not in finding.suggestion and "-p PID" in finding.suggestion
    else:
        assert f"Busiest now: pid {named} python3 (" in finding.suggestion


def test_unavailable_stat_is_info_only() -> None:
    findings = run(load=LOAD, stat={"available": False, "why": "no /proc/stat", "hint": "x"})
    assert [(f.code, f.severity) for f in findings] == [("source.unavailable", "info")]


def test_older_kernel_facts_do_not_crash() -> None:
    old = {
        **STAT,
        "iowait_pct": None,
        "steal_pct": None,
        "procs_running_samples": [None, None],
        "swap_in_pages_per_s": None,
        "swap_out_pages_per_s": None,
        "mem_available_pct": None,
    }
    assert serious(run(stat=old)) == []


IOWAIT = [(19.9, None), (20.0, "warning"), (49.9, "warning"), (50.0, "critical")]


@pytest.mark.parametrize(("pct", "severity"), IOWAIT, ids=[str(p) for p, _ in IOWAIT])
def test_iowait(pct: float, severity: str | None) -> None:
    stat = {**STAT, "iowait_pct": pct, "procs_blocked": 3, "procs_blocked_samples": [2, 3]}
    findings = [f for f in run(stat=stat) if f.code == "cpu.iowait_high"]
    assert [f.severity for f in findings] == ([severity] if severity else [])
    if findings:
        text = findings[0].suggestion
        assert "`iostat -x 1 5`" in text and "`iotop -o`" in text and "3 blocked" in text
        assert findings[0].evidence["procs_blocked"] == 3


def _mem(pct: float) -> dict[str, Any]:
    total = STAT["mem_total_kb"]
    return {**STAT, "mem_available_kb": int(total * pct / 100), "mem_available_pct": pct}


MEM = [(10.1, None), (10.0, "warning"), (5.1, "warning"), (5.0, "critical"), (0.0, "critical")]


@pytest.mark.parametrize(("pct", "severity"), MEM, ids=[str(p) for p, _ in MEM])
def test_memory_pressure(pct: float, severity: str | None) -> None:
    findings = [f for f in run(stat=_mem(pct), processes=PROCS) if f.code == "mem.pressure"]
    assert [f.severity for f in findings] == ([severity] if severity else [])
    if findings:
        assert "Largest RSS: pid 8 python3 72.8M, pid 1 python3 14.1M" in findings[0].suggestion
        assert "`ps -o pid,ppid,cmd,%cpu,%mem,rss -p 8`" in findings[0].suggestion
        assert findings[0].evidence["mem_available_pct"] == pct


def test_memory_pressure_names_rss_from_busybox_and_configurable() -> None:
    finding = only(run(stat=_mem(3.0), processes=BUSYBOX), "mem.pressure")
    assert "pid 8 python3 72.0M" in finding.suggestion
    assert (
        run(Thresholds(mem_available_warning_pct=2, mem_available_critical_pct=1), stat=_mem(3))
        == []
    )


SWAP = [
    (None, None, None),
    (0.0, 99.9, None),
    (60.0, 40.0, "warning"),
    (0.0, 999.9, "warning"),
    (500.0, 500.0, "critical"),
    (None, 1200.0, "critical"),
]


@pytest.mark.parametrize(
    ("swap_in", "swap_out", "severity"), SWAP, ids=[f"{i}-{o}" for i, o, _ in SWAP]
)
def test_swapping(swap_in: float | None, swap_out: float | None, severity: str | None) -> None:
    stat = {
        **STAT,
        "swap_in_pages_per_s": swap_in,
        "swap_out_pages_per_s": swap_out,
        "swap_total_kb": 2097152,
        "swap_free_kb": 1048576,
    }
    findings = [f for f in run(stat=stat, processes=PROCS) if f.code == "mem.swapping"]
    assert [f.severity for f in findings] == ([severity] if severity else [])
    if findings:
        assert "1.0G of swap in use" in findings[0].title
        assert "`vmstat 1 5`" in findings[0].suggestion
        assert "pid 8 python3" in findings[0].suggestion
