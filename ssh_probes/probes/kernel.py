"""The kernel log: OOM kills and the other incidents only the kernel reports.

Read with `journalctl -k -o json` or, without a readable journal, dmesg. Besides OOM kills
(`events`), the lines of hung tasks, soft lockups, block I/O errors, filesystems remounted
read-only, a full conntrack table, SYN floods (a full listen queue) and the file-max limit
are counted per kind (`signals`), with the newest few kept as samples.

The lookback is a fixed LOOKBACK_H (24 h), longer than the log window: an OOM kill hours ago
still explains a service that restarted or lost state. `journalctl -k` implies the current
boot; dmesg holds what its ring buffer still has, and events older than the lookback are
dropped when their time is known. The script prints one header line with the host's clock
(`now EPOCH ZONE UPTIME`) so boot-relative dmesg stamps and `dmesg -T` local times become
ages; without it (output captured elsewhere) ages are unknown.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ssh_probes.model import QUICK_LIMIT_S, CommandResult, Facts, Probe
from ssh_probes.redact import redact

LOOKBACK_H = 24
MAX_EVENTS = 20
MAX_LINES = 500  # the newest matching lines: an I/O error storm prints thousands
MAX_SAMPLES = 3
MARK = "@@tb "

# grep -E keeps the output bounded: only the lines we read (OOM kills and SIGNALS below).
# Host CPU (issue 18): one `date`, uptime read by the shell, journalctl only when journal
# files exist where it reads them by default, and `dmesg -T` read once, not once to test and
# once to print; the output is byte for byte what the longer script printed.
SCRIPT = r"""
read -r up _ </proc/uptime
echo "@@tb now $(date '+%s %z') $up"
pat='invoked oom-killer|oom-kill:|Out of memory|Killed process|blocked for more than'
pat="$pat|soft lockup|I/O error|Remounting filesystem read-only|forced readonly"
pat="$pat|table full, dropping packet|SYN flooding|file-max limit"
j=
for f in /run/log/journal/*/*.journal* /var/log/journal/*/*.journal*; do
  [ -e "$f" ] && j=1 && break
done
if [ -n "$j" ] && command -v journalctl >/dev/null 2>&1 &&
   journalctl -k -q -n 1 -o json --no-pager 2>/dev/null | grep -q '^{'; then
  echo "@@tb source journal"
  journalctl -k -q -o json --no-pager --since "-$1h" 2>&1 | grep -E "$pat" | tail -n "$2"
  exit 0
fi
if ! command -v dmesg >/dev/null 2>&1; then
  echo "@@tb unavailable no kernel journal readable; dmesg: not found"; exit 0
fi
if k=$(dmesg -T 2>/dev/null); then
  echo "@@tb source dmesg-T"; printf '%s\n' "$k" | grep -E "$pat" | tail -n "$2"; exit 0
fi
if err=$(dmesg 2>&1 >/dev/null); then
  echo "@@tb source dmesg"; dmesg | grep -E "$pat" | tail -n "$2"; exit 0
