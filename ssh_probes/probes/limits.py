"""Kernel limits and states in one pass over /proc: open files, conntrack, listen overflows,
read-only mounts.

One fixed `sh` script: one shell, two `grep`, one `head` and one `sleep` however many
processes the host has (the per-process work is shell builtins: globbing, `read`); measured
at about 9 ms of CPU on a host of 130 processes:

- `/proc/sys/fs/file-nr`: file handles allocated vs fs.file-max (sysctl files answer only a
  read from offset 0, which the shell's `read` does not do: one `head` prints them, each under
  its `==> path <==` header);
- `/proc/sys/net/netfilter/nf_conntrack_{count,max}` (absent when conntrack is not loaded);
- `/proc/net/netstat` TcpExt, read twice the sample window ("$1") apart: ListenOverflows and
  ListenDrops that grow mean connections dropped at a full accept queue;
- `/proc/mounts` (local writable filesystem types only) and `/etc/fstab`, to tell a mount that
  went read-only from one configured `ro` (one `grep -H` reads them with the first TcpExt);
- every process's open descriptors (the names in `/proc/PID/fd`, counted by globbing) and,
  for those holding at least MIN_FDS, the soft "Max open files" of `/proc/PID/limits`. As
  another user only the bot's own processes are readable: the count left out is reported.

The window's `sleep` starts right after the first TcpExt reading and the per-process walk
runs while it sleeps (issue 18: the walk took ~30 ms of a busy batch's start, which delayed
the window and so the whole triage); the output is the same, in the same order.
"""

from __future__ import annotations

from typing import Any

from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, Probe, ProbeConfig
from ssh_probes.redact import redact

MARK = "@@tb "
MIN_FDS = 32  # below this a process is not read further (its limits file is not opened)
REPORT_PCT = 50.0  # processes at or above this share of their limit are kept in the facts
TOP_FDS = 5  # plus the processes with most descriptors, for context
LOCAL_FS = ("ext2", "ext3", "ext4", "xfs", "btrfs")
_FILES = ("/proc/net/netstat", "/proc/mounts", "/etc/fstab")

SCRIPT = r"""
[ -r /proc/self/limits ] || { echo "@@tb unavailable no /proc/self/limits (not Linux?)"; exit 0; }
exec 2>/dev/null
w=$1 min=$2
read -r up _ < /proc/uptime; echo "@@tb uptime $up"
[ -r /etc/fstab ] && echo "@@tb fstab"
grep -H -E "^TcpExt:|[[:space:]]($3|auto)[[:space:]]" /proc/net/netstat /proc/mounts /etc/fstab
sleep "$w" & sl=$!
echo "@@tb sysctl"
f=/proc/sys/net/netfilter/nf_conntrack_
head -n 1 /proc/sys/fs/file-nr ${f}count ${f}max
echo "@@tb fds"
u=0
for p in /proc/[0-9]*; do
  [ -r $p/fd ] || { u=$((u+1)); continue; }
  set -- $p/fd/*
  [ $# -ge "$min" ] || continue
  l=
  while read -r w1 w2 w3 s _; do
    [ "$w1 $w2 $w3" = "Max open files" ] && { l=$s; break; }
  done < $p/limits
  c=; read -r c < $p/comm
  echo "${p#/proc/} $# ${l:-?} $c"
done
echo "@@tb unreadable $u"
wait "$sl"
read -r up _ < /proc/uptime; echo "@@tb uptime $up"
grep -H "^TcpExt:" /proc/net/netstat
exit 0
"""

HINT = "Read /proc by hand: `cat /proc/sys/fs/file-nr`, `ss -lnt`, `grep ' ro,' /proc/mounts`."


def _tcpext(lines: list[str]) -> dict[str, int]:
    """The TcpExt header and value lines -> {name: value}."""
    if len(lines) < 2:
        return {}
    names, values = lines[0].split(), lines[1].split()
    return {k: int(v) for k, v in zip(names, values, strict=False) if v.lstrip("-").isdigit()}


def _listen(samples: list[tuple[float, dict[str, int]]]) -> Facts | None:
    if len(samples) != 2 or not samples[0][1] or not samples[1][1]:
        return None
    (t0, a), (t1, b) = samples
    out: Facts = {"window_s": round(t1 - t0, 2)}
    for key, name in (("ListenOverflows", "overflows"), ("ListenDrops", "drops")):
        out[name] = max(0, b[key] - a[key]) if key in a and key in b else None
        out[f"{name}_total"] = b.get(key)
    return out


