"""Probes made cheaper for the host (issue 18) give the facts they gave before."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

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


def test_docker_without_any_socket_gives_the_no_daemon_facts_but_its_own_error() -> None:
    ran, skipped = facts("docker", "no-daemon"), facts("docker", "no-socket")
    assert facts("docker", "lab-no-socket") == skipped
    assert {k: v for k, v in skipped.items() if k != "error"} == {
        k: v for k, v in ran.items() if k != "error"
    }
    assert "/var/run/docker.sock" in str(skipped["error"]) and "not started" in str(
        skipped["error"]
    )


def _docker_script(tmp_path: Path, **env: str) -> tuple[str, bool]:
    """The docker probe's script with a `docker` that records being started; (stdout, started)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "docker"
    shim.write_text(f"#!/bin/sh\ntouch {tmp_path}/started\necho nope >&2\nexit 1\n")
    shim.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    base = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home)}
    out = subprocess.run(
        list(build("docker").command), env={**base, **env}, capture_output=True, text=True
    )
    return out.stdout, (tmp_path / "started").exists()


NO_SOCKET_HERE = not any(os.path.exists(p) for p in ("/var/run/docker.sock", "/run/docker.sock"))


@pytest.mark.skipif(not NO_SOCKET_HERE, reason="this machine has a Docker socket")
def test_docker_client_is_not_started_only_when_nothing_can_reach_a_daemon(
    tmp_path: Path,
) -> None:
    assert _docker_script(tmp_path) == ("@@no-socket\n", False)
    for env in ({"DOCKER_HOST": "tcp://10.0.0.1:2375"}, {"DOCKER_CONTEXT": "prod"}):
        stdout, started = _docker_script(tmp_path, **env)
        assert started and stdout.startswith("@@daemon-error 1\n"), env
        (tmp_path / "started").unlink()
    (tmp_path / "home" / ".docker").mkdir()
    (tmp_path / "home" / ".docker" / "config.json").write_text('{"currentContext": "lab"}\n')
    assert _docker_script(tmp_path)[1]


@pytest.mark.skipif(not NO_SOCKET_HERE, reason="this machine has a Docker socket")
def test_docker_client_is_started_where_podman_stands_in_for_the_daemon(tmp_path: Path) -> None:
    podman = tmp_path / "bin" / "podman"
    podman.parent.mkdir()
    podman.write_text("#!/bin/sh\nexit 0\n")
    podman.chmod(0o755)
    assert _docker_script(tmp_path)[1]


def test_services_without_systemd_not_asking_systemctl_says_what_it_said() -> None:
    assert facts("services", "no-systemd-not-asked") == facts("services", "no-systemd")
    script = build("services").command[2]
    skip = script.index("[ -d /run/systemd/system ]")
    assert script.index("systemctl: not found") < skip < script.index("systemctl list-units")


def test_logs_without_journal_files_does_not_start_journalctl() -> None:
    asked, not_asked = facts("logs", "no-journal-no-files"), facts("logs", "no-journal-files")
    assert {k: v for k, v in not_asked.items() if k != "why"} == {
        k: v for k, v in asked.items() if k != "why"
    }
    assert "no journal files visible under /run/log/journal" in str(not_asked["why"])
    script = build("logs").command[2]
    assert "/var/log/journal/*/*.journal*" in script
    assert script.index("/var/log/journal/") < script.index("journalctl -q")


def test_logs_starts_journalctl_only_when_a_journal_file_is_there(tmp_path: Path) -> None:
    """The real script under dash, its two journal directories moved under tmp_path."""
    (tmp_path / "bin").mkdir()
    journalctl = tmp_path / "bin" / "journalctl"
    journalctl.write_text(f"#!/bin/sh\ntouch {tmp_path}/started\necho '{{}}'\n")
    journalctl.chmod(0o755)
    argv = list(build("logs").command)
    for d in ("/run/log/journal/*", "/var/log/journal/*"):
        argv[2] = argv[2].replace(d, f"{tmp_path}{d}")

    def run() -> str:
        env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout

    (tmp_path / "var/log/journal/0123abcd").mkdir(parents=True)
    assert run().startswith("@@tb journal-unavailable no journal files visible")
    assert not (tmp_path / "started").exists()
    (tmp_path / "var/log/journal/0123abcd/system.journal").write_text("")
    assert run().startswith("@@tb journal\n")
    assert (tmp_path / "started").exists()


def test_connections_listing_few_time_wait_gives_the_facts_of_counting_them() -> None:
    for where in ("this-machine-tw", "lab-storm"):
        counted, listed = (
            facts("connections", f"{where}-counted"),
            facts("connections", f"{where}-listed"),
        )
        assert listed == counted, where
    assert facts("connections", "lab-storm-listed")["time_wait"]["count"] == 302


