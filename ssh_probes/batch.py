"""Many fixed commands in one remote session: the login shell is paid once, not per probe.

OpenSSH runs every exec request through the user's login shell; on a real server that shell
may read a heavy rc file (pyenv, nvm, conda: ~100 ms each), so twenty probe sessions cost
twenty shell start-ups and, on a busy host, time out. A batch sends one fixed POSIX sh script
with every command's argv as positional parameters (no argv element is ever parsed by a
shell: the scripts expand only `"${N}"` references they build from integers). Each command
runs in the background with its stdout, stderr and exit status in files of a private
temporary directory (tmpfs first); the script waits for all, then prints each file after a
header naming the private directory (random, unknown to the commands), so no command's
output can forge a boundary; the whole batch is framed by a per-batch random nonce.

Issue 18 (host CPU): the commands are grouped by their host-side limit, and each group runs
in ONE `timeout -s KILL SECS sh -c GROUP` (coreutils' timeout leads its own process group
and kills all of it on expiry, grandchildren too), not one `timeout` per command. A command
that is itself `sh -c SCRIPT sh ARGS...` (every probe) runs with no `sh` of its own: its
job clears the batch's variables, sets ARGS as "$1".. and evaluates SCRIPT, our fixed probe
text carried as data (user values stay positional parameters, never evaluated). A script
that reads `$$` or `$PPID` still gets its own `sh`, where they mean what it expects. A
command killed with its group records no status: the script records 137 (128 + KILL).

Hosts without a usable `timeout`: none on PATH (`command -v`), or one that fails to start
the group (125-127 before the group ran: busybox before 1.30 wants `-t SECS`): those groups
run bare in the same session, each ended at its limit by a `sleep` and a KILL of the group's
shell (its commands outlive it there, as bare commands did before), and the batch says so
(`bare`). A `timeout` that execs in place (busybox's) kills only the group's shell, so that
group wraps each command in `timeout` again (the guarantee such hosts had before). When no
temporary directory can be made (a full or read-only /tmp and /dev/shm: the very incident
being triaged) the script says so and the caller falls back to one session per command.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from ssh_probes.model import CommandResult

NO_DIR_EXIT = 97  # the script's own status when it could make no temporary directory
KILLED = 137  # the status recorded for a command its group's `timeout -s KILL` ended
# Every variable the batch and group scripts set: a command's shell unsets them first.
_NAMES = "nonce cap n G gs g l r p q s ps d m o w i k j a c"
# sh, one group of commands: "$1" dir, "$2" mode (t under `timeout`, b bare), "$3" seconds,
# "$4" offset of the group's words in the data after "$5", "$5" their count. A command is
# `INDEX KIND N WORD...`. KIND p: the words are an argv, run as a program. KIND e and s: the
# words are SCRIPT [sh ARGS...], evaluated with ARGS as "$1".. by the job's own process (e:
# it records its status from an EXIT trap on fd 9) or by a subshell of it (s: the script
# sets traps, execs a program or uses fd 9). Under a `timeout` that is not this shell's
# parent (busybox's runs its program in place, so it would kill only this shell), each
# command gets its own `timeout`, as before issue 18.
GROUP = r"""
d=$1 m=$2 l=$3 o=$4 w=$5; shift 5; shift "$o"
: >"$d/g$o"
if [ "$m" = t ]; then
  c=; read -r c 2>/dev/null <"/proc/$PPID/comm"; [ "$c" = timeout ] || m=k
fi
while [ "$w" -gt 0 ]; do
  i=$1 k=$2 n=$3; shift 3; w=$((w - 3 - n))
  a=; j=1; while [ "$j" -le "$n" ]; do a="$a \"\${$j}\""; j=$((j + 1)); done
  if [ "$k" = e ] && [ "$m" != k ]; then
    {
      eval "set -- $a"; x=$1; shift; [ "$#" -eq 0 ] || shift
      trap 'echo "$?" >&9' EXIT
      unset -v @NAMES@; eval "unset -v x; $x"; exit
    } >"$d/$i.o" 2>"$d/$i.e" 9>"$d/$i.s" </dev/null &
  else
    {
      (
        eval "set -- $a"
        if [ "$k" != p ]; then x=$1; shift; [ "$#" -eq 0 ] || shift; fi
        if [ "$m" = k ] && [ "$k" = p ]; then exec timeout -s KILL "$l" "$@"; fi
        if [ "$m" = k ]; then exec timeout -s KILL "$l" sh -c "$x" sh "$@"; fi
        if [ "$k" = p ]; then unset -v @NAMES@ x; exec "$@"; fi
        unset -v @NAMES@; eval "unset -v x; $x"
      ) >"$d/$i.o" 2>"$d/$i.e" </dev/null
      echo "$?" >"$d/$i.s"
    } >/dev/null 2>&1 &
  fi
  shift "$n"
done
wait
""".replace("@NAMES@", _NAMES)
# sh: make the directory, start every group under `timeout` if the host has one, wait for
# each (a group whose `timeout` could not start it, 125-127 and no mark: busybox before 1.30
# wants `-t SECS`, runs bare like every group of a host without `timeout`, ended by a `sleep`
# at the same limit), record the killed, print every file with one `head -v` (its headers
# name the private directory, which the commands' output cannot guess). $1 nonce, $2 cap per
# stream, $3 command count, $4 GROUP, $5 the groups (`SECS:OFFSET:WORDS` each), $6 t (try
# `timeout`) or b (bare), then the commands' words.
SCRIPT = r"""
export LC_ALL=C
nonce=$1 cap=$2 n=$3 G=$4 gs=$5; shift 5
d=$(mktemp -d "${XDG_RUNTIME_DIR:-/dev/shm}/tb.XXXXXXXXXXXX" 2>/dev/null) ||
  d=$(mktemp -d /tmp/tb.XXXXXXXXXXXX 2>/dev/null) || { echo "@@TB$nonce nodir"; exit 97; }
