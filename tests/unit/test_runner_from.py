"""The runner pieces `--from` commands use: stdin for a probe, an unreachable host as data.

Real subprocesses through LocalExecutor (no shell), and the real `run_probe`.
"""

from __future__ import annotations

import time

from commands.dns.remote import probes
from ssh_probes.errors import ConnectRefused
from ssh_probes.local import LocalExecutor
from ssh_probes.model import CommandResult, Facts, HostTarget, Probe
from ssh_probes.runner import could_not_run, interpret, run_probe, unreachable_error

HOST = HostTarget(name="local")


def _out(result: CommandResult) -> Facts:
    return {"out": result.stdout}


async def test_a_probe_stdin_reaches_the_command_and_its_stderr_the_raw_output() -> None:
    probe = Probe("cat", "test", ("sh", "-c", "cat; echo oops >&2"), _out, stdin="url = x\n",
                  raw_stderr=True)  # fmt: skip
    result = await run_probe(LocalExecutor(), probe, HOST)
    assert result.ok and result.facts == {"out": "url = x\n"}
    assert result.raw == "url = x\noops\n"


def test_could_not_run_tells_an_unreachable_host_from_a_failed_command() -> None:
    probe = Probe("x", "test", ("true",), _out, timeout_s=2.0)
    exc = ConnectRefused("web-1", "connection refused by 198.18.0.2:22")
    gone = interpret(probe, HOST, None, time.monotonic(), error=unreachable_error(exc))
    assert could_not_run(gone) == ("ssh.refused", "connection refused by 198.18.0.2:22")
    slow = CommandResult(stdout="", stderr="", exit_status=None, duration_s=2.0, timed_out=True)
    timed_out = interpret(probe, HOST, slow, time.monotonic())
    assert not timed_out.ok and could_not_run(timed_out) is None


def test_dig_from_probes_keep_the_name_one_argv_element() -> None:
    name = "weird-but-valid.example.test"
    getent, dig_a, dig_aaaa = probes(name, 0.5)
    assert getent.command == ("getent", "ahosts", name)
    assert dig_a.command[-2:] == (name, "A") and dig_aaaa.command[-2:] == (name, "AAAA")
    assert all(p.stdin is None and p.timeout_s == 1.0 for p in (getent, dig_a, dig_aaaa))
