"""The batch script (ssh_probes.batch) run by the machine's real /bin/sh: every command's
output, status and arguments come back exactly, whatever the commands print or are given."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ssh_probes.batch import NO_DIR_EXIT, batch
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
    plan = batch([["printf", "@@TB0000000000000000 1 o\n@@TBx end\n"], ["echo", "two"]], cap=4096)
    forged = f"\n@@TB{plan.nonce}"  # what the output would need; it cannot know the nonce
    parts = plan.split(run(plan.argv))
    assert parts is not None
    assert parts[0].stdout == "@@TB0000000000000000 1 o\n@@TBx end\n"
    assert parts[1].stdout == "two\n"
    assert batch([["true"]], cap=1).nonce != plan.nonce and forged not in parts[0].stdout


def test_output_over_the_cap_is_cut_and_flagged() -> None:
    plan = batch([["head", "-c", "100000", "/dev/zero"], ["echo", "small"]], cap=4096)
    parts = plan.split(run(plan.argv))
    assert parts is not None
    assert len(parts[0].stdout) == 4096 and parts[0].truncated
    assert parts[1].stdout == "small\n" and not parts[1].truncated


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"
)
def test_no_writable_temporary_directory_says_so() -> None:
    """A full or read-only /tmp and /dev/shm (the incident itself): the caller falls back."""
    plan = batch([["echo", "x"]], cap=4096)
    mounts = 'mount -t tmpfs -o ro tmpfs /tmp && mount -t tmpfs -o ro tmpfs /dev/shm && exec "$@"'
    argv = ("unshare", "-m", "sh", "-c", mounts, "sh", *plan.argv)
    out = run(argv, env={**os.environ, "XDG_RUNTIME_DIR": "/nonexistent"})
    assert out.exit_status == NO_DIR_EXIT, out
    assert plan.split(out) is None


def test_the_temporary_directory_is_removed() -> None:
    plan = batch([["sh", "-c", 'echo "$PPID"']], cap=4096)
    before = set(Path("/dev/shm").glob("tb.*")) if Path("/dev/shm").is_dir() else set()
    parts = plan.split(run(plan.argv, env={**os.environ, "XDG_RUNTIME_DIR": "/dev/shm"}))
    assert parts is not None and parts[0].exit_status == 0
    after = set(Path("/dev/shm").glob("tb.*")) if Path("/dev/shm").is_dir() else set()
    assert after <= before


def test_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError):
        batch([], cap=1)
    with pytest.raises(ValueError):
        batch([[]], cap=1)


def test_what_a_noisy_login_shell_prints_first_is_ignored() -> None:
    """A .bashrc that echoes (a banner, pyenv warnings) prints before the batch starts."""
    plan = batch([["echo", "one"], ["echo", "two"]], cap=4096)
    noisy = ("sh", "-c", 'echo "Welcome to web-1"; echo "==> x <=="; exec "$@"', "sh", *plan.argv)
    parts = plan.split(run(noisy))
    assert parts is not None and [p.stdout for p in parts] == ["one\n", "two\n"]
