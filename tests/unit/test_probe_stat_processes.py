"""The stat and processes parsers beyond the golden files: older kernels, bad output, limits."""

from __future__ import annotations

import re

import pytest

from ssh_probes.model import CommandResult, ProbeConfig
from ssh_probes.probes import build
from ssh_probes.probes.proc_top import ARGS_CAP, LINE_CAP
from ssh_probes.probes.processes import parse as parse_ps
from ssh_probes.probes.stat import parse as parse_stat
from tests.fixtures.capture import OUTPUTS

STAT_TXT = (OUTPUTS / "stat" / "this-machine.txt").read_text()
PS_TXT = (OUTPUTS / "processes" / "procps-busy-loops.txt").read_text()


def out(stdout: str, status: int = 0, stderr: str = "") -> CommandResult:
    return CommandResult(stdout, stderr, status, 0.01)


@pytest.mark.parametrize("name", ["stat", "processes"])
def test_window_is_an_argv_element_not_shell_text(name: str) -> None:
    probe = build(name, ProbeConfig(sample_window_s=0.3))
    assert probe.command[:2] == ("sh", "-c")
    # stat sleeps half the window twice, reading the run queue in between.
    window, sleep = (
        (("sh", "0.3", "0.15"), 'sleep "$2"') if name == "stat" else (("sh", "0.3"), 'sleep "$1"')
    )
    assert probe.command[3:] == window
    assert sleep in probe.command[2]
    assert probe.timeout_s > 0.3


def test_run_queue_is_sampled_mid_window_too() -> None:
    facts = parse_stat(out((OUTPUTS / "stat" / "this-machine-mid-sample.txt").read_text()))
    assert len(facts["procs_running_samples"]) == len(facts["procs_blocked_samples"]) == 3
    assert facts["procs_running"] == facts["procs_running_samples"][-1]


def test_older_kernel_without_steal_memavailable_or_swap_counters() -> None:
    # A 2.6-era /proc: the cpu lines stop after softirq, no MemAvailable, no pswp* counters.
    def cut(line: str) -> str:
        return " ".join(line.split()[:8]) if line.startswith("cpu") else line

    lines = [
        cut(line)
        for line in STAT_TXT.splitlines()
        if not line.startswith(("MemAvailable", "pswp", "procs_blocked"))
    ]
    facts = parse_stat(out("\n".join(lines) + "\n"))
    assert facts["steal_pct"] is None
    assert facts["user_pct"] is not None and facts["idle_pct"] is not None
    assert facts["swap_in_pages_per_s"] is None and facts["major_faults_per_s"] is not None
    assert facts["procs_blocked_samples"] == [None, None]
    assert facts["mem_available_estimated"] is True
    assert 0 < facts["mem_available_pct"] <= 100


def test_cpu_percentages_add_up() -> None:
    facts = parse_stat(out(STAT_TXT))
    shares = ("mem_available_pct", "busy_pct")
    total = sum(v for k, v in facts.items() if k.endswith("_pct") and k not in shares)
    assert abs(total - 100.0) < 1.0
    busy = ("user", "nice", "system", "irq", "softirq")
    assert abs(facts["busy_pct"] - sum(facts[f"{k}_pct"] for k in busy)) < 0.2


@pytest.mark.parametrize(
    ("stdout", "stderr", "status"),
    [
        ("", "", 0),
        ("--- sample\n1.0 2.0\ncpu  1 2 3 4\ncpu0 1 2 3 4\n--- meminfo\n", "", 0),
        (STAT_TXT.replace("cpu ", "cpuX "), "", 0),
        ("garbage\n", "", 0),
    ],
    ids=["empty", "one-sample", "no-aggregate-cpu", "garbage"],
)
def test_stat_unreadable_is_value_error(stdout: str, stderr: str, status: int) -> None:
    with pytest.raises(ValueError):
        parse_stat(out(stdout, status, stderr))


def test_stat_without_proc_is_unavailable() -> None:
    facts = parse_stat(out("", 1, "cat: /proc/uptime: No such file or directory"))
    assert facts["available"] is False


PS_HEAD, _, PS_ROWS = PS_TXT.partition("--- ps\n")


@pytest.mark.parametrize(
    "stdout",
    [
        "",
        PS_ROWS,
        "procps 24 100\n--- ps\n" + PS_ROWS,
        PS_HEAD + "--- ps\n",
        PS_HEAD + "--- ps\n" + "\n".join(r for r in PS_ROWS.splitlines() if "sh -c hz" in r),
        PS_HEAD.replace("procps ", "shell ", 1) + "--- ps\n" + PS_ROWS,
        PS_HEAD.replace("procps ", "shell ", 1) + "--- ps toybox\n" + PS_ROWS,
    ],
    ids=[
        "empty",
        "no-marker",
        "no-tick-samples",
        "no-rows",
        "only-own-shell",
        "no-flavour",
        "unknown-flavour",
    ],
)
def test_processes_unreadable_is_value_error(stdout: str) -> None:
    with pytest.raises(ValueError):
        parse_ps(out(stdout))


def test_recent_cpu_ranks_over_lifetime_average() -> None:
    facts = parse_ps(out(PS_TXT))
    top = facts["top_cpu"][0]
    assert (top["pid"], top["cpu_pct"], top["cpu_pct_lifetime"]) == (4, 39.4, 27.5)
    # The probe's own shell (24), ps (35) and cut (36) are not the host's processes.
    assert not {24, 35, 36} & {p["pid"] for p in facts["top_cpu"] + facts["top_mem"]}
    assert facts["total_processes"] == 10 and facts["total_threads"] == 14


