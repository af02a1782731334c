"""The load probe counts online CPUs with the shell alone (no `getconf`), as getconf does.

Each case bind-mounts a file over /sys/devices/system/cpu/online in a private mount
namespace (`unshare -m`) and runs the probe's script there, under dash and busybox sh.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ssh_probes.model import CommandResult
from ssh_probes.probes.load import LOAD
from tests.unavailable import unavailable

ONLINE = "/sys/devices/system/cpu/online"
REAL = int(subprocess.run(["getconf", "_NPROCESSORS_ONLN"], capture_output=True, text=True,
                          check=True).stdout)  # fmt: skip


def _run(shell: str, online: str | None, tmp: Path, script: str = LOAD.command[2]) -> CommandResult:
    if online is None:
        argv = [*shell.split(), "-c", script]
    else:
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            unavailable("needs root and unshare (a mount namespace)")
        fake = tmp / "online"
        fake.write_text(online)
        inner = f'mount --bind "$1" {ONLINE} && exec {shell} -c "$2"'
        argv = ["unshare", "-m", "sh", "-c", inner, "sh", str(fake), script]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    return CommandResult(done.stdout, done.stderr, done.returncode, 0.1)


@pytest.mark.parametrize("shell", ["dash", "busybox sh"])
@pytest.mark.parametrize(
    ("online", "cpus"),
    [
        (None, REAL),  # this machine, as it is
        ("0-3,5,7-8\n", 7),
        ("0\n", 1),
        ("0-63\n", 64),
        ("0-3,x\n", None),  # not ranges: getconf answers, reading the same file
        ("\n", None),
        ("0-1-2\n", None),
        ("$(touch /tmp/tb-never)\n", None),  # never evaluated
    ],
)
def test_the_cpu_count_is_getconfs(
    shell: str, online: str | None, cpus: int, tmp_path: Path
) -> None:
    if shell.startswith("busybox") and shutil.which("busybox") is None:
        unavailable("needs busybox (make test-deps installs it)")
    out = _run(shell, online, tmp_path)
    if cpus is None:
        cpus = int(_run("sh", online, tmp_path, "getconf _NPROCESSORS_ONLN").stdout)
    facts = LOAD.parse(out)
    assert facts["cpus"] == cpus, out
    load = Path("/proc/loadavg").read_text().split()
    assert out.stdout.splitlines()[0].split()[3].count("/") == 1 and len(load) == 5
    assert not Path("/tmp/tb-never").exists()
