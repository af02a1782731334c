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


# (busy %, procs_running samples, load1) on 2 CPUs -> severity of the single cpu.saturated.
SATURATION: dict[str, tuple[float, list[int | None], float, str | None]] = {
    "calm": (10.0, [2, 2], 1.0, None),
    "queue-below": (99.0, [2, 2], 0.1, None),  # the reader does not count: 1 on 2 CPUs
    "queue-at-warning": (95.0, [3, 3], 0.1, "warning"),
    "queue-at-critical": (95.0, [5, 5], 0.1, "critical"),
    "busy-just-below": (89.9, [5, 5], 9.0, None),
    "busy-at-threshold": (90.0, [5, 5], 9.0, "critical"),
    "queue-transient-spike": (95.0, [9, 2], 0.1, None),  # triage's own probes, first sample
    "queue-missing-samples": (99.0, [None, None], 9.0, None),
    # Load lags: right after a burst the 1-minute load is high and the CPUs are idle.
    "after-a-burst": (3.0, [1, 1], 6.5, None),
    # Load counts D-state tasks: high load, idle CPUs waiting on I/O.
    "load-from-io-waits": (8.0, [1, 1], 9.1, None),
}


@pytest.mark.parametrize("case", list(SATURATION), ids=list(SATURATION))
def test_saturation_is_busy_time_and_run_queue_not_load(case: str) -> None:
    busy, samples, load1, expected = SATURATION[case]
    findings = run(
        load={**LOAD, "load1": load1, "load5": 2.0, "load15": 1.0},
        stat={**STAT, "busy_pct": busy, "procs_running_samples": samples},
        processes=PROCS,
    )
    saturated = [f for f in findings if f.code == "cpu.saturated"]
    if expected is None:
        assert saturated == []
        return
    (finding,) = saturated
    assert finding.severity == expected
    assert finding.evidence["basis"] == "run_queue"
    assert finding.evidence["busy_pct"] == busy
    # The load is context, with its trend.
    assert finding.evidence["load1"] == load1
    trend = "rising" if load1 > 2.4 else "falling"  # against load5 2.0
    assert finding.evidence["load_trend"] == trend
    assert f"load {load1:.2f}/2.00/1.00 (1/5/15 min, {trend})" in finding.title
    assert finding.evidence["procs_running_samples"] == samples


def test_issue_example_io_bound_host_is_not_saturated() -> None:
    # Load 9.1 on 4 CPUs, 70% idle, 22% iowait, D-state tasks: storage, not CPU.
    stat = {
        **STAT,
        "cpus": 4,
        "user_pct": 6.0,
        "system_pct": 2.0,
        "idle_pct": 70.0,
        "iowait_pct": 22.0,
        "busy_pct": 8.0,
        "procs_running_samples": [2, 2],
        "procs_blocked": 7,
        "procs_blocked_samples": [8, 7],
    }
    load = {**LOAD, "load1": 9.1, "load5": 8.7, "load15": 6.0, "cpus": 4}
    assert serious(run(load=load, stat=stat, processes=PROCS)) == [("cpu.iowait_high", "warning")]


def test_real_saturated_capture_names_the_busy_loops() -> None:
    finding = only(run(load=LOAD, stat=BUSY_STAT, processes=PROCS), "cpu.saturated")
    assert finding.severity == "critical"
    assert finding.evidence["run_queue"] == 6
    assert finding.evidence["run_queue_per_core"] == 3.0
    assert finding.evidence["busy_pct"] == 100.0
    assert finding.title.startswith(
        "CPU 100% busy over 1.04s with 6 runnable task(s) on 2 CPU(s): 3.00 per core"
    )
    assert "pid 4 python3 (39.4%), pid 5 python3 (29.8%)" in finding.suggestion
    assert "`top -H -p 4`" in finding.suggestion
    assert "drain" in finding.suggestion
    assert [p["pid"] for p in finding.evidence["top_cpu"]] == [4, 5, 3, 7, 2]


def test_thresholds_come_from_settings() -> None:
    findings = run(Thresholds(load_per_core=4.0, load_per_core_critical=8.0), stat=BUSY_STAT)
    assert serious(findings) == []
    findings = run(Thresholds(load_per_core=2.0, load_per_core_critical=3.5), stat=BUSY_STAT)
    assert serious(findings) == [("cpu.saturated", "warning")]


@pytest.mark.parametrize(
    ("probes", "named"),
    [
        ({"stat": BUSY_STAT, "processes": PROCS}, 4),
        ({"stat": BUSY_STAT}, None),
        ({"stat": BUSY_STAT, "processes": BUSYBOX}, 6),
    ],
    ids=["no-load-probe", "no-processes", "busybox-ps"],
)
def test_missing_facts_still_give_one_finding(probes: dict[str, Facts], named: int | None) -> None:
    finding = only(run(**probes), "cpu.saturated")
    assert finding.evidence["basis"] == "run_queue"
    if named is None:
        assert "Busiest" not in finding.suggestion and "-p PID" in finding.suggestion
    else:
        assert f"Busiest now: pid {named} python3 (" in finding.suggestion


def test_without_the_stat_sample_load_gives_nothing() -> None:
    unavailable = {"available": False, "why": "no /proc"}
    assert serious(run(load={**LOAD, "load1": 5.0}, processes=PROCS)) == []
    assert serious(run(load={**LOAD, "load1": 5.0}, stat=unavailable)) == []


STEAL = [(9.9, None), (10.0, "warning"), (24.9, "warning"), (25.0, "critical")]


@pytest.mark.parametrize(("pct", "severity"), STEAL, ids=[str(p) for p, _ in STEAL])
def test_steal(pct: float, severity: str | None) -> None:
    findings = [f for f in run(stat={**STAT, "steal_pct": pct}) if f.code == "cpu.steal_high"]
    assert [f.severity for f in findings] == ([severity] if severity else [])
    if findings:
        assert f"{pct:g}% of CPU time stolen" in findings[0].title
        assert "`vmstat 1 5`" in findings[0].suggestion


BLOCKED = [([3, 9], 2.0, None), ([4, 5], 2.0, "warning"), ([16, 20], 2.0, "critical")]
BLOCKED += [([9, 9], 20.0, None)]  # iowait_high names them instead


@pytest.mark.parametrize(
    ("samples", "iowait", "severity"), BLOCKED, ids=["below", "warning", "critical", "iowait"]
)
def test_blocked_io(samples: list[int], iowait: float, severity: str | None) -> None:
    stat = {**STAT, "procs_blocked_samples": samples, "procs_blocked": samples[1]}
    stat["iowait_pct"] = iowait
    found = [f for f in run(stat=stat, load=LOAD) if f.code == "proc.blocked_io"]
    assert [f.severity for f in found] == ([severity] if severity else [])
    if found:
        assert f"{min(samples)} task(s) blocked" in found[0].title
        assert "D state" in found[0].title and "mount -t nfs" in found[0].suggestion


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


# Pages per second in and out over the capture's 1.01 s window.
SWAP = [
    (None, None, None),
    (0.0, 255.9, None),
    (20.0, 40.0, None),  # a few pages in one window are not swapping
    (156.0, 100.0, None),  # 256 pages/s but only 258 pages moved: under the 512 minimum
    (0.0, 999.9, "warning"),
    (1500.0, 1500.0, "critical"),
    (None, 2600.0, "critical"),
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
