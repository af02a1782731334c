"""No shell ever sees user text: every argv the executors run is recorded and checked.

triage (with hostile registry log paths), dig --from and http --from run against a real lab
host whose `getent`, `dig` and `curl` are shims that record the argv they received (so no
query leaves the lab). Local shells are forbidden outright: create_subprocess_shell,
Popen(shell=True), os.system and os.popen raise. User text may only be one whole argv
element after fixed words, never inside an `sh -c` script, and the remote command line
must split back into exactly the argv that was asked for.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from commands import dig, http, triage
from commands.dig import DigOptions
from ssh_probes import batch
from ssh_probes.executor import LocalExecutor, SSHExecutor, SSHOptions
from tests.lab.fixtures import CALM, target_for
from tests.lab.netns import LabHost

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SHIM = """#!/bin/sh
# Record argv (one element per NUL-terminated record) and fail like "not found".
printf '%s\\0' "$0" "$@" >> {log}
exit {status}
"""


class Recorder:
    """Every argv run by an executor and every command line sent over SSH."""

    def __init__(self) -> None:
        self.argvs: list[list[str]] = []
        self.remote: list[str] = []


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Record executor argvs; make every local shell entry point raise."""
    rec = Recorder()

    def wrap(cls: Any) -> None:
        original = cls.run

        async def run(self: Any, argv: Sequence[str], **kwargs: Any) -> Any:
            rec.argvs.append(list(argv))
            return await original(self, argv, **kwargs)

        monkeypatch.setattr(cls, "run", run)

    wrap(SSHExecutor)
    wrap(LocalExecutor)
    original_many = SSHExecutor.run_many

    async def run_many(self: Any, commands: Sequence[Sequence[str]], limits: Any) -> Any:
        rec.argvs.extend(list(argv) for argv in commands)
        return await original_many(self, commands, limits)

    monkeypatch.setattr(SSHExecutor, "run_many", run_many)
    create_process = asyncssh.SSHClientConnection.create_process

    async def remote(self: Any, command: str, *args: Any, **kwargs: Any) -> Any:
        rec.remote.append(command)
        return await create_process(self, command, *args, **kwargs)

    monkeypatch.setattr(asyncssh.SSHClientConnection, "create_process", remote)

    def forbidden(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("a shell was spawned")

    monkeypatch.setattr(asyncio, "create_subprocess_shell", forbidden)
    monkeypatch.setattr(os, "system", forbidden)
    monkeypatch.setattr(os, "popen", forbidden)
    popen_init = subprocess.Popen.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("shell"):
            raise AssertionError(f"Popen(shell=True): {args!r}")
        popen_init(self, *args, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", init)
    return rec


def shims(host: LabHost) -> Path:
    """getent, dig and curl on the host record their argv; returns the record file."""
    log = host.workdir / "argv.log"
    for name, status in (("getent", 2), ("dig", 9), ("curl", 7)):
        path = host.bin_dir / name
        path.write_text(SHIM.format(log=shlex.quote(str(log)), status=status))
        path.chmod(0o755)
    return log


def received(log: Path) -> list[list[str]]:
    """The argvs the shims got, each starting with the shim's path."""
    if not log.exists():
        return []
    fields = log.read_bytes().decode().split("\0")[:-1]
    out: list[list[str]] = []
    for item in fields:
        if item.startswith("/") and Path(item).parent.name == "bin":
            out.append([Path(item).name])
        else:
            out[-1].append(item)
    return out


def check_argvs(rec: Recorder, user_texts: Sequence[str]) -> None:
    """User text only as whole argv elements after fixed words; never in an sh -c script."""
    assert rec.argvs
    for argv in rec.argvs:
        script_at = 2 if argv[:2] == ["sh", "-c"] else None
        for i, element in enumerate(argv):
            for text in user_texts:
                if text not in element:
                    continue
                assert element == text, (text, argv)  # one whole element, never spliced
                assert i > 0 and i != script_at, argv
                if script_at is not None:
                    assert i >= 4, argv  # after `sh -c SCRIPT sh`: "$1".. of a fixed script
    # The remote shell splits each command line back into exactly the argv we asked for,
    # behind fixed words only: the locale and the host-side `timeout -s KILL SECONDS`; a
    # batch (ssh_probes.batch) is the fixed scripts with each command's words as their data,
    # one `timeout` per group of commands of the same limit.
    commands = []
    for line in rec.remote:
        words = shlex.split(line)
        if words[:2] != ["sh", "-c"]:
            assert words[:2] == ["env", "LC_ALL=C"], words
            assert words[2:5] == ["timeout", "-s", "KILL"] and words[5].isdigit(), words
            commands.append(words[6:])
            continue
        # the scripts are fixed; then the nonce, the cap, the count, the groups, the mode
        assert words[2:4] == [batch.SCRIPT, "sh"] and words[7] == batch.GROUP, line
        assert words[9] in ("t", "b"), line
        data = words[10:]
        for group in words[8].split():
            seconds, start, count = group.split(":")
            assert seconds.isdigit(), group
            rest = data[int(start) : int(start) + int(count)]
            while rest:
                kind, n = rest[1], int(rest[2])
                argv = rest[3 : 3 + n]
                commands.append(["sh", "-c", *argv] if kind == "e" else argv)
                rest = rest[3 + n :]
    assert sorted(commands) == sorted(rec.argvs)


async def test_triage_with_hostile_log_paths(
    lab_host: LabHost, recorder: Recorder, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    logs = (
        f"/tmp/a $(touch {marker});`touch {marker}`|x.log",
        f"/tmp/-oProxyCommand=touch {marker}\\'\".log",
    )
    target = target_for(lab_host, logs=logs, expect_ports=(22,))
    opts = triage.TriageOptions(
        ssh=SSHOptions(connect_timeout_s=3.0),
        thresholds=CALM,
        probes=("load", "logs", "sockets"),
    )
    report = await triage.run(target, opts, port=22)
    assert {r.probe for r in report.results} >= {"load", "logs", "sockets"}
    check_argvs(recorder, logs)
    assert any(logs[0] in argv for argv in recorder.argvs), "the log path never reached a probe"
    assert not marker.exists()


async def test_dig_from_host_with_hostile_but_valid_names(
    lab_host: LabHost, recorder: Recorder
) -> None:
    log = shims(lab_host)
    request = dig.parse(["пример.испытание", "A", "@127.0.0.1:9", "--from", lab_host.name])
    opts = DigOptions(timeout_s=0.5, check_ns=False, ssh=SSHOptions(connect_timeout_s=3.0))
    report = await dig.run(request, opts, from_host=target_for(lab_host))
    assert report.results
    assert request.domain.startswith("xn--")
    check_argvs(recorder, [request.domain, request.display])
    got = received(log)
    assert ["getent", "ahosts", request.domain] in got
    digs = [argv for argv in got if argv[0] == "dig"]
    assert sorted(argv[-2:] for argv in digs) == [[request.domain, "A"], [request.domain, "AAAA"]]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/$(touch${IFS}/tmp/tb-pwn)/`id`;rm?q=|sh&r=<x>",
        "<http://127.0.0.1:9/a;b|http://127.0.0.1:9/a;b>",
        "http://user:p4ss;`id`@127.0.0.1:9/x",
    ],
    ids=["metachars", "slack-wrapped", "credentials"],
)
async def test_http_from_host_with_hostile_but_valid_urls(
    lab_host: LabHost, recorder: Recorder, url: str
) -> None:
    log = shims(lab_host)
    request = http.parse([url, "--from", lab_host.name])
    opts = http.HttpOptions(connect_timeout_s=1.0, read_timeout_s=1.0, total_timeout_s=3.0)
    report = await http.run(request, opts, from_host=target_for(lab_host))
    assert len(report.results) == 2
    [curl] = [argv for argv in received(log) if argv[0] == "curl"]
    if request.has_credentials:
        # The URL (and its password) goes on stdin, never into any argv.
        assert not any("p4ss" in e for argv in recorder.argvs for e in argv)
        assert curl[-2:] == ["-K", "-"]
    else:
        check_argvs(recorder, [request.url])
        assert curl[-2:] == ["--", request.url]  # exactly as sent: no expansion on the host
    assert not Path("/tmp/tb-pwn").exists()
