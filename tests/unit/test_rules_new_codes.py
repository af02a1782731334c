"""The incidents the routine used to miss: each new code from its golden capture, exactly that
code; healthy captures give none; one finding per incident when two probes see it; thresholds."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

from ssh_probes.model import Facts, Finding, HostTarget, ProbeResult
from ssh_probes.probes import clock, limits, services
from ssh_probes.rules import Thresholds, evaluate
from ssh_probes.rules.clock import skew_s
from tests.fixtures.capture import OUTPUTS

HOST = HostTarget(name="web-1", address="198.18.0.2")


def golden(probe: str, case: str) -> Facts:
    facts: Facts = json.loads((OUTPUTS / probe / f"{case}.json").read_text())["facts"]
    return facts


def run(cases: dict[str, Facts], t: Thresholds | None = None) -> list[Finding]:
    results = [ProbeResult(p, HOST.name, True, facts=f) for p, f in cases.items()]
    return evaluate(results, HOST, t)


def serious(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.code, f.severity) for f in findings if f.severity != "info")


# (probe, case) captures -> the one finding they give, alone.
FAULTS: dict[str, tuple[dict[str, tuple[str, str]], tuple[str, str]]] = {
    "hung-task": ({"kernel": ("kernel", "hung-task")}, ("kernel.hung_task", "critical")),
    "soft-lockup": ({"kernel": ("kernel", "soft-lockup")}, ("kernel.soft_lockup", "critical")),
    "io-error": ({"kernel": ("kernel", "io-error")}, ("disk.io_error", "critical")),
    "remount-ro-in-log": (
        {"kernel": ("kernel", "ext4-remount-ro")},
        ("fs.readonly", "critical"),
    ),
    "conntrack-drops-in-log": (
        {"kernel": ("kernel", "conntrack-full")},
        ("conntrack.full", "critical"),
    ),
    "syn-flood-in-log": (
        {"kernel": ("kernel", "syn-flood")},
        ("tcp.listen_queue_full", "critical"),
    ),
    "file-max-in-log": ({"kernel": ("kernel", "file-max")}, ("fd.exhausted", "critical")),
    "process-at-fd-limit": (
        {"limits": ("limits", "process-at-fd-limit")},
        ("fd.exhausted", "critical"),
    ),
    "ext4-remounted-ro": (
        {"limits": ("limits", "ext4-remounted-ro")},
        ("fs.readonly", "critical"),
    ),
    "conntrack-near-max": (
        {"limits": ("limits", "conntrack-near-max")},
        ("conntrack.full", "critical"),
    ),
    "listen-overflows": (
        {"limits": ("limits", "listen-overflows"), "sockets": ("sockets", "accept-queue-full")},
        ("tcp.listen_queue_full", "critical"),
    ),
    "accept-queue-full-sockets-only": (
        {"sockets": ("sockets", "accept-queue-full")},
        ("tcp.listen_queue_full", "critical"),
    ),
    "crash-loop": ({"services": ("services", "crash-loop")}, ("service.crash_loop", "critical")),
    "ntp-unsynchronised": (
        {"clock": ("clock", "ntp-unsynchronised")},
        ("clock.skew", "warning"),
    ),
}


@pytest.mark.parametrize("case", list(FAULTS), ids=list(FAULTS))
def test_each_capture_gives_exactly_its_code(case: str) -> None:
    sources, want = FAULTS[case]
    findings = run({probe: golden(*where) for probe, where in sources.items()})
    assert serious(findings) == [want]


HEALTHY = [
    ("limits", "this-machine"),
    ("limits", "busybox"),
    ("limits", "as-nobody"),
    ("clock", "no-systemd"),
    ("clock", "busybox"),
    ("clock", "ntp-synchronised"),
    ("clock", "systemd-219-no-show"),
    ("clock", "timesyncd-synchronized"),
    ("services", "healthy"),
    ("services", "slow-start"),
    ("kernel", "this-machine-dmesg"),
    ("kernel", "journal-no-oom"),
    ("sockets", "root-with-processes"),
]


@pytest.mark.parametrize("case", HEALTHY, ids=[f"{p}/{c}" for p, c in HEALTHY])
def test_healthy_captures_give_nothing(case: tuple[str, str]) -> None:
    probe, name = case
    assert serious(run({probe: golden(probe, name)})) == []


# --- one incident, one finding ---------------------------------------------------------------


def test_kernel_drops_and_live_table_are_one_conntrack_finding() -> None:
    findings = run(
        {"kernel": golden("kernel", "conntrack-full"), "limits": golden("limits", "this-machine")}
    )
    [f] = [f for f in findings if f.severity != "info"]
    assert (f.code, f.severity) == ("conntrack.full", "critical")
    assert "kernel dropped packets (3 line(s))" in f.title
    assert f.evidence["table"] == {"count": 0, "max": 262144}


def test_readonly_device_seen_live_and_in_the_log_is_one_finding() -> None:
    kernel = copy.deepcopy(golden("kernel", "ext4-remount-ro"))
    kernel["signals"]["fs_readonly"]["subjects"] = ["loop0"]
    findings = run({"kernel": kernel, "limits": golden("limits", "ext4-remounted-ro")})
    [f] = [f for f in findings if f.severity != "info"]
    assert f.code == "fs.readonly" and "after a kernel error" in f.title
    assert "fsck -f /dev/loop0" in f.suggestion


def test_readonly_in_the_log_on_another_device_is_its_own_finding() -> None:
    findings = run(
        {
            "kernel": golden("kernel", "ext4-remount-ro"),
            "limits": golden("limits", "ext4-remounted-ro"),
        }
    )
    titles = sorted(f.title for f in findings if f.code == "fs.readonly")
    assert len(titles) == 2
    assert any("sdc1" in t for t in titles) and any("/dev/loop0" in t for t in titles)


def test_full_queue_and_overflows_are_one_finding_naming_the_port() -> None:
    findings = run(
        {
            "limits": golden("limits", "listen-overflows"),
            "sockets": golden("sockets", "accept-queue-full"),
        }
    )
    [f] = [f for f in findings if f.code == "tcp.listen_queue_full"]
    assert "0.0.0.0:8080 (python3) 2/1" in f.title
    assert "dropped at full accept queues" in f.title
    assert "ss -lnt 'sport = :8080'" in f.suggestion


def test_syn_flood_in_the_log_is_quoted_by_the_live_rule() -> None:
    findings = run(
        {"kernel": golden("kernel", "syn-flood"), "limits": golden("limits", "this-machine")}
    )
    [f] = [f for f in findings if f.severity != "info"]
    assert f.code == "tcp.listen_queue_full" and "0.0.0.0:8080" in f.title


# --- thresholds ------------------------------------------------------------------------------


def test_fd_threshold_is_a_setting() -> None:
    facts = copy.deepcopy(golden("limits", "this-machine"))
    proc = {"pid": 4242, "command": "nginx", "open": 950, "limit": 1024, "pct": 92.8}
    facts["fds"]["processes"].append(proc)
    assert serious(run({"limits": facts})) == [("fd.exhausted", "warning")]
    assert serious(run({"limits": facts}, Thresholds(fd_warning_pct=95.0))) == []
    [f] = [f for f in run({"limits": facts}) if f.code == "fd.exhausted"]
    assert "prlimit --pid 4242" in f.suggestion and "nginx (pid 4242)" in f.title


def test_host_file_handles_near_file_max() -> None:
    facts = copy.deepcopy(golden("limits", "this-machine"))
    facts["file_nr"] = {"allocated": 61000, "max": 65536}
    [f] = run({"limits": facts})
    assert (f.code, f.severity) == ("fd.exhausted", "warning")
    assert "61000 of fs.file-max 65536" in f.title


def test_conntrack_threshold_is_a_setting() -> None:
    facts = golden("limits", "conntrack-near-max")  # 259712 of 262144: 99.1 %
    assert serious(run({"limits": facts}, Thresholds(conntrack_critical_pct=99.5))) == [
        ("conntrack.full", "warning")
    ]


def test_crash_loop_severity_follows_the_restart_count() -> None:
    facts = golden("services", "failed-and-restarting")
    assert serious(run({"services": facts})) == [
        ("service.crash_loop", "warning"),
        ("service.failed", "critical"),
    ]
    assert serious(run({"services": facts}, Thresholds(service_restarts_critical=2))) == [
        ("service.crash_loop", "critical"),
        ("service.failed", "critical"),
    ]
    [failed] = [f for f in run({"services": facts}) if f.code == "service.failed"]
    assert failed.evidence["restarts"] == 5


def test_slow_start_with_many_restarts_is_a_crash_loop() -> None:
    facts = copy.deepcopy(golden("services", "slow-start"))
    facts["restarting"][0]["restarts"] = 9
    assert serious(run({"services": facts})) == [("service.crash_loop", "critical")]


# --- clock.skew ------------------------------------------------------------------------------


def clocked(case: str, sent_offset: float, round_trip: float = 0.05) -> Facts:
    """The golden facts as the runner leaves them: the bot's clock around the call. The host
    read its clock `slept_s` after the command was sent: `sent_offset` is counted from then."""
    facts = copy.deepcopy(golden("clock", case))
    sent = facts["host_time"] - sent_offset - facts["slept_s"]
    received = sent + facts["slept_s"] + round_trip
    return {**facts, "bot_clock": {"sent": sent, "received": received}}


SKEW = {
    "inside-the-round-trip": (clocked("ntp-synchronised", 0.02), 0.0, []),
    "slow-round-trip-is-not-skew": (clocked("ntp-synchronised", 1.5, 3.0), 0.0, []),
    "host-ahead": (clocked("ntp-synchronised", 5.0), 4.95, [("clock.skew", "warning")]),
    "host-behind": (clocked("ntp-synchronised", -61.0), -61.0, [("clock.skew", "critical")]),
    "busybox-whole-seconds": (clocked("busybox", -0.5), 0.0, []),
}


@pytest.mark.parametrize("case", list(SKEW), ids=list(SKEW))
def test_skew_beyond_the_round_trip(case: str) -> None:
    facts, skew, want = SKEW[case]
    assert skew_s(facts) == pytest.approx(skew, abs=1e-3)
    assert serious(run({"clock": facts})) == want


def test_skew_and_unsynchronised_ntp_say_both() -> None:
    [f] = run({"clock": clocked("ntp-unsynchronised", 5.0)})
    assert f.code == "clock.skew" and "ahead of the bot's; NTP not synchronised" in f.title
    assert "chronyc" in f.suggestion


def test_unknown_ntp_and_no_bot_clock_say_nothing() -> None:
    assert run({"clock": golden("clock", "no-systemd")}) == []


# --- the fixed scripts themselves ------------------------------------------------------------


def test_services_script_shows_only_the_listed_units(tmp_path: Path) -> None:
    """The real script under dash, with a systemctl that prints real-format output and records
    what it was asked: `show` gets the failed and activating units, nothing else."""
    log = tmp_path / "calls"
    listing = (OUTPUTS / "services" / "failed-and-restarting.txt").read_text()
    units = listing.split("@@tb show\n")[0].split("\n", 1)[1]
    shown = listing.split("@@tb show\n")[1]
    (tmp_path / "systemctl").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        f'case "$1" in list-units) printf %s "$LISTING";; show) printf %s "$SHOWN";; esac\n'
    )
    (tmp_path / "systemctl").chmod(0o755)
    # This machine runs no systemd: the script's sd_booted test looks at a directory here.
    argv = list(services.SERVICES.command)
    assert argv[2].count("/run/systemd/system") == 1
    argv[2] = argv[2].replace("/run/systemd/system", str(tmp_path))
    out = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", "LISTING": units, "SHOWN": shown},
        timeout=10,
        check=True,
    )
    calls = log.read_text().splitlines()
    assert calls[1] == (
        "show -p Id,ActiveState,SubState,NRestarts,Result --no-pager -- "
        "nginx.service orders-worker.service"
    )
    from ssh_probes.model import CommandResult

    facts = services.parse(CommandResult(out.stdout, "", 0, 0.1))
    assert facts == golden("services", "failed-and-restarting")


def test_limits_parse_refuses_a_cut_output() -> None:
    from ssh_probes.model import CommandResult

    text = (OUTPUTS / "limits" / "this-machine.txt").read_text()
    with pytest.raises(ValueError):
        limits.parse(CommandResult(text.split("@@tb unreadable")[0], "", 0, 0.1))


def test_clock_read_without_the_wait_claims_no_wait() -> None:
    """An old busybox `sleep` refuses a fraction: no `slept` line, so no bound from it."""
    from ssh_probes.model import CommandResult

    facts = clock.parse(CommandResult("1795972853.%N\n@@tb timedatectl none\n", "", 0, 0.1))
    assert facts["slept_s"] == 0.0 and facts["precision_s"] == 1.0
    bot = {"sent": 1795972852.9, "received": 1795972853.9}
    assert skew_s({**facts, "bot_clock": bot}) == 0.0


def test_a_reading_at_the_end_of_the_window_narrows_the_interval() -> None:
    """Sent at t, answered at t + 1.3 (the batch's sample window): a host 1.5 s behind read
    its clock after its 1 s wait and says t - 0.5. Counting the wait, the skew is -1.5 s;
    taking [t, t + 1.3] as the interval it would look like -0.5 s."""
    facts = copy.deepcopy(golden("clock", "ntp-synchronised"))  # slept 1 s
    t = facts["host_time"] + 0.5
    bot = {"sent": t, "received": t + 1.3}
    assert skew_s({**facts, "bot_clock": bot}) == pytest.approx(-1.5)
    assert skew_s({**facts, "slept_s": 0.0, "bot_clock": bot}) == pytest.approx(-0.5)


def test_clock_parse_refuses_garbage() -> None:
    from ssh_probes.model import CommandResult

    with pytest.raises(ValueError):
        clock.parse(CommandResult("date: invalid\n", "", 1, 0.1))


# --- "Too many open files" in the logs points to fd.exhausted ---------------------------------


def emfile_logs() -> Facts:
    facts = copy.deepcopy(golden("logs", "journal-and-files"))
    group = facts["groups"][0]
    group.update(
        message="accept4() failed (<n>: Too many open files)",
        example="2026/11/25 11:49:50 [crit] 7#7: accept4() failed (24: Too many open files)",
        source="journal:nginx",
        count=40,
    )
    return facts


def test_emfile_in_logs_with_no_process_at_its_limit_now() -> None:
    findings = run({"limits": golden("limits", "this-machine"), "logs": emfile_logs()})
    [f] = [f for f in findings if f.code == "fd.exhausted"]
    assert f.severity == "warning"
    assert "journal:nginx (40)" in f.title and "no process is at its limit" in f.title


def test_emfile_in_logs_is_evidence_of_the_process_finding() -> None:
    findings = run({"limits": golden("limits", "process-at-fd-limit"), "logs": emfile_logs()})
    [f] = [f for f in findings if f.code == "fd.exhausted"]
    assert f.severity == "critical" and "python3" in f.title
    assert f.evidence["logs"][0]["source"] == "journal:nginx"


def test_summary_lines_of_the_new_probes() -> None:
    from bot.render.summaries import summarize

    def lines(probe: str, facts: Facts) -> list[str]:
        return summarize(ProbeResult(probe, HOST.name, True, facts=facts))

    fd = lines("limits", golden("limits", "process-at-fd-limit"))
    assert "open files: python3[11613] 65 of 64 (101.6%)" in fd
    assert "conntrack: 0 of 262144" in fd
    ro = lines("limits", golden("limits", "ext4-remounted-ro"))
    assert "read-only: /tmp/h15nc/data (/dev/loop0, ext4)" in ro
    assert lines("clock", clocked("ntp-unsynchronised", 5.0)) == [
        "clock +5.0s vs the bot's; NTP NOT synchronised"
    ]
    assert lines("services", golden("services", "crash-loop")) == [
        "orders-worker.service: activating/auto-restart Orders queue worker (27 restarts)"
    ]
    kernel = lines("kernel", golden("kernel", "hung-task"))
    assert kernel[-1].startswith("hung_task: 3 line(s), newest 2026-11-29T17:")
