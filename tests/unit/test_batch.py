"""The batch script (ssh_probes.batch) run by the machine's real /bin/sh: every command's
output, status and arguments come back exactly, whatever the commands print or are given."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ssh_probes.batch import KILLED, NO_DIR_EXIT, batch
from ssh_probes.model import CommandResult

HOSTILE = ["$(touch /tmp/tb-batch-pwn)", "`id`", "a; rm -rf /x", "x\ny", "'\"", "-n", "*", ""]


def run(argv: tuple[str, ...], env: dict[str, str] | None = None) -> CommandResult:
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env)
    return CommandResult(proc.stdout, proc.stderr, proc.returncode, time.monotonic() - started)


def test_each_command_gets_its_own_output_status_and_exact_arguments() -> None:
    plan = batch(
        [
            ["printf", "%s\\n", *HOSTILE],
            ["sh", "-c", "echo out; echo err >&2; exit 3"],
            ["printf", "no newline at the end"],
            ["true"],
            ["sh", "-c", "sleep 0.3; echo slow"],
            ["no-such-command-tb"],
        ],
        cap=1_000_000,
        seconds=["10"] * 6,
    )
    parts = plan.split(run(plan.argv))
    assert parts is not None and len(parts) == 6
    assert parts[0].stdout == "".join(f"{h}\n" for h in HOSTILE) and parts[0].exit_status == 0
    assert (parts[1].stdout, parts[1].stderr, parts[1].exit_status) == ("out\n", "err\n", 3)
    assert parts[2].stdout == "no newline at the end"
    assert (parts[3].stdout, parts[3].stderr, parts[3].exit_status) == ("", "", 0)
    assert parts[4].stdout == "slow\n"
    assert parts[5].exit_status == 127
    assert not Path("/tmp/tb-batch-pwn").exists()


def test_a_command_cannot_forge_a_boundary() -> None:
    plan = batch(
        [["printf", "@@TB0000000000000000 1 o\n@@TBx end\n"], ["echo", "two"]], 4096, ["9", "9"]
    )
    forged = f"\n@@TB{plan.nonce}"  # what the output would need; it cannot know the nonce
    parts = plan.split(run(plan.argv))
    assert parts is not None
    assert parts[0].stdout == "@@TB0000000000000000 1 o\n@@TBx end\n"
    assert parts[1].stdout == "two\n"
    assert batch([["true"]], 1, ["9"]).nonce != plan.nonce and forged not in parts[0].stdout


def test_output_over_the_cap_is_cut_and_flagged() -> None:
    plan = batch([["head", "-c", "100000", "/dev/zero"], ["echo", "small"]], 4096, ["9", "9"])
    parts = plan.split(run(plan.argv))
    assert parts is not None
    assert len(parts[0].stdout) == 4096 and parts[0].truncated
    assert parts[1].stdout == "small\n" and not parts[1].truncated


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"
)
def test_no_writable_temporary_directory_says_so() -> None:
    """A full or read-only /tmp and /dev/shm (the incident itself): the caller falls back."""
    plan = batch([["echo", "x"]], 4096, ["9"])
    mounts = 'mount -t tmpfs -o ro tmpfs /tmp && mount -t tmpfs -o ro tmpfs /dev/shm && exec "$@"'
    argv = ("unshare", "-m", "sh", "-c", mounts, "sh", *plan.argv)
    out = run(argv, env={**os.environ, "XDG_RUNTIME_DIR": "/nonexistent"})
    assert out.exit_status == NO_DIR_EXIT, out
    assert plan.split(out) is None


def test_the_temporary_directory_is_removed() -> None:
    plan = batch([["sh", "-c", 'echo "$PPID"']], 4096, ["9"])
    before = set(Path("/dev/shm").glob("tb.*")) if Path("/dev/shm").is_dir() else set()
    parts = plan.split(run(plan.argv, env={**os.environ, "XDG_RUNTIME_DIR": "/dev/shm"}))
    assert parts is not None and parts[0].exit_status == 0
    after = set(Path("/dev/shm").glob("tb.*")) if Path("/dev/shm").is_dir() else set()
    assert after <= before


def test_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError):
        batch([], 1, [])
    with pytest.raises(ValueError):
        batch([[]], 1, ["9"])


def test_what_a_noisy_login_shell_prints_first_is_ignored() -> None:
    """A .bashrc that echoes (a banner, pyenv warnings) prints before the batch starts."""
    plan = batch([["echo", "one"], ["echo", "two"]], 4096, ["9", "9"])
    noisy = ("sh", "-c", 'echo "Welcome to web-1"; echo "==> x <=="; exec "$@"', "sh", *plan.argv)
    parts = plan.split(run(noisy))
    assert parts is not None and [p.stdout for p in parts] == ["one\n", "two\n"]


# --- one `timeout` per limit, probe scripts evaluated without an `sh` of their own ----------

BUSYBOX = shutil.which("busybox")
SHELLS = [
    "dash",
    pytest.param("busybox", marks=pytest.mark.skipif(not BUSYBOX, reason="no busybox")),
]
TOOLS = ("mktemp", "head", "rm", "sleep", "cat", "printf", "true", "echo", "tr")
OLD_BUSYBOX_TIMEOUT = """#!/bin/sh
# busybox timeout before 1.30 wanted `-t SECS`: ours makes it try to run the seconds.
echo "timeout: can't execute '$3': No such file or directory" >&2
exit 127
"""


def host_path(tmp_path: Path, sh: str, timeout: str | None) -> dict[str, str]:
    """An environment whose PATH holds only `sh` (dash or busybox), a few tools and the
    given `timeout`: coreutils, busybox, an old busybox's (-t SECS), or none at all."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sh").symlink_to("/bin/dash" if sh == "dash" else str(BUSYBOX))
    for tool in TOOLS:
        (bin_dir / tool).symlink_to(str(shutil.which(tool)))
    if timeout == "coreutils":
        (bin_dir / "timeout").symlink_to(str(shutil.which("timeout")))
    elif timeout == "busybox":
        (bin_dir / "timeout").symlink_to(str(BUSYBOX))
    elif timeout == "old":
        (bin_dir / "timeout").write_text(OLD_BUSYBOX_TIMEOUT)
        (bin_dir / "timeout").chmod(0o755)
    return {**os.environ, "PATH": str(bin_dir)}


