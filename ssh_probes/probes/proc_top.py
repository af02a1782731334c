"""The processes probe's listing read from /proc by one awk, with no `ps` (issue 18).

procps `ps` costs the host ~13 ms of CPU per run here, most of it before it reads a single
process (it loads libprocps and libsystemd); `cut` another ~1 ms. The probe already reads
every /proc/PID/stat twice for the CPU ranking, so the awk that reads the second sample
also keeps each process's parent, threads, start time and resident pages, leaves out the
probe's own processes, picks the TOP by CPU over the window and the TOP by memory, and only
for those reads /proc/PID/status (effective uid, VmRSS), /proc/PID/cmdline (cut to
LINE_CAP bytes; its NULs are made spaces here, as the runner does for raw output) and
/etc/passwd (user names). Every read is a `getline`, which fails softly when a process
exits in between; the program is POSIX awk.

What it prints after the second tick sample:

    --- proc PROCESSES THREADS MEMTOTAL_KB
    PID<TAB>PPID<TAB>USER<TAB>RSS_KB<TAB>THREADS<TAB>START_TICKS<TAB>TICKS<TAB>CUT<TAB>ARGS

USER is the name /etc/passwd gives the effective uid, else the uid (as `ps` prints an
unknown one; users only a directory service knows show as numbers). ARGS is the command
line with its newlines made spaces (as `ps` shows them), or `[NAME]` for a kernel thread;
CUT is 1 when it was longer than LINE_CAP. The same under mawk, gawk and busybox's awk
(tests/integration/test_processes_proc.py).
"""

from __future__ import annotations

import re
from typing import Any

from ssh_probes.redact import redact