def test_cut_line_loses_its_partial_last_word_and_args_are_capped() -> None:
    row = next(line for line in PS_ROWS.splitlines() if "--api-key" in line)
    # As if `cut -c 1-512` had split a token in the middle of the key's value.
    long_row = (row.split(" --api-key")[0] + " x" * 400)[: LINE_CAP - 8] + " ghp_abc"
    facts = parse_ps(out(f"{PS_HEAD}--- ps\n{long_row}\n"))
    args = facts["top_mem"][0]["args"]
    assert "ghp_abc" not in args
    assert len(args) == ARGS_CAP and args.endswith("...")


def test_secrets_in_arguments_are_redacted() -> None:
    facts = parse_ps(out(PS_TXT))
    text = repr(facts)
    assert "abc123notreal" not in text and "s3cretnotreal" not in text
    assert re.search(r"--api-key=\[REDACTED\]", text)


PROC_DIR = OUTPUTS / "processes"
PROC_TXT = (PROC_DIR / "pidns-ps-then-proc.txt").read_text()
PROC_HEAD, _, PROC_ROWS = PROC_TXT.partition("--- proc ")


@pytest.mark.parametrize(
    ("case", "flavour", "same"),
    [
        ("pidns-ps-then-proc", "procps", ("user", "threads", "command", "args", "mem_pct")),
        ("pidns-proc-busybox", "busybox", ("user", "command", "args")),  # no threads in its ps
    ],
)
def test_proc_listing_gives_what_ps_gave_at_the_same_moment(
    case: str, flavour: str, same: tuple[str, ...]
) -> None:
    # One pid namespace, main's script (ps), then the /proc one, back to back.
    before = parse_ps(out((PROC_DIR / f"{case}-ps.txt").read_text()))
    now = parse_ps(out((PROC_DIR / f"{case}.txt").read_text()))
    assert (before["format"], now["format"]) == (flavour, "proc")
    assert now["total_processes"] == before["total_processes"]
    assert now["total_threads"] == (before["total_threads"] or now["total_processes"])
    for key in ("top_cpu", "top_mem"):
        assert [p["pid"] for p in now[key]] == [p["pid"] for p in before[key]]
        for old, new in zip(before[key], now[key], strict=True):
            for field in same:
                assert new[field] == old[field], (old["pid"], field)
            assert abs(new["cpu_pct"] - old["cpu_pct"]) <= 2.0
            assert (
                abs(new["cpu_pct_lifetime"] - (old["cpu_pct_lifetime"] or new["cpu_pct_lifetime"]))
                <= 1.0
            )
            assert abs(new["rss_kb"] - old["rss_kb"]) <= 256


def test_proc_listing_redacts_and_cuts_arguments_as_before() -> None:
    now = parse_ps(out(PROC_TXT))
    assert "--password=[REDACTED]" in repr(now) and "hunter2" not in repr(now)
    sleeper = next(p for p in now["top_cpu"] if p["command"] == "sleep")
    assert sleeper["args"].startswith("sleep 60 1 2 3") and sleeper["args"].endswith("...")


def _proc(*rows: str, totals: str = "3 5 1000000") -> CommandResult:
    return out(f"{PROC_HEAD}--- proc {totals}\n" + "".join(f"{r}\n" for r in rows))


def test_proc_arguments_joined_by_nul_are_redacted_like_spaced_ones() -> None:
    facts = parse_ps(_proc("2\t1\tmysql\t2048\t3\t10\t0\t0\tmysqld\0--password\0hunter2\0"))
    (row,) = facts["top_cpu"]
    assert row["args"] == "mysqld --password [REDACTED]"
    assert (row["user"], row["command"], row["threads"], row["rss_kb"]) == (
        "mysql",
        "mysqld",
        3,
        2048,
    )
    assert row["mem_pct"] == 0.2 and facts["total_processes"] == 3 and facts["total_threads"] == 5


def test_proc_cut_line_loses_its_partial_last_word_and_control_characters_show_as_marks() -> None:
    cut = parse_ps(_proc("2\t1\troot\t1\t1\t10\t0\t1\tapp --token ghp_abc"))
    assert cut["top_cpu"][0]["args"] == "app --token"
    odd = parse_ps(_proc("2\t1\troot\t1\t1\t10\t0\t0\tapp \x1b[31mred\x07"))
    assert odd["top_cpu"][0]["args"] == "app ?[31mred?"


def test_proc_lifetime_cpu_is_ticks_over_the_time_alive() -> None:
    # Uptime at the second sample is in the golden head; a process started 100 ticks (1 s)
    # after boot that used 50 ticks has run for uptime - 1 s.
    uptime = float(PROC_HEAD.split("--- ticks\n")[2].split()[0])
    facts = parse_ps(_proc("2\t1\troot\t1\t1\t100\t50\t0\tx"))
    assert facts["top_cpu"][0]["cpu_pct_lifetime"] == round(100 * 0.5 / (uptime - 1.0), 1)


@pytest.mark.parametrize(
    "stdout",
    [
        PROC_HEAD + "--- proc\n",
        PROC_HEAD + "--- proc 3 x 1000\n2\t1\troot\t1\t1\t1\t0\t0\tx\n",
        PROC_HEAD + "--- proc 3 5 1000\n",
        PROC_HEAD + "--- proc 3 5 1000\nnot\ta\trow\n",
        PROC_HEAD.replace("shell ", "procps ", 1) + "--- proc 3 5 1000\n" + PROC_ROWS,
    ],
    ids=["no-totals", "bad-totals", "no-rows", "odd-row", "old-head"],
)
def test_proc_unreadable_is_value_error(stdout: str) -> None:
    with pytest.raises(ValueError):
        parse_ps(out(stdout))