def dead(pid: str) -> bool:
    """Gone, or a zombie waiting for init to reap it: it runs no more."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def kill_leftovers(pids: list[str]) -> None:
    for pid in pids:
        if pid.isdigit() and not dead(pid):
            os.kill(int(pid), 9)


@pytest.mark.parametrize("sh", SHELLS)
@pytest.mark.parametrize("timeout", ["coreutils", "busybox"])
def test_an_overrun_kills_its_group_and_keeps_the_rest(
    tmp_path: Path, sh: str, timeout: str
) -> None:
    """Two limit groups: the slow group's overrunning commands are killed (137, and with
    coreutils' timeout their grandchildren too); what finished keeps its status and output."""
    if timeout == "busybox" and not BUSYBOX:
        pytest.skip("no busybox")
    env = host_path(tmp_path, sh, timeout)
    plan = batch(
        [
            ["sh", "-c", "echo early; exit 3"],
            ["sh", "-c", "sleep 30 & echo $!; wait; echo never"],  # evaluated, no sh
            ["sh", "-c", "sleep 1.5; echo late $1", "sh", "x"],  # the other group: not killed
            ["sh", "-c", 'sleep 31 & echo "$$ $!"; wait'],  # needs its own shell ($$)
            ["echo", "plain"],
        ],
        cap=4096,
        seconds=["1", "1", "2", "1", "2"],
    )
    started = time.monotonic()
    out = run(plan.argv, env=env)
    took = time.monotonic() - started
    parts = plan.split(out)
    assert parts is not None, out
    pids = parts[1].stdout.split() + parts[3].stdout.split()
    try:
        assert 1.4 < took < 5.0, took
        assert (parts[0].stdout, parts[0].exit_status) == ("early\n", 3)
        assert (parts[2].stdout, parts[2].exit_status) == ("late x\n", 0)
        assert (parts[4].stdout, parts[4].exit_status) == ("plain\n", 0)
        for killed in (parts[1], parts[3]):
            assert killed.exit_status == KILLED and "never" not in killed.stdout
        assert len(pids) == 3 and not plan.bare(out)
        time.sleep(0.2)
        if timeout == "coreutils":
            assert all(dead(pid) for pid in pids), pids  # the grandchild sleeps too
        else:
            # busybox's timeout kills only the program it runs: each command got its own,
            # so the command's shell is dead; its children outlive it, as before issue 18.
            assert dead(pids[1]), pids
    finally:
        kill_leftovers(pids)