PROC = "--- proc"
LINE_CAP = 512  # a java command line can be kilobytes
ARGS_CAP = 200
# A process name may hold newlines (prctl PR_SET_NAME, up to 15 bytes): its stat line then
# reaches awk as several records, the first with too few fields. They are joined back (a
# real line has the pid, the name and at least 22 more fields), so a name can neither forge
# a line for another pid nor hide its own.
JOIN = 'while (NF < 24 && (getline l) > 0) $0 = $0 " " l'
# The first sample: `PID TICKS` per process (utime + stime, the 14th and 15th fields).
TICKS_AWK = f'{{ {JOIN} }} $1 ~ /^[0-9]+$/ {{ p = $1; sub(/^.*\\) /, ""); print p, $12 + $13 }}'
# Records before the lone "@" are the first sample (`PID TICKS`), after it /proc/PID/stat
# lines. Fields after the last ") " (the name may hold spaces and parentheses): $2 ppid,
# $12 + $13 utime + stime, $18 num_threads, $20 starttime, $22 rss (pages).
AWK = r"""
function better(p, v, q, w) { return v > w || (v == w && p + 0 < q + 0) }
function ins(A, V, p, v,   i) {
  if (A["n"] == top && !better(p, v, A[top], V[top])) return
  if (A["n"] < top) A["n"]++
  for (i = A["n"]; i > 1 && better(p, v, A[i - 1], V[i - 1]); i--) {
    A[i] = A[i - 1]; V[i] = V[i - 1]
  }
  A[i] = p; V[i] = v
}
$0 == "@" { now = 1; next }
!now { if (NF == 2) b[$1] = $2; next }
{ @JOIN@ }
$1 !~ /^[0-9]+$/ { next }
{
  p = $1; c = $0; sub(/^[^(]*\(/, "", c); sub(/\) [^)]*$/, "", c)
  sub(/^.*\) /, ""); t = $12 + $13; print p, t
  pp[p] = $2; th[p] = $18; st[p] = $20; rs[p] = $22; tk[p] = t; cm[p] = c
}
END {
  for (p in pp) if (p == own || pp[p] == own) x[p] = 1
  for (p in pp) if (pp[p] in x) x[p] = 1
  C["n"] = 0; M["n"] = 0
  for (p in pp) {
    if (p in x) continue
    n++; nt += th[p]
    d = (p in b) ? tk[p] - b[p] : tk[p]
    ins(C, CV, p, d < 0 ? 0 : d)
    if (rs[p] > 0) ins(M, MV, p, rs[p])
  }
  for (i = 1; i <= C["n"]; i++) s[C[i]] = 1
  for (i = 1; i <= M["n"]; i++) s[M[i]] = 1
  f = "/proc/meminfo"
  while ((getline l < f) > 0) if (l ~ /^MemTotal:/) { split(l, g, " "); mt = g[2]; break }
  close(f)
  for (p in s) {
    u[p] = "?"; r[p] = 0; a[p] = ""; f = "/proc/" p "/status"
    while ((getline l < f) > 0) {
      split(l, g, " ")
      if (g[1] == "Uid:") u[p] = g[3]; else if (g[1] == "VmRSS:") r[p] = g[2]
    }
    close(f); f = "/proc/" p "/cmdline"
    while (length(a[p]) <= cap && (getline l < f) > 0) a[p] = a[p] (a[p] == "" ? "" : " ") l
    close(f); want[u[p]] = 1
  }
  f = "/etc/passwd"
  while ((getline l < f) > 0) {
    split(l, g, ":"); if (g[3] in want && !(g[3] in name)) name[g[3]] = g[1]
  }
  close(f)
  print "--- proc", n + 0, nt + 0, mt + 0
  for (p in s) {
    l = a[p]; if (l == "") l = "[" cm[p] "]"
    k = length(l) > cap; if (k) l = substr(l, 1, cap)
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", p, pp[p],
      (u[p] in name) ? name[u[p]] : u[p], r[p] + 0, th[p], st[p], tk[p], k, l
  }
}
""".replace("@JOIN@", JOIN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def command_name(args: str) -> str:
    """The program's name: `[kthreadd]` -> kthreadd, `/usr/bin/python3 -c` -> python3."""
    if args.startswith("[") and args.endswith("]"):
        return args[1:-1]
    first = args.split(None, 1)[0] if args.strip() else "?"
    # Processes that retitle themselves (`postgres: checkpointer`) keep the name before ':'.
    return first.rsplit("/", 1)[-1].rstrip(":") or first


def shown_args(raw: str, cut: bool) -> str:
    """Arguments as facts: redacted, capped; a cut last word is dropped (it may be half a
    secret the redactor would not recognise)."""
    if cut:
        raw = raw.rsplit(None, 1)[0] if len(raw.split()) > 1 else ""
    text = redact(raw.strip())
    return text if len(text) <= ARGS_CAP else text[: ARGS_CAP - 3] + "..."


def rows(listing: str, uptime: float, hz: int) -> tuple[int, int, list[dict[str, Any]]]:
    """(processes, threads, the chosen processes) from the `--- proc` section."""
    head, _, body = listing.partition("\n")
    totals = head.split()
    if len(totals) != 3 or not all(t.isdigit() for t in totals):
        raise ValueError(f"expected `{PROC} PROCESSES THREADS MEMTOTAL`, got {head[:80]!r}")
    count, threads, mem_total = (int(t) for t in totals)
    found = []
    for line in body.splitlines():
        fields = line.split("\t", 8)
        if len(fields) != 9 or not all(f.isdigit() for f in fields[:2] + fields[3:8]):
            continue  # one odd row must not cost the whole listing
        pid, ppid, user, rss, nlwp, start, ticks, cut = fields[:8]
        args = _CONTROL.sub("?", fields[8].replace("\0", " ")).strip()
        alive = uptime - int(start) / hz
        found.append(
            {
                "pid": int(pid),
                "ppid": int(ppid),
                "user": user,
                "cpu_pct": 0.0,
                "cpu_pct_lifetime": round(100.0 * int(ticks) / hz / alive, 1) if alive > 0 else 0.0,
                "mem_pct": round(100.0 * int(rss) / mem_total, 1) if mem_total else None,
                "rss_kb": int(rss),
                "threads": int(nlwp),
                "command": command_name(args),
                "args": shown_args(args, cut == "1"),
            }
        )
    return count, threads, found
