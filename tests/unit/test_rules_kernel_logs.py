"""kernel (mem.oom_kill), services (service.failed) and logs (log.errors): parsing helpers,
grouping and normalisation, thresholds and the timeouts-only hint."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ssh_probes.model import CommandResult, Facts, Finding, HostTarget, ProbeResult
from ssh_probes.probes import kernel, logtext, services
from ssh_probes.rules import Thresholds, evaluate
from tests.fixtures.capture import OUTPUTS

HOST = HostTarget(name="web-1", address="198.18.0.2")


def golden(probe: str, case: str) -> Facts:
    facts: Facts = json.loads((OUTPUTS / probe / f"{case}.json").read_text())["facts"]
    return facts


def run(probe: str, facts: Facts, t: Thresholds | None = None) -> list[Finding]:
    return evaluate([ProbeResult(probe, HOST.name, True, facts=facts)], HOST, t)


def serious(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.code, f.severity) for f in findings if f.severity != "info")


# --- normalisation and grouping -------------------------------------------------------------

NORMALISE = {
    "numbers-and-ip-port": (
        "could not connect to database at 127.0.0.1:39271 (attempt 3): [Errno 111] refused",
        "could not connect to database at <ip> (attempt <n>): [Errno <n>] refused",
    ),
    "uuid": ("order 8b53b782-e44b-411e-b862-b6a4cb68a65c failed", "order <uuid> failed"),
    "hex-ids": ("span 4bf92f3577b34da6 at 0x7ffd1c2a", "span <hex> at <hex>"),
    "quoted": ("""KeyError: 'user-42' and "x y\"""", "KeyError: '<v>' and '<v>'"),
    "iso-timestamp-inside": ("retry at 2026-11-25T11:49:50.502Z", "retry at <ts>"),
    "ipv6": ("peer [2001:db8::1]:443 reset", "peer <ip> reset"),
    "words-kept": ("TypeError: fetch failed", "TypeError: fetch failed"),
}


@pytest.mark.parametrize("case", list(NORMALISE), ids=list(NORMALISE))
def test_normalise(case: str) -> None:
    raw, want = NORMALISE[case]
    assert logtext.normalise(raw) == want


STAMPS = {
    "python-logging": ("2026-11-25 11:49:50,247 ERROR x", ("2026-11-25T11:49:50.247", "ERROR x")),
    "iso-zone": ("2026-11-25T11:49:50+02:00 boom", ("2026-11-25T11:49:50+02:00", "boom")),
    "nginx": ("2026/11/25 11:49:50 [error] 7#7: x", ("2026-11-25T11:49:50", "[error] 7#7: x")),
    "syslog": ("Nov 25 11:49:50 host app: x", ("Nov 25 11:49:50", "host app: x")),
    "none": ("ERROR no time", (None, "ERROR no time")),
}


@pytest.mark.parametrize("case", list(STAMPS), ids=list(STAMPS))
def test_split_stamp(case: str) -> None:
    line, want = STAMPS[case]
    assert logtext.split_stamp(line) == want


ERRORS = {
    "python-level": ("2026-11-25 11:49:50,247 ERROR orders: x", True),
    "logfmt": ('time=1 level=error msg="db down"', True),
    "nginx": ("2026/11/25 11:49:50 [error] 7#7: upstream timed out", True),
    "go-panic": ("panic: runtime error: index out of range", True),
    "java-exception": ("java.lang.IllegalStateException: pool closed", True),
    "node-error": ("TypeError: fetch failed", True),
    "info": ("2026-11-25 11:49:50,246 INFO orders: 0 errors so far", False),
    "warning": ("WARNING disk at 85%", False),
}


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_error_selection(case: str) -> None:
    line, want = ERRORS[case]
    assert logtext.is_error(line) is want


TRACES = {
    "python": ('ERROR x\nTraceback (most recent call last):\n  File "a.py", line 1', True),
    "java-frame": ("ERROR x\n\tat com.acme.Pool.get(Pool.java:42)", True),
    "java-thread": ('Exception in thread "main" java.lang.RuntimeException: x', True),
    "go": ("panic: x\n\ngoroutine 1 [running]:\nmain.main()", True),
    # Node prints frames with every network error; they are not a code defect's trace.
    "node-frames": ("TypeError: fetch failed\n    at node:internal/deps/undici:1:1", False),
    "plain": ("ERROR GET /x failed: timed out", False),
}