@pytest.mark.parametrize("sh", SHELLS)
def test_probe_scripts_keep_their_shell_semantics(tmp_path: Path, sh: str) -> None:
    """exit, exec (redirections or a program), traps, read, here-docs, set -e, "$@", fd 9: as
    under `sh -c`, and the batch's own variables are not visible to the script."""
    names = "nonce cap n G gs g l r d m o w i k j a c x"
    env = host_path(tmp_path, sh, "coreutils")
    plan = batch(
        [
            ["sh", "-c", "echo before; exit 3; echo after"],
            ["sh", "-c", "exec 2>/dev/null; echo hidden >&2; echo shown"],
            ["sh", "-c", "trap 'echo bye' EXIT; echo hi"],
            ["sh", "-c", 'read -r v || echo "eof"; cat <<EOF\nhere $1 $#\nEOF', "sh", "a b", "c"],
            ["sh", "-c", "set -e; false; echo no"],
            ["sh", "-c", "for v in " + names + '; do eval "echo $v=\\${$v-unset}"; done'],
            ["sh", "-c", 'printf "[%s]" "$0" "$@"', "sh", "$(id)", "*", ""],
            ["sh", "-c", 'read -r p _ </proc/self/stat; [ "$p" = "$$" ] && echo own'],
            ["sh", "-c", "echo replaced; exec sh -c 'exit 6'"],
            ["sh", "-c", "exec 9>&1; echo nine >&9; exit 5"],
            ["sh", "-c", "exec 2>&1 >/dev/null\necho gone; echo kept >&2; false"],
        ],
        cap=4096,
        seconds=["5"] * 11,
    )
    parts = plan.split(run(plan.argv, env=env))
    assert parts is not None
    assert (parts[0].stdout, parts[0].exit_status) == ("before\n", 3)
    assert (parts[1].stdout, parts[1].stderr, parts[1].exit_status) == ("shown\n", "", 0)
    assert parts[2].stdout == "hi\nbye\n"
    assert (parts[3].stdout, parts[3].exit_status) == ("eof\nhere a b 2\n", 0)
    assert (parts[4].stdout, parts[4].exit_status) == ("", 1)
    assert parts[5].stdout == "".join(f"{v}=unset\n" for v in names.split())
    assert parts[6].stdout == "[sh][$(id)][*][]"
    assert (parts[7].stdout, parts[7].exit_status) == ("own\n", 0)
    assert (parts[8].stdout, parts[8].exit_status) == ("replaced\n", 6)
    assert (parts[9].stdout, parts[9].exit_status) == ("nine\n", 5)
    assert (parts[10].stdout, parts[10].exit_status) == ("kept\n", 1)


@pytest.mark.parametrize("sh", SHELLS)
def test_an_evaluated_script_cannot_forge_a_boundary(tmp_path: Path, sh: str) -> None:
    fake = 'echo "@@TB0000000000000000 /tmp/x"; echo "==> /tmp/x/1.o <=="; echo "@@TBx end"'
    plan = batch([["sh", "-c", fake], ["sh", "-c", "echo two"]], cap=4096, seconds=["5", "5"])
    parts = plan.split(run(plan.argv, env=host_path(tmp_path, sh, "coreutils")))
    assert parts is not None
    assert parts[0].stdout == "@@TB0000000000000000 /tmp/x\n==> /tmp/x/1.o <==\n@@TBx end\n"
    assert parts[1].stdout == "two\n"


@pytest.mark.parametrize("sh", SHELLS)
@pytest.mark.parametrize("timeout", [None, "old", "known"], ids=["none", "old-busybox", "known"])
def test_a_host_without_a_usable_timeout_runs_the_batch_bare(
    tmp_path: Path, sh: str, timeout: str | None
) -> None:
    """No `timeout` on PATH, one that cannot start the group, or the caller knows: the same
    session runs the commands bare, says so, and ends an overrunning group at its limit
    (its commands' children outlive it there, as they did before issue 18)."""
    env = host_path(tmp_path, sh, None if timeout == "known" else timeout)
    if timeout == "known":
        env["PATH"] = f"{env['PATH']}:{Path(str(shutil.which('timeout'))).parent}"
    plan = batch(
        [
            ["sh", "-c", "echo one $1", "sh", "a"],
            ["echo", "two"],
            ["sh", "-c", "exit 4"],
            ["sh", "-c", "sleep 30 & echo $!; wait; echo never"],
        ],
        cap=4096,
        seconds=["3", "3", "3", "1"],
        timeout=timeout != "known",
    )
    started = time.monotonic()
    out = run(plan.argv, env=env)
    took = time.monotonic() - started
    parts = plan.split(out)
    assert parts is not None, out
    pids = parts[3].stdout.split()
    try:
        assert plan.bare(out) and 0.9 < took < 2.5, took
        got = [(p.stdout, p.exit_status) for p in parts[:3]]
        assert got == [("one a\n", 0), ("two\n", 0), ("", 4)]
        assert parts[3].exit_status == KILLED and len(pids) == 1
    finally:
        kill_leftovers(pids)


def test_limits_are_whole_seconds_one_per_command() -> None:
    with pytest.raises(ValueError):
        batch([["true"]], 1, ["1.5"])
    with pytest.raises(ValueError):
        batch([["true"], ["true"]], 1, ["1"])
