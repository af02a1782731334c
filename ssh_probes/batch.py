"""Many fixed commands in one remote session: the login shell is paid once, not per probe.

OpenSSH runs every exec request through the user's login shell; on a real server that shell
may read a heavy rc file (pyenv, nvm, conda: ~100 ms each), so twenty probe sessions cost
twenty shell start-ups and, on a busy host, time out. A batch sends one fixed POSIX sh script
with every command's argv as positional parameters (no argv element is ever parsed by a
shell: the script expands only `"${N}"` references it builds from integers). The script
starts each command in the background with its stdout, stderr and exit status in files of a
private temporary directory (tmpfs first), waits for all, then prints each file after a
header naming the private directory (random, unknown to the commands), so no command's
output can forge a boundary; the whole batch is framed by a per-batch random nonce.

When no temporary directory can be made (a full or read-only /tmp and /dev/shm: the very
incident being triaged) the script says so and the caller falls back to one session per
command.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from ssh_probes.model import CommandResult

NO_DIR_EXIT = 97  # the script's own status when it could make no temporary directory
# sh: start every job, wait, print every file with one `head -v` (its headers name the
# private directory, which the commands' output cannot guess). $1 = nonce, $2 = cap per
# stream, then per command: its argv length and the argv. `pick` runs the first $1 of the rest.
SCRIPT = r"""
export LC_ALL=C
nonce=$1; cap=$2; shift 2
d=$(mktemp -d "${XDG_RUNTIME_DIR:-/dev/shm}/tb.XXXXXXXXXXXX" 2>/dev/null) ||
  d=$(mktemp -d /tmp/tb.XXXXXXXXXXXX 2>/dev/null) || { echo "@@TB$nonce nodir"; exit 97; }
trap 'rm -rf "$d"' EXIT
pick() {
  n=$1; shift; l=""; k=1
  while [ "$k" -le "$n" ]; do l="$l \"\${$k}\""; k=$((k + 1)); done
  eval "set -- $l"
  "$@"
}
i=0
while [ "$#" -gt 0 ]; do
  n=$1; shift
  ( pick "$n" "$@" >"$d/$i.o" 2>"$d/$i.e" </dev/null; echo "$?" >"$d/$i.s" ) &
  shift "$n"; i=$((i + 1))
done
wait
echo "@@TB$nonce $d"
j=0
while [ "$j" -lt "$i" ]; do set -- "$@" "$d/$j.o" "$d/$j.e" "$d/$j.s"; j=$((j + 1)); done
head -v -c "$cap" "$@" 2>/dev/null
printf '\n@@TB%s end\n' "$nonce"
"""


@dataclass(frozen=True)
class Batch:
    """The argv of one session that runs `commands`, and how to read its output back."""

    argv: tuple[str, ...]
    nonce: str
    count: int
    cap: int

    def split(self, out: CommandResult) -> list[CommandResult] | None:
        """Each command's result, or None when the batch could not run as a batch."""
        _, sep, rest = out.stdout.partition(f"@@TB{self.nonce} ")
        if out.exit_status == NO_DIR_EXIT or not sep:
            return None
        where, _, body = rest.partition("\n")
        end = body.rfind(f"\n@@TB{self.nonce} end\n")
        if end < 0 or not where.startswith("/"):
            return None
        parts = re.split(rf"\n==> {re.escape(where)}/(\d+)\.([oes]) <==\n", "\n" + body[:end])
        found: dict[tuple[int, str], str] = {}
        for at in range(1, len(parts) - 2, 3):
            found[(int(parts[at]), parts[at + 1])] = parts[at + 2]
        results = []
        for i in range(self.count):
            status = found.get((i, "s"), "").strip()
            stdout, stderr = found.get((i, "o"), ""), found.get((i, "e"), "")
            results.append(
                CommandResult(
                    stdout=stdout,
                    stderr=stderr,
                    exit_status=int(status) if status.isdigit() else None,
                    duration_s=out.duration_s,
                    truncated=len(stdout.encode()) >= self.cap or len(stderr.encode()) >= self.cap,
                )
            )
        return results


def batch(commands: Sequence[Sequence[str]], cap: int) -> Batch:
    """One `sh -c SCRIPT` argv running every command at once (each argv passed as data)."""
    if not commands or any(not argv for argv in commands):
        raise ValueError("a batch needs commands, each with an argv")
    nonce = secrets.token_hex(8)
    argv: list[str] = ["sh", "-c", SCRIPT, "sh", nonce, str(cap)]
    for command in commands:
        argv += [str(len(command)), *command]
    return Batch(tuple(argv), nonce, len(commands), cap)