@pytest.mark.parametrize("case", list(TRACES), ids=list(TRACES))
def test_stack_trace_detection(case: str) -> None:
    text, want = TRACES[case]
    assert logtext.has_stack(text) is want


TIMEOUTS = {
    "etimedout": ("AggregateError [ETIMEDOUT]", True),
    "python": ("GET http://x failed: timed out", True),
    "curl": ("curl: (28) Operation timed out after 300 milliseconds", True),
    "grpc": ("rpc error: code = DeadlineExceeded desc = context deadline exceeded", True),
    "reset": ("read ECONNRESET", True),
    "refused": ("[Errno 111] Connection refused", False),
}


@pytest.mark.parametrize("case", list(TIMEOUTS), ids=list(TIMEOUTS))
def test_timeout_detection(case: str) -> None:
    text, want = TIMEOUTS[case]
    assert logtext.is_timeout(text) is want


def test_logging_exception_is_one_entry_with_its_traceback() -> None:
    txt = (OUTPUTS / "logs" / "file-errors-and-traceback.txt").read_text()
    body = [x for x in txt.splitlines() if x and not x.startswith("@@tb")]
    entries = logtext.entries([(None, x) for x in body])
    lines = [[x for _, x in e] for e in entries]
    traced = [e for e in lines if len(e) > 1]
    assert len(traced) == 1
    assert traced[0][0].endswith("failed") and traced[0][-1].startswith("KeyError: ")
    # 16 lines: 2 INFO, 7 refused, 1 URL, 1 order+traceback (6 lines) -> 11 entries
    assert len(lines) == 11


def test_journal_stderr_traceback_lines_are_joined_back() -> None:
    facts = golden("logs", "journal-and-files")
    nightly = [g for g in facts["groups"] if g["source"] == "journal:nightly-report"]
    assert len(nightly) == 1 and nightly[0]["count"] == 1
    assert nightly[0]["example"].startswith("json.decoder.JSONDecodeError")
    assert nightly[0]["stack_trace"] is True


def test_secrets_in_log_lines_are_redacted_in_facts() -> None:
    for case in ("journal-and-files", "file-errors-and-traceback"):
        dumped = json.dumps(golden("logs", case))
        assert "s3cret-pw" not in dumped
        assert "[REDACTED]" in dumped


def test_groups_are_capped_and_counted() -> None:
    groups = logtext.Groups()
    for i in range(30):
        for _ in range(i + 1):
            groups.add(
                "/var/log/app.log", None, f"ERROR kind-{chr(65 + i // 26)}{chr(65 + i % 26)} x", ""
            )
    top = groups.top(20)
    assert len(top) == 20 and len(groups.groups) == 30
    assert top[0]["count"] == 30 and top[-1]["count"] == 11
    assert groups.errors == sum(range(1, 31))


# --- log.errors ----------------------------------------------------------------------------


def group(count: int, *, timeout: bool = False, source: str = "/var/log/app.log") -> dict[str, Any]:
    return {
        "message": "ERROR GET http://<ip>/x failed: timed out",
        "example": "ERROR GET http://10.0.0.5:8000/x failed: timed out",
        "source": source,
        "count": count,
        "first_seen": "2026-11-25T11:49:50.502",
        "last_seen": "2026-11-25T11:49:51.508",
        "timeout": timeout,
        "stack_trace": False,
    }


def log_facts(*counts: int, only_timeouts: bool = False) -> Facts:
    return {
        "window_min": 15,
        "tail_lines": 1000,
        "journal": {"available": True, "entries": 0},
        "files": [{"path": "/var/log/app.log", "status": "read", "lines": 99, "errors": 9}],
        "errors_total": sum(counts),
        "groups_total": len(counts),
        "groups": [group(c, timeout=only_timeouts) for c in counts],
        "stack_traces": 0,
        "first_trace": None,
        "only_timeouts": only_timeouts,
    }


