"""A NUL in a probe's output is never text: the runner makes it a space before redaction."""

from __future__ import annotations

import time

from ssh_probes.model import CommandResult, HostTarget, Probe
from ssh_probes.runner import interpret


def _lines(result: CommandResult) -> dict[str, object]:
    return {"lines": result.stdout.splitlines()}


def test_a_nul_separated_secret_is_redacted_in_raw_output_and_facts() -> None:
    # /proc/PID/cmdline separates arguments with NULs: `--password\0hunter2` must read as
    # `--password hunter2` to the redactor, or the secret would be stored.
    probe = Probe("argv", "test", ("true",), _lines)
    out = CommandResult("mysqld\0--password\0hunter2\0\n", "", 0, 0.1)
    result = interpret(probe, HostTarget(name="h"), out, time.monotonic())
    assert result.ok and "hunter2" not in result.raw + repr(result.facts)
    assert result.raw.startswith("mysqld --password [REDACTED]") and "\0" not in result.raw
    assert result.redacted == 1