fi
echo "@@tb unavailable no kernel journal readable; $err"
"""

HINT = (
    "Run the bot's user as root on this host, or add it to the systemd-journal group "
    "(journalctl -k), or set kernel.dmesg_restrict=0 (dmesg)."
)

_RAW = re.compile(r"^\[\s*(\d+\.\d+)\]\s?(.*)$")
_HUMAN = re.compile(r"^\[([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4})\]\s?(.*)$")
_KILLED = re.compile(
    r"(?:(?P<scope>Memory cgroup out of memory|Out of memory)[^:]*: )?"
    r"Killed process (?P<pid>\d+) \((?P<name>.+?)\)(?=[, ]|$)"
)
_FIGURES = ("total-vm", "anon-rss", "file-rss", "shmem-rss")
_OOM_KILL = re.compile(r"oom-kill:(?P<fields>\S+)")
_INVOKED = re.compile(r"^(?P<comm>.+?) invoked oom-killer:")
# kind -> what the kernel prints, with the subject (task, device, port) as group 1.
SIGNALS: dict[str, re.Pattern[str]] = {
    "hung_task": re.compile(r"INFO: task (\S+?:\d+) blocked for more than \d+ seconds"),
    "soft_lockup": re.compile(r"soft lockup - CPU#\d+ stuck for \d+s! \[(\S+?:\d+)\]"),
    "io_error": re.compile(r"(?:I/O error, dev |Buffer I/O error on dev(?:ice)? )([\w.-]+)"),
    "fs_readonly": re.compile(
        r"(?:\(([\w.-]+)\): Remounting filesystem read-only"
        r"|\(device ([\w.-]+)\).*forced readonly)"
    ),
    "conntrack_full": re.compile(r"nf_conntrack: table full, dropping packet()"),
    "syn_flood": re.compile(r"SYN flooding on port (\S+?)\.(?:\s|$)"),
    "file_max": re.compile(r"VFS: file-max limit (\d+) reached"),
}
_CONTAINER = re.compile(r"(?:/docker/|docker-|/libpod-|cri-containerd-|crio-)([0-9a-f]{12,64})")


def _zone(text: str) -> timezone:
    sign = -1 if text.startswith("-") else 1
    return timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[3:5])))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lines(source: str, body: list[str], clock: dict[str, Any]) -> list[tuple[float | None, str]]:
    """(epoch or None, message) for each kernel line, whatever the source printed."""
    out: list[tuple[float | None, str]] = []
    for line in body:
        if source == "journal" or line.startswith("{"):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            msg = entry.get("MESSAGE")
            if isinstance(msg, list):  # journald stores non-UTF-8 payloads as byte arrays
                msg = bytes(msg).decode("utf-8", "replace")
            ts = entry.get("__REALTIME_TIMESTAMP")
            out.append((int(ts) / 1e6 if ts else None, str(msg or "")))
        elif m := _RAW.match(line):
            stamp = float(m[1])
            known = clock.get("now") is not None and clock.get("uptime") is not None
            out.append((clock["now"] - (clock["uptime"] - stamp) if known else None, m[2]))
        elif m := _HUMAN.match(line):
            when = datetime.strptime(m[1], "%a %b %d %H:%M:%S %Y")
            tz = clock.get("tz")
            out.append((when.replace(tzinfo=tz).timestamp() if tz else None, m[2]))
        elif line.strip():
            out.append((None, line.strip()))
    return out


def _events(lines: list[tuple[float | None, str]], now: float | None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    memcg: dict[int, dict[str, str]] = {}
    trigger = None
    for when, msg in lines:
        if m := _INVOKED.match(msg):
            trigger = m["comm"]
            continue
        if m := _OOM_KILL.search(msg):
            fields = dict(kv.split("=", 1) for kv in m["fields"].split(",") if "=" in kv)
            if fields.get("pid", "").isdigit():
                memcg[int(fields["pid"])] = fields
            continue
        k = _KILLED.search(msg)
        if k is None:
            continue
        pid = int(k["pid"])
        info = memcg.pop(pid, {})
        cgroup = info.get("task_memcg") or None
        container = _CONTAINER.search(cgroup or "")
        event: dict[str, Any] = {
            "time": _iso(when) if when is not None else None,
            "age_s": int(now - when) if now is not None and when is not None else None,
            "process": k["name"],
            "pid": pid,
            "scope": "cgroup" if (k["scope"] or "").startswith("Memory cgroup") else "system",
            "cgroup": cgroup,
            "container": container[1][:12] if container else None,
            "constraint": info.get("constraint"),
            "trigger": trigger,
        }
        for key in _FIGURES:
            fig = re.search(rf"{key}:(\d+)kB", msg)
            event[key.replace("-", "_") + "_kb"] = int(fig[1]) if fig else None
        event["message"] = redact(msg)[:300]
        events.append(event)
        trigger = None
    return events


def _signals(lines: list[tuple[float | None, str]], now: float | None) -> dict[str, Any]:
    """Per kind: how many lines, the newest one's time and age, subjects, newest samples."""
    out: dict[str, Any] = {}
    for when, msg in lines:
        for kind, pattern in SIGNALS.items():
            m = pattern.search(msg)
            if m is None:
                continue
            if now is not None and when is not None and now - when > LOOKBACK_H * 3600:
                break
            sig = out.setdefault(kind, {"count": 0, "subjects": [], "samples": []})
            sig["count"] += 1
            subject = next((g for g in m.groups() if g), "")
            if subject and subject not in sig["subjects"]:
                sig["subjects"] = [*sig["subjects"], subject][-10:]
            sig["time"] = _iso(when) if when is not None else None
            sig["age_s"] = int(now - when) if now is not None and when is not None else None
            sig["samples"] = [*sig["samples"], redact(msg)[:300]][-MAX_SAMPLES:]
            break
    return out


def parse(result: CommandResult) -> Facts:
    """OOM kill events (newest last, at most MAX_EVENTS) and the source read."""
    clock: dict[str, Any] = {}
    source = ""
    body: list[str] = []
    for line in result.stdout.splitlines():
        if not line.startswith(MARK):
            body.append(line)
            continue
        word, _, rest = line[len(MARK) :].partition(" ")
        if word == "now":
            parts = rest.split()
            clock = {"now": float(parts[0]), "tz": _zone(parts[1]), "uptime": float(parts[2])}
        elif word == "source":
            source = rest.strip()
        elif word == "unavailable":
            return {"available": False, "why": rest.strip() or "no kernel log", "hint": HINT}
    if result.exit_status not in (0, None) and not source:
        raise ValueError(result.stderr.strip() or f"kernel log script exited {result.exit_status}")
    if not source:
        # Captured without the header (e.g. plain dmesg): name the format from the lines.
        first = next((b for b in body if b.strip()), "")
        source = (
            "journal" if first.startswith("{") else "dmesg-T" if _HUMAN.match(first) else "dmesg"
        )
    now = clock.get("now")
    lines = _lines(source, body, clock)
    events = _events(lines, now)
    if now is not None:
        events = [e for e in events if e["age_s"] is None or e["age_s"] <= LOOKBACK_H * 3600]
    return {
        "source": source,
        "lookback_h": LOOKBACK_H,
        "total": len(events),
        "events": events[-MAX_EVENTS:],
        "signals": _signals(lines, now),
        "capped": len(body) >= MAX_LINES,
    }


KERNEL = Probe(
    name="kernel",
    area="kernel",
    command=("sh", "-c", SCRIPT, "sh", str(LOOKBACK_H), str(MAX_LINES)),
    parse=parse,
    timeout_s=QUICK_LIMIT_S,
)