THRESHOLDS = {
    "below": ((4, 3, 1), Thresholds(), None),
    "at-warning": ((5,), Thresholds(), "warning"),
    "just-below-10x": ((49, 2), Thresholds(), "warning"),
    "at-10x": ((50,), Thresholds(), "critical"),
    "custom-threshold-below": ((5,), Thresholds(log_repeat_warning=6), None),
    "custom-threshold-10x": ((60,), Thresholds(log_repeat_warning=6), "critical"),
}


@pytest.mark.parametrize("case", list(THRESHOLDS), ids=list(THRESHOLDS))
def test_log_error_thresholds(case: str) -> None:
    counts, t, want = THRESHOLDS[case]
    found = [f for f in run("logs", log_facts(*counts), t) if f.code == "log.errors"]
    assert [f.severity for f in found] == ([want] if want else [])
    if want:
        assert found[0].evidence["groups"][0]["count"] == max(counts)
        assert "/var/log/app.log" in found[0].title


def test_timeouts_only_on_real_output_suggests_network_dependency_pool() -> None:
    facts = golden("logs", "timeouts-only")
    [f] = [f for f in run("logs", facts) if f.code == "log.errors"]
    assert f.severity == "warning"
    assert f.evidence["only_timeouts"] is True
    assert f.evidence["groups"][0]["count"] == 6
    for words in ("network", "dependency", "pool", "correlation id", "DB, external API"):
        assert words in f.suggestion
    assert "/tmp/tbcap/gateway.log" in f.suggestion
    assert "stack trace" not in f.suggestion.replace("no stack trace", "")


def test_errors_with_a_traceback_point_at_the_first_stack_trace() -> None:
    facts = golden("logs", "file-errors-and-traceback")
    [f] = [f for f in run("logs", facts) if f.code == "log.errors"]
    assert f.evidence["only_timeouts"] is False
    assert "Read the first stack trace" in f.suggestion
    assert "KeyError" in f.suggestion
    assert "pool" not in f.suggestion


def test_missing_and_unreadable_files_and_no_journal_are_info_only() -> None:
    facts = golden("logs", "file-errors-and-traceback")
    infos = sorted(f.title for f in run("logs", facts) if f.code == "source.unavailable")
    assert infos == [
        "logs: /tmp/tbcap/absent.log: missing",
        "logs: /tmp/tbcap: unreadable",
        "logs: journal: no journal entries readable (no journal, or no access)",
    ]
    assert all(f.severity == "info" for f in run("logs", facts) if f.code != "log.errors")


def test_no_journal_and_no_files_is_one_info_finding() -> None:
    findings = run("logs", golden("logs", "no-journal-no-files"))
    assert [(f.code, f.severity) for f in findings] == [("source.unavailable", "info")]


def test_journal_groups_name_the_journal_source_command() -> None:
    facts = golden("logs", "journal-and-files")
    [f] = [f for f in run("logs", facts) if f.code == "log.errors"]
    assert f.evidence["groups"][0]["source"] == "/tmp/tbcap/orders.log"
    assert {g["source"] for g in f.evidence["groups"]} >= {"journal:orders", "journal:gateway"}
    assert "journalctl -t orders -p err --since '-15min' --no-pager" in f.suggestion


# --- mem.oom_kill ---------------------------------------------------------------------------


def oom_facts(age_s: int | None, **event: Any) -> Facts:
    facts = copy.deepcopy(golden("kernel", "dmesg-oom-uwsgi-public"))
    facts["events"][0].update({"age_s": age_s, **event})
    return facts


OOM = {
    "recent": (oom_facts(300), "critical"),
    "edge-of-recent": (oom_facts(3600), "critical"),
    "older": (oom_facts(3601), "warning"),
    "unknown-age": (oom_facts(None), "warning"),
}


@pytest.mark.parametrize("case", list(OOM), ids=list(OOM))
def test_oom_kill_severity_by_age(case: str) -> None:
    facts, want = OOM[case]
    [f] = run("kernel", facts)
    assert (f.code, f.severity) == ("mem.oom_kill", want)
    assert "uwsgi" in f.title and "63214" in f.title
    assert "ps -o pid,rss,vsz,cmd -C uwsgi" in f.suggestion