def _connections_script(tmp_path: Path, sockstat: str) -> tuple[str, list[str]]:
    """The real script under dash, reading `sockstat` for /proc/net/sockstat, with an `ss`
    that records its arguments and prints one TIME-WAIT line; (stdout, ss calls)."""
    (tmp_path / "sockstat").write_text(sockstat)
    ss = tmp_path / "ss"
    ss.write_text(
        f'#!/bin/sh\necho "$*" >> {tmp_path}/calls\n'
        'echo "TIME-WAIT 0 0 127.0.0.1:40000 127.0.0.1:8081"\n'
    )
    ss.chmod(0o755)
    argv = list(build("connections").command)
    assert argv[2].count("/proc/net/sockstat") == 2
    argv[2] = argv[2].replace("/proc/net/sockstat", str(tmp_path / "sockstat"))
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    calls = (tmp_path / "calls").read_text().splitlines()
    (tmp_path / "calls").unlink()
    return out, calls


def test_connections_asks_ss_once_under_the_kernels_time_wait_threshold(tmp_path: Path) -> None:
    real = Path("/proc/net/sockstat").read_text()  # the kernel's own format, read by dash
    assert " tw " in real.split("TCP:", 1)[1].splitlines()[0]
    line = "TCP: inuse 16 orphan 0 tw {} alloc 20 mem 209\n"
    few = f"sockets: used 43\n{line.format(999)}UDP: inuse 6 mem 0\n"
    out, calls = _connections_script(tmp_path, few)
    assert calls == ["-H -tanp"]
    assert "@@tb tw 999 1000\n@@tb sockets\n" in out
    for many in (f"sockets: used 43\n{line.format(1000)}", "TCP: inuse 1\n", "nonsense"):
        out, calls = _connections_script(tmp_path, many)
        assert calls == ["-H -tanp exclude time-wait", "-H -tn state time-wait"], many
        assert "@@tb time-wait\n" in out


def test_stat_sample_grep_prints_what_the_awk_printed(tmp_path: Path) -> None:
    """Byte for byte, on copies of this machine's files (the counters move between reads)."""
    from ssh_probes.probes.stat import SAMPLE_GREP

    names = ("uptime", "stat", "vmstat")
    for name in names:
        (tmp_path / name).write_bytes(Path(f"/proc/{name}").read_bytes())
    paths = [str(tmp_path / n) for n in names]
    # main's sample before issue 18's grep (one awk, itself replacing cat and two greps)
    awk = (
        f'awk \'FILENAME == "{paths[0]}" || /^(cpu|procs_)/ || '
        '/^(pswpin|pswpout|pgmajfault) /\' "$@"'
    )
    old, new = (
        subprocess.run(["sh", "-c", cmd, "sh", *paths], capture_output=True, check=True).stdout
        for cmd in (awk, f'{SAMPLE_GREP} "$@"')
    )
    assert new == old
    assert new.count(b"\n") >= 7  # uptime, cpu, cpu0, procs_running/blocked, pswp*, pgmajfault
    assert f"{SAMPLE_GREP} /proc/uptime /proc/stat /proc/vmstat" in build("stat").command[2]


def _steady(f: dict[str, object]) -> dict[str, object]:
    """Facts but for what two namespaces cannot share: the window, and each process's RSS."""
    out = {k: v for k, v in f.items() if k not in ("window_s", "top_mem")}
    rows = out["top_cpu"]
    assert isinstance(rows, list)
    out["top_cpu"] = [{k: v for k, v in p.items() if k not in ("rss_kb", "mem_pct")} for p in rows]
    return out


def test_processes_without_asking_ps_p_gives_the_facts_of_asking_it() -> None:
    for flavour in ("procps", "busybox"):
        main, now = (
            facts("processes", f"pidns-{flavour}-main"),
            facts("processes", f"pidns-{flavour}"),
        )
        assert now["format"] == flavour
        assert _steady(now) == _steady(main), flavour
        listed = (OUTPUTS / "processes" / f"pidns-{flavour}.txt").read_text()
        assert listed.startswith("shell ") and f"--- ps {flavour}\n" in listed
        assert " ps -" in listed  # ps's own row: left out as the shell's child
    assert [p["command"] for p in facts("processes", "pidns-procps")["top_cpu"]] == [
        "dash",
        "sleep",
    ]
    assert "ps -p" not in build("processes").command[2]


def test_limits_walks_processes_inside_its_window() -> None:
    """The per-process walk runs while the window's `sleep` does (it no longer delays the
    window, hence the whole batch): the two readings are still at least the window apart,
    the walk's lines still come between them, and the facts parse as before."""
    script = build("limits").command[2]
    assert script.index('sleep "$w" &') < script.index("for p in /proc/[0-9]*")
    assert script.index('echo "@@tb unreadable $u"') < script.index('wait "$sl"')
    # A walk slower than the window (each process naps): the second reading waits for both.
    slow = script.replace("c=; read -r c < $p/comm", "c=; read -r c < $p/comm; sleep 0.02")
    out = subprocess.run(
        ["sh", "-c", slow, "sh", "0.3", "1", "ext4"], capture_output=True, text=True, timeout=30
    ).stdout
    ups = [float(line.split()[2]) for line in out.splitlines() if line.startswith("@@tb uptime")]
    assert len(ups) == 2 and ups[1] - ups[0] >= 0.29
    assert out.index("@@tb fds") < out.index("@@tb unreadable") < out.rindex("@@tb uptime")
    found = build("limits").parse(CommandResult(out, "", 0, 0.0))
    assert found["listen"]["window_s"] >= 0.29
    assert found["fds"]["counted"] >= 1  # this test's own processes hold descriptors