trap 'rm -rf "$d"' EXIT
[ "$1" = t ] && command -v timeout >/dev/null 2>&1 || : >"$d/bare"
shift
ps=
for g in $gs; do
  if [ -e "$d/bare" ]; then ps="$ps -:$g"; continue; fi
  l=${g%%:*} q=${g#*:}
  timeout -s KILL "$l" sh -c "$G" sh "$d" t "$l" "${q%:*}" "${q#*:}" "$@" >/dev/null 2>&1 &
  ps="$ps $!:$g"
done
for q in $ps; do
  p=${q%%:*} q=${q#*:} l=${q%%:*} q=${q#*:}
  if [ "$p" != - ]; then
    wait "$p"; r=$?
    [ -e "$d/g${q%:*}" ] || [ "$r" -lt 125 ] || [ "$r" -gt 127 ] && continue
    : >"$d/bare"
  fi
  (
    ( set -- "$d" b "$l" "${q%:*}" "${q#*:}" "$@"; eval "$G" ) &
    p=$!
    { sleep "$l"; kill -KILL "$p"; } &
    s=$!
    wait "$p"
    kill "$s"
  ) >/dev/null 2>&1 &
done
wait
[ -e "$d/bare" ] && echo "@@TB$nonce bare"
echo "@@TB$nonce $d"
set --
j=0
while [ "$j" -lt "$n" ]; do
  [ -s "$d/$j.s" ] || echo 137 >"$d/$j.s"
  set -- "$@" "$d/$j.o" "$d/$j.e" "$d/$j.s"; j=$((j + 1))
done
head -v -c "$cap" "$@" 2>/dev/null
printf '\n@@TB%s end\n' "$nonce"
"""
# A script whose job must be a subshell: it sets traps, uses fd 9 or replaces its shell
# (`exec PROGRAM`; `exec` with only redirections, like `exec 2>/dev/null`, is fine).
_REDIRECT = r"\s+\d*(?:>>|>&|<&|<>|>\||>|<)\s*[^\s;&|()<>]+"
_EXEC_REDIRECTS_ONLY = re.compile(rf"\bexec(?:{_REDIRECT})+\s*(?:$|[;&|)\n])")
_NEEDS_SUBSHELL = re.compile(r"\btrap\b|\b9\s*[<>]|[<>]&\s*9\b")


def _kind(script: str) -> str:
    if _NEEDS_SUBSHELL.search(script):
        return "s"
    execs = len(re.findall(r"\bexec\b", script))
    return "e" if execs == len(_EXEC_REDIRECTS_ONLY.findall(script)) else "s"


@dataclass(frozen=True)
class Batch:
    """The argv of one session that runs `commands`, and how to read its output back."""

    argv: tuple[str, ...]
    nonce: str
    count: int
    cap: int

    def bare(self, out: CommandResult) -> bool:
        """True when the host showed it has no usable `timeout` (some group ran bare)."""
        return f"@@TB{self.nonce} bare\n" in out.stdout

    def split(self, out: CommandResult) -> list[CommandResult] | None:
        """Each command's result, or None when the batch could not run as a batch."""
        head = re.search(rf"(?:^|\n)@@TB{self.nonce} (/[^\n]*)\n", out.stdout)
        if out.exit_status == NO_DIR_EXIT or head is None:
            return None
        where, body = head.group(1), out.stdout[head.end() :]
        end = body.rfind(f"\n@@TB{self.nonce} end\n")
        if end < 0:
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


def _words(index: int, argv: Sequence[str]) -> list[str]:
    """A command's words in the data: `sh -c SCRIPT [sh ARGS...]` is evaluated by its job
    (no `sh` exec) unless the script needs a shell of its own (`$$`, `$PPID`)."""
    if list(argv[:2]) == ["sh", "-c"] and len(argv) >= 3 and list(argv[3:4]) in ([], ["sh"]):
        if not any(own in argv[2] for own in ("$$", "${$}", "PPID")):
            # the script, then [sh, "$1"..]
            return [str(index), _kind(argv[2]), str(len(argv) - 2), *argv[2:]]
    return [str(index), "p", str(len(argv)), *argv]


def batch(
    commands: Sequence[Sequence[str]], cap: int, seconds: Sequence[str], *, timeout: bool = True
) -> Batch:
    """One `sh -c SCRIPT` argv running every command at once (each argv passed as data),
    each ended after its `seconds` (whole seconds) by the host's `timeout -s KILL`, one per
    distinct value; with `timeout` False (the host has none) by a `sleep` and a kill."""
    if not commands or any(not argv for argv in commands):
        raise ValueError("a batch needs commands, each with an argv")
    if len(seconds) != len(commands) or not all(s.isdigit() for s in seconds):
        raise ValueError("one limit per command, in whole seconds")
    groups: dict[str, list[str]] = {}
    for index, (argv, limit) in enumerate(zip(commands, seconds, strict=True)):
        groups.setdefault(limit, []).extend(_words(index, argv))
    data: list[str] = []
    spans = []
    for limit, words in groups.items():
        spans.append(f"{limit}:{len(data)}:{len(words)}")
        data += words
    nonce = secrets.token_hex(8)
    head = [nonce, str(cap), str(len(commands)), GROUP, " ".join(spans), "t" if timeout else "b"]
    return Batch(("sh", "-c", SCRIPT, "sh", *head, *data), nonce, len(commands), cap)
