"""Pure log-line analysis for the logs probe: entries, error selection, normalisation, groups.

A file entry is a first line plus its continuation lines (indented stack frames, Python
tracebacks up to their final exception line, `Caused by:`), so one logged exception is one
error. Groups are keyed by the normalised message (timestamps, numbers, hex ids, UUIDs, IPs
and quoted values masked) per source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ssh_probes.probes import logwords
from ssh_probes.redact import redact

S = TypeVar("S")

EXAMPLE_CHARS = 300
TRACE_LINES = 12

_STACK = re.compile(
    r"Traceback \(most recent call last\)"
    r"|^\s+at [\w$.<>/]+\([\w$.\-]+\.(?:java|kt|scala|groovy):\d+\)"
    r"|Exception in thread \""
    r"|^goroutine \d+ \[running\]:",
    re.M,
)
_TIMEOUT = re.compile(
    r"ETIMEDOUT|ESOCKETTIMEDOUT|timed out|timeout|deadline exceeded|DeadlineExceeded"
    r"|connection reset|ECONNRESET",
    re.I,
)
_CONTINUES = re.compile(
    r"^(?:\s|Caused by:|During handling of the above exception|The above exception was the "
    r"direct cause|\.\.\. \d+ more)"
)
_TRACEBACK = "Traceback (most recent call last)"

_STAMPS = [
    # 2026-11-25 11:40:57,123 / 2026-11-25T11:40:57.123456+00:00 / [2026-11-25 11:40:57]
    re.compile(
        r"^\[?(?P<d>\d{4}-\d{2}-\d{2})[T ](?P<t>\d{2}:\d{2}:\d{2})(?:[.,](?P<f>\d+))?"
        r"(?P<z>Z|[+-]\d{2}:?\d{2})?\]?\s*"
    ),
    # nginx error_log: 2026/11/25 11:40:57
    re.compile(r"^(?P<d>\d{4}/\d{2}/\d{2}) (?P<t>\d{2}:\d{2}:\d{2})\s*"),
]
_SYSLOG = re.compile(r"^(?P<s>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2})\s+")

_MASKS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<uuid>",
    ),
    (
        re.compile(
            r"\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
        ),
        "<ts>",
    ),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (
        # IPv6, `::` compression included (times were masked above, so h:m:s is gone).
        re.compile(r"\[?(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{1,4}\b\]?(?::\d+)?"),
        "<ip>",
    ),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "'<v>'"),
    (re.compile(r"\d+"), "<n>"),
]


def split_stamp(line: str) -> tuple[str | None, str]:
    """('2026-11-25T11:40:57.123', rest) when the line starts with a timestamp we know."""
    for pattern in _STAMPS:
        if m := pattern.match(line):
            parts = m.groupdict()
            frac = f".{parts['f']}" if parts.get("f") else ""
            stamp = f"{parts['d'].replace('/', '-')}T{parts['t']}{frac}{parts.get('z') or ''}"
            return stamp, line[m.end() :]
    if m := _SYSLOG.match(line):
        return m["s"], line[m.end() :]
    return None, line


def normalise(message: str) -> str:
    """The message with its variable parts masked, so repeats of one error compare equal."""
    for pattern, mask in _MASKS:
        message = pattern.sub(mask, message)
    return " ".join(message.split())[:EXAMPLE_CHARS]


def is_error(text: str) -> bool:
    """True when an entry (first line and continuation) is at an error level."""
    return logwords.is_error(text)


def has_stack(text: str) -> bool:
    """True for a Python traceback, Java/Kotlin frames, `Exception in thread`, a Go panic."""
    return bool(_STACK.search(text))


def is_timeout(text: str) -> bool:
    """True when the error is a timeout or a reset connection."""
    return bool(_TIMEOUT.search(text))


def entries(
    items: Sequence[tuple[S, str]], *, all_errors: bool = False
) -> list[list[tuple[S, str]]]:
    """(tag, line) items grouped into entries: a first line and the continuation lines
    that follow it (the tag, e.g. a journal timestamp, travels with its line).

    A traceback continues the entry before it when that entry is an error (`logging.exception`
    prints the message, then the traceback); `all_errors` says every line is (journal err).
    """
    out: list[list[tuple[S, str]]] = []
    in_trace = False
    for tag, line in items:
        if not line.strip():
            continue
        if out and line.startswith(_TRACEBACK) and (all_errors or is_error(out[-1][0][1])):
            out[-1].append((tag, line))
            in_trace = True
        elif out and _CONTINUES.match(line):
            out[-1].append((tag, line))
            in_trace = in_trace or line.startswith(("During handling", "The above exception"))
        elif out and in_trace:
            out[-1].append((tag, line))  # the exception line that ends a Python traceback
            in_trace = False
        else:
            out.append([(tag, line)])
            in_trace = line.startswith(_TRACEBACK)
    return out


def headline(lines: list[str]) -> str:
    """The line that names the error: the first, or a bare traceback's exception line."""
    if lines[0].startswith(_TRACEBACK):
        tail = [x for x in lines[1:] if not x[:1].isspace()]
        return tail[-1] if tail else lines[0]
    return lines[0]


@dataclass
class Groups:
    """Error groups keyed by (source, normalised message), in order of first appearance."""

    groups: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    errors: int = 0
    stack_traces: int = 0
    first_trace: dict[str, Any] | None = None
    noise: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    noise_total: int = 0

    def add_noise(self, source: str, message: str) -> None:
        """Count one line of known noise (sshd scanners): kept apart, never an error."""
        self.noise_total += 1
        message = redact(message)
        key = (source, normalise(message))
        group = self.noise.setdefault(
            key,
            {"message": key[1], "example": message[:EXAMPLE_CHARS], "source": source, "count": 0},
        )
        group["count"] += 1

    def top_noise(self, n: int) -> list[dict[str, Any]]:
        """The n biggest noise groups, biggest first."""
        return sorted(self.noise.values(), key=lambda g: -int(g["count"]))[:n]

    def add(
        self, source: str, stamp: str | None, message: str, full_text: str, by: str = "content"
    ) -> None:
        """Count one error entry (message: its headline without timestamp; full_text: all).

        `by` says how it was found: `priority` (journal err or worse) or `content` (its words).
        """
        self.errors += 1
        message, full_text = redact(message), redact(full_text)
        key = (source, normalise(message))
        stack = has_stack(full_text)
        if stack:
            self.stack_traces += 1
            if self.first_trace is None:
                lines = [x[:EXAMPLE_CHARS] for x in full_text.splitlines()]
                self.first_trace = {"source": source, "at": stamp, "lines": lines[:TRACE_LINES]}
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = {
                "message": key[1],
                "example": message[:EXAMPLE_CHARS],
                "source": source,
                "count": 0,
                "first_seen": stamp,
                "last_seen": stamp,
                "timeout": is_timeout(full_text),
                "stack_trace": False,
                "found_by": by,
            }
        group["count"] += 1
        group["stack_trace"] = group["stack_trace"] or stack
        if stamp is not None:
            group["first_seen"] = group["first_seen"] or stamp
            group["last_seen"] = stamp

    def top(self, n: int) -> list[dict[str, Any]]:
        """The n biggest groups, biggest first (ties: first seen first)."""
        ordered = sorted(self.groups.values(), key=lambda g: -int(g["count"]))
        return ordered[:n]

    def only_timeouts(self) -> bool:
        """Every error is a timeout and none carries a stack trace (the seed's network hint)."""
        return (
            bool(self.groups)
            and self.stack_traces == 0
            and all(g["timeout"] for g in self.groups.values())
        )
