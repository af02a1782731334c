"""Errors in the journal and in the host's registered log files, grouped with counts.

The journal part is `journalctl -p err --since "-{log_window_min}min" -o json` (the most
recent `log_tail_lines` entries), then the same window at priorities warning..debug: journald
stores a service's stdout/stderr at info, so those entries are errors by their words, as
file lines are. sshd scanner noise is counted apart (logtext.Groups.noise). Each registered
`--log` file contributes its last `log_tail_lines` lines (`tail -n N -- FILE`; the paths are
argv elements of a fixed script, never shell text). File lines carry no reliable time, so
the window applies to the journal only. A missing or unreadable file is reported per file;
no journal and no file at all is `available: False`. Lines are redacted before they become facts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ssh_probes.model import SLOW_LIMIT_S, CommandResult, Facts, HostTarget, Probe, ProbeConfig
from ssh_probes.probes import logtext, logwords

MARK = "@@tb "
TOP_GROUPS = 20
TOP_NOISE = 5
ERR_PRIORITY = 3  # syslog err; emerg..err are 0..3

# Host CPU (issue 18): as the kernel probe does, journalctl (~9 ms of CPU to start) runs only
# when journal files exist where it reads them by default; the glob is the shell's own.
SCRIPT = r"""
win=$1; n=$2; shift 2
fields=MESSAGE,PRIORITY,_SYSTEMD_UNIT,SYSLOG_IDENTIFIER,_COMM
j=
for f in /run/log/journal/*/*.journal* /var/log/journal/*/*.journal*; do
  [ -e "$f" ] && j=1 && break
done
if ! command -v journalctl >/dev/null 2>&1; then
  echo "@@tb journal-unavailable journalctl: not found"
elif [ -z "$j" ]; then
  echo "@@tb journal-unavailable no journal files visible under /run/log/journal or \
/var/log/journal (no journal, or no access)"
elif journalctl -q -n 1 -o json --no-pager 2>/dev/null | grep -q '^{'; then
  of=""
  journalctl -q -n 0 --output-fields=$fields >/dev/null 2>&1 && of="--output-fields=$fields"
  echo "@@tb journal"
  journalctl -q -p err --since "-${win}min" -o json $of --no-pager 2>&1 | tail -n "$n"
  echo "@@tb journal-output"
  journalctl -q -p 4..7 --since "-${win}min" -o json $of --no-pager 2>&1 | tail -n "$n"
else
  echo "@@tb journal-unavailable no journal entries readable (no journal, or no access)"
fi
for f in "$@"; do
  if [ ! -e "$f" ]; then echo "@@tb file-missing $f"
  elif [ -d "$f" ]; then echo "@@tb file-unreadable $f"
  elif [ ! -r "$f" ]; then echo "@@tb file-unreadable $f"
  else
    echo "@@tb file $f"
    tail -n "$n" -- "$f"
    rc=$?
    echo
    echo "@@tb file-end $rc"
  fi
