"""The processes probe's /proc listing (no `ps`), run for real in a fresh PID namespace.

Each case starts processes in `unshare -pf --mount-proc` (a CPU burner renamed with a
newline in its name, a memory holder, a dozen sleepers with a secret in their arguments),
runs the probe's script there under one awk (mawk, Debian's default; gawk; busybox's, with
busybox's sh and tools too), then
procps `ps` in the same namespace, and compares what the probe says with what ps says.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ssh_probes.model import CommandResult
from ssh_probes.probes import build
from ssh_probes.probes.proc_top import shown_args
from tests.unavailable import unavailable

# The burner names itself "x\n1 (f) R 0" (15 bytes, the most a name holds): its stat line
# reaches awk as two records, the second posing as pid 1's.
BURNER = "import ctypes; ctypes.CDLL(None).prctl(15, b'x\\n1 (f) R 0', 0, 0, 0)\nwhile True: pass"
HOLDER = "import time; b = bytearray(64 << 20); b[::4096] = b'x' * (len(b) // 4096); time.sleep(60)"
INNER = """
python3 -c "$BURNER" &
python3 -c "$HOLDER" &
i=0
while [ $i -lt 12 ]; do sh -c 'sleep 60' sleeper-$i --password=hunter2 & i=$((i + 1)); done
sleep 1.5
sh -c "$SCRIPT" sh 1 >"$OUT/probe.txt" 2>"$OUT/probe.err"
/usr/bin/ps -eo pid=,ppid=,user=,nlwp=,args= >"$OUT/ps.txt"
kill $(jobs -p) 2>/dev/null
exit 0
"""


def _awk_dir(tmp: Path, awk: str) -> Path:
    where = tmp / "bin"
    where.mkdir()
    if awk == "busybox":
        # Every tool the script uses from busybox, as on a busybox host.
        for tool in ("sh", "cat", "awk", "sleep", "getconf", "printf"):
            (where / tool).symlink_to("/usr/bin/busybox")
    else:
        (where / "awk").symlink_to(f"/usr/bin/{awk}")
    return where


@pytest.mark.parametrize("awk", ["mawk", "gawk", "busybox"])
def test_the_proc_listing_agrees_with_ps_in_a_busy_namespace(tmp_path: Path, awk: str) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        unavailable("needs root and unshare (a PID namespace)")
    if not Path("/usr/bin/busybox" if awk == "busybox" else f"/usr/bin/{awk}").exists():
        unavailable(f"needs {awk} (make test-deps installs it)")
    probe = build("processes")
    path = f"{_awk_dir(tmp_path, awk)}:/usr/bin:/bin"
    env = {"PATH": path, "LC_ALL": "C", "OUT": str(tmp_path), "SCRIPT": probe.command[2],
           "BURNER": BURNER, "HOLDER": HOLDER}  # fmt: skip
    subprocess.run(
        ["unshare", "-pf", "--mount-proc", "sh", "-c", INNER],
        env=env, check=True, timeout=60, capture_output=True,
    )  # fmt: skip
    stdout = (tmp_path / "probe.txt").read_text()
    facts = probe.parse(CommandResult(stdout, (tmp_path / "probe.err").read_text(), 0, 1.0))
    ps = {}
    for line in (tmp_path / "ps.txt").read_text().splitlines():
        pid, _ppid, user, nlwp, args = line.split(None, 4)
        ps[int(pid)] = (user, int(nlwp), args)

    assert facts["format"] == "proc"
    # Every process but ps itself: the probe's own shell and children were gone by then.
    assert facts["total_processes"] == len(ps) - 1
    assert len(facts["top_cpu"]) == 10 and len(facts["top_mem"]) == 10
    burner = facts["top_cpu"][0]
    assert burner["cpu_pct"] > 50 and "ctypes" in ps[burner["pid"]][2]
    # The name's second line did not become pid 1's figures, nor hide the burner.
    assert all(p["cpu_pct"] < 10 for p in facts["top_cpu"] if p["pid"] == 1)
    holder = facts["top_mem"][0]
    assert holder["rss_kb"] >= 60_000 and "bytearray" in ps[holder["pid"]][2]
    for row in facts["top_cpu"] + facts["top_mem"]:
        user, threads, args = ps[row["pid"]]
        assert (row["user"], row["threads"]) == (user, threads)
        assert row["args"] == shown_args(args, False)
    text = repr(facts)
    assert "hunter2" not in text and "--password=[REDACTED]" in text