def test_oom_in_a_container_names_the_container_and_its_limit() -> None:
    cid = "00748bf4e957f82c239a1db8a88579059b7d40c7b5fbd3f43617d31d3f646f12"
    facts = oom_facts(
        60, cgroup=f"/system.slice/docker-{cid}.scope", container=cid[:12], process="java"
    )
    [f] = run("kernel", facts)
    assert f.severity == "critical"
    assert f"docker update --memory NEW --memory-swap NEW {cid[:12]}" in f.suggestion
    assert "1g" not in f.suggestion  # no made-up size: the advice reads the real limit first
    assert f"{{{{.HostConfig.Memory}}}}' {cid[:12]}" in f.suggestion


def test_no_oom_and_unreadable_kernel_log() -> None:
    assert run("kernel", golden("kernel", "this-machine-dmesg")) == []
    assert run("kernel", golden("kernel", "journal-no-oom")) == []
    findings = run("kernel", golden("kernel", "no-permission"))
    assert [(f.code, f.severity) for f in findings] == [("source.unavailable", "info")]
    assert "dmesg_restrict" in findings[0].suggestion


KILLED = {
    "modern": (
        "Out of memory: Killed process 15784 (python3) total-vm:11964kB, anon-rss:4288kB, "
        "file-rss:3028kB, shmem-rss:0kB",
        ("python3", 15784, "system", 4288),
    ),
    "old-with-uid": (
        "Killed process 42452 (memcg_test_1), UID 0, total-vm:7296kB, anon-rss:96kB, "
        "file-rss:164kB, shmem-rss:0kB",
        ("memcg_test_1", 42452, "system", 96),
    ),
    "name-with-parens": (
        "Out of memory: Killed process 15925 ((resolved)) total-vm:168424kB, anon-rss:4064kB, "
        "file-rss:3584kB, shmem-rss:0kB",
        ("(resolved)", 15925, "system", 4064),
    ),
}


@pytest.mark.parametrize("case", list(KILLED), ids=list(KILLED))
def test_killed_process_line_variants(case: str) -> None:
    # Kill lines as printed by real kernels (docker/for-linux#1001, linux-test-project/ltp#1080).
    msg, (name, pid, scope, anon) = KILLED[case]
    [event] = kernel._events([(None, msg)], None)
    assert (event["process"], event["pid"], event["scope"], event["anon_rss_kb"]) == (
        name,
        pid,
        scope,
        anon,
    )


def test_oom_kill_constraint_line_gives_the_container() -> None:
    # The constraint line from dyrnq/install-docker#14 (real dmesg), then its kill line.
    constraint = (
        "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=aegis,mems_allowed=0,"
        "global_oom,task_memcg=/system.slice/docker-00748bf4e957f82c239a1db8a88579059b7d40c7b5f"
        "bd3f43617d31d3f646f12.scope,task=java,pid=7134,uid=1000"
    )
    killed = "Out of memory: Killed process 7134 (java) total-vm:1kB, anon-rss:1kB"
    [event] = kernel._events([(100.0, constraint), (100.0, killed)], 160.0)
    assert event["container"] == "00748bf4e957"
    assert event["constraint"] == "CONSTRAINT_NONE"
    assert event["age_s"] == 60


# --- service.failed -------------------------------------------------------------------------


def test_failed_unit_is_critical_with_its_commands() -> None:
    # The unit line as systemctl printed it in systemd/systemd#3335, after the script's marker.
    out = CommandResult(
        "@@tb exit 0\napache2.service loaded failed failed The Apache Webserver\n", "", 0, 0.01
    )
    facts = services.parse(out)
    assert facts["failed"][0]["unit"] == "apache2.service"
    [f] = run("services", facts)
    assert (f.code, f.severity) == ("service.failed", "critical")
    for cmd in (
        "systemctl status apache2.service",
        "journalctl -u apache2.service -n 200 --no-pager",
        "systemctl restart apache2.service",
    ):
        assert cmd in f.suggestion


@pytest.mark.parametrize("case", ["no-systemd", "no-systemctl"])
def test_no_systemd_is_info_not_failure(case: str) -> None:
    findings = run("services", golden("services", case))
    assert [(f.code, f.severity) for f in findings] == [("source.unavailable", "info")]


def test_unknown_systemctl_error_is_a_failed_probe() -> None:
    with pytest.raises(ValueError):
        services.parse(
            CommandResult("@@tb exit 1\nFailed to list units: Access denied\n", "", 0, 0)
        )