def unescape(path: str) -> str:
    """/proc/mounts octal escapes (`\\040` for a space) -> the real path."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        path = path.replace(code, char)
    return path


def _mounts(mounts: list[str], fstab: list[str] | None) -> Facts:
    rows = [r[:4] for r in (line.split() for line in mounts) if len(r) >= 4 and r[2] in LOCAL_FS]
    writable = {r[0] for r in rows if r[3].split(",")[0] == "rw"}
    entries = (x.split() for x in fstab or [])
    configured = {
        unescape(r[1]): r[3].split(",") for r in entries if len(r) >= 4 and not r[0].startswith("#")
    }
    readonly = []
    for dev, mount, fstype, opts in rows:
        path = unescape(mount)
        if opts.split(",")[0] != "ro" or dev in writable:
            continue  # rw, or a read-only bind of a filesystem that is writable elsewhere
        if "ro" in configured.get(path, []):
            continue  # configured read-only
        readonly.append(
            {"device": dev, "mount": path, "fstype": fstype, "in_fstab": path in configured}
        )
    return {"checked": len(rows), "fstab": fstab is not None, "readonly": readonly}


def _fds(lines: list[str], unreadable: int | None) -> Facts:
    procs: list[dict[str, Any]] = []
    for line in lines:
        parts = line.split(None, 3)
        if len(parts) < 3 or not parts[0].isdigit() or not parts[1].isdigit():
            continue
        limit = int(parts[2]) if parts[2].isdigit() else None
        count = int(parts[1])
        procs.append(
            {
                "pid": int(parts[0]),
                "command": redact(parts[3].strip()) if len(parts) > 3 else "?",
                "open": count,
                "limit": limit,
                "pct": round(100.0 * count / limit, 1) if limit else None,
            }
        )
    near = [p for p in procs if p["pct"] is not None and p["pct"] >= REPORT_PCT]
    top = sorted(procs, key=lambda p: (-p["open"], p["pid"]))[:TOP_FDS]
    keep = {p["pid"]: p for p in [*sorted(near, key=lambda p: -p["pct"]), *top]}
    return {
        "min_open": MIN_FDS,
        "counted": len(procs),
        "unreadable": unreadable,
        "processes": list(keep.values()),
    }


def _sysctl(facts: Facts, line: str, current: list[str]) -> None:
    """One line of `head` over the sysctl files: a `==> path <==` header or a value."""
    if line.startswith("==> ") and line.endswith(" <=="):
        current[:] = [line[4:-4].rsplit("/", 1)[-1]]
        return
    values = line.split()
    name = current[0] if current else "file-nr"  # head prints no header for a single file
    if not values or not all(v.isdigit() for v in values):
        return
    if name == "file-nr" and len(values) == 3:
        facts["file_nr"] = {"allocated": int(values[0]), "max": int(values[2])}
    elif name in ("nf_conntrack_count", "nf_conntrack_max"):
        conntrack = facts["conntrack"] or {}
        conntrack[name.removeprefix("nf_conntrack_")] = int(values[0])
        facts["conntrack"] = conntrack


def parse(result: CommandResult) -> Facts:
    """File handles, conntrack, listen overflows over the window, read-only mounts, fd use."""
    section = ""
    sections: dict[str, list[str]] = {"mounts": [], "fds": []}
    fstab: list[str] | None = None
    samples: list[tuple[float, dict[str, int]]] = []
    tcpext: list[str] = []
    facts: Facts = {"file_nr": None, "conntrack": None}
    unreadable: int | None = None
    sysctl: list[str] = []  # the file whose value comes next
    for line in result.stdout.splitlines():
        source, colon, text = line.partition(":")
        if colon and source in _FILES:
            if source == "/proc/net/netstat":
                tcpext.append(text)
            elif source == "/etc/fstab" and fstab is not None:
                fstab.append(text)
            elif source == "/proc/mounts":
                sections["mounts"].append(text)
            continue
        if not line.startswith(MARK):
            if section == "sysctl":
                _sysctl(facts, line, sysctl)
            elif section == "fds":
                sections["fds"].append(line)
            continue
        word, _, rest = line[len(MARK) :].partition(" ")
        values = rest.split()
        if word == "unavailable":
            return {"available": False, "why": rest.strip(), "hint": HINT}
        if word == "uptime":
            if samples:
                samples[-1] = (samples[-1][0], _tcpext(tcpext))
            tcpext = []
            samples.append((float(values[0]), {}))
        elif word == "unreadable":
            unreadable = int(values[0])
        elif word == "fstab":
            fstab = []
        elif word in ("fds", "sysctl"):
            section = word
    if samples:
        samples[-1] = (samples[-1][0], _tcpext(tcpext))
    if len(samples) != 2 or unreadable is None:
        raise ValueError(f"no /proc readings in {result.stdout[:80]!r}")
    if facts["conntrack"] is not None and len(facts["conntrack"]) != 2:
        facts["conntrack"] = None
    facts["listen"] = _listen(samples)
    facts["mounts"] = _mounts(sections["mounts"], fstab)
    facts["fds"] = _fds(sections["fds"], unreadable)
    return facts


def probe(config: ProbeConfig) -> Probe:
    """The limits probe, reading the listen counters `config.sample_window_s` apart."""
    window = config.window_s
    return Probe(
        name="limits",
        area="kernel",
        command=("sh", "-c", SCRIPT, "sh", f"{window:g}", str(MIN_FDS), "|".join(LOCAL_FS)),
        parse=parse,
        timeout_s=max(QUICK_LIMIT_S, window + 10.0),
    )