done
"""

JOURNAL_HINT = (
    "No journal to read: add the bot's user to the systemd-journal (or adm) group, or "
    "register the service's log files with `triagebot hosts add ... --log PATH`."
)


def _sections(stdout: str) -> list[tuple[str, str, list[str]]]:
    """(kind, argument, body lines) for each marker the script printed."""
    sections: list[tuple[str, str, list[str]]] = []
    for line in stdout.splitlines():
        if line.startswith(MARK):
            kind, _, arg = line[len(MARK) :].partition(" ")
            sections.append((kind, arg, []))
        elif sections:
            sections[-1][2].append(line)
    return sections


def _stamp(ts: object) -> str | None:
    if not ts:
        return None
    return datetime.fromtimestamp(int(str(ts)) / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _message(entry: dict[str, Any]) -> str:
    msg = entry.get("MESSAGE")
    if isinstance(msg, list):  # journald stores non-UTF-8 payloads as byte arrays
        msg = bytes(msg).decode("utf-8", "replace")
    return str(msg or "")


def _journal(
    body: list[str], groups: logtext.Groups, facts: dict[str, Any], *, by_priority: bool
) -> dict[str, Any]:
    """Journal entries: at err or worse (`by_priority`), or any other whose words say error.

    Consecutive lines of one source are joined back into one entry when they continue it (a
    service's traceback on stderr is one entry per line in the journal).
    """
    by_source: dict[str, list[tuple[str | None, str]]] = {}
    notes: list[str] = list(facts.get("notes", []))
    for line in body:
        if not line.startswith("{"):
            if line.strip():
                notes.append(line.strip()[:200])
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        facts["entries"] = facts.get("entries", 0) + 1
        if by_priority and int(entry.get("PRIORITY", ERR_PRIORITY)) > ERR_PRIORITY:
            continue
        source = str(
            entry.get("_SYSTEMD_UNIT")
            or entry.get("SYSLOG_IDENTIFIER")
            or entry.get("_COMM")
            or "journal"
        )
        stamp = _stamp(entry.get("__REALTIME_TIMESTAMP"))
        lines = by_source.setdefault(f"journal:{source}", [])
        lines.extend((stamp, x) for x in _message(entry).splitlines())
    for source, items in by_source.items():
        for entry_items in logtext.entries(items, all_errors=by_priority):
            texts = [x for _, x in entry_items]
            text = "\n".join(texts)
            if logwords.is_sshd_noise(source, text):
                groups.add_noise(source, texts[0])
            elif by_priority or logtext.is_error(text):
                by = "priority" if by_priority else "content"
                groups.add(source, entry_items[0][0], logtext.headline(texts), text, by)
    facts["available"] = True
    facts.setdefault("entries", 0)
    if notes:
        facts["notes"] = notes[:5]
    return facts


def _file(path: str, body: list[str], groups: logtext.Groups) -> dict[str, Any]:
    lines = [x for x in body if x.strip()]
    errors_before = groups.errors
    for entry_items in logtext.entries([(None, x) for x in lines]):
        texts = [x for _, x in entry_items]
        text = "\n".join(texts)
        if logwords.is_sshd_noise(path, text):
            groups.add_noise(path, texts[0])
            continue
        if not logtext.is_error(text):
            continue
        stamp, rest = logtext.split_stamp(logtext.headline(texts))
        groups.add(path, stamp, rest, text)
    return {
        "path": path,
        "status": "read",
        "lines": len(lines),
        "errors": groups.errors - errors_before,
    }


def make_parser(config: ProbeConfig) -> Callable[[CommandResult], Facts]:
    """A parser that records the window and tail size it was built with."""

    def parse(result: CommandResult) -> Facts:
        """Error groups from the journal and each file, with the stack/timeout picture."""
        sections = _sections(result.stdout)
        if not sections:
            raise ValueError(result.stderr.strip() or f"no log sections in {result.stdout[:80]!r}")
        groups = logtext.Groups()
        journal: dict[str, Any] = {"available": False, "why": "not read"}
        files: list[dict[str, Any]] = []
        for kind, arg, body in sections:
            if kind == "journal":
                journal = _journal(body, groups, {}, by_priority=True)
            elif kind == "journal-output" and journal.get("available"):
                journal = _journal(body, groups, journal, by_priority=False)
            elif kind == "journal-unavailable":
                journal = {"available": False, "why": arg.strip(), "hint": JOURNAL_HINT}
            elif kind == "file":
                files.append(_file(arg, body, groups))
            elif kind == "file-end" and files and arg.strip() != "0":
                files[-1]["status"] = f"tail exited {arg.strip()}"
            elif kind in ("file-missing", "file-unreadable"):
                files.append({"path": arg, "status": kind.removeprefix("file-")})
        if not journal["available"] and not files:
            return {"available": False, "why": journal["why"], "hint": JOURNAL_HINT}
        return {
            "window_min": config.log_window_min,
            "tail_lines": config.log_tail_lines,
            "journal": journal,
            "files": files,
            "errors_total": groups.errors,
            "groups_total": len(groups.groups),
            "groups": groups.top(TOP_GROUPS),
            "stack_traces": groups.stack_traces,
            "first_trace": groups.first_trace,
            "only_timeouts": groups.only_timeouts(),
            "noise_total": groups.noise_total,
            "noise": groups.top_noise(TOP_NOISE),
        }

    return parse


def _log_paths(host: HostTarget) -> list[str]:
    return list(host.logs)


def probe(config: ProbeConfig) -> Probe:
    """The logs probe under `config` (window and tail size are fixed numbers, not user text)."""
    return Probe(
        name="logs",
        area="logs",
        command=(
            "sh",
            "-c",
            SCRIPT,
            "sh",
            str(int(config.log_window_min)),
            str(int(config.log_tail_lines)),
        ),
        parse=make_parser(config),
        timeout_s=SLOW_LIMIT_S,
        args=_log_paths,
    )
