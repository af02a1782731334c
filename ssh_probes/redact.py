"""Secret redaction, applied before anything is stored, posted or logged.

It lives in the lowest layer so probes (process arguments), commands (URLs) and the bot
(storage, Slack, logs) all use the same rules. The shapes are in redact_patterns.py; only the
secret itself is replaced by [REDACTED], so names stay (`DB_PASS=[REDACTED]`) and JSON stays
JSON. A `Redactor` also remembers the distinct values it hid, so a report can say
"3 secrets hidden".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from ssh_probes.redact_patterns import PATTERNS, SECRET_NAME, Needs, Shape

MASK = "[REDACTED]"
# Values that are settings, not secrets, under a secret-sounding key (`"password_auth": "no"`).
_SETTINGS = frozenset({"yes", "no", "true", "false", "on", "off", "null", "none"})

# Each regex scan of a large probe output costs milliseconds, and most outputs hold none of
# these shapes, or hold them on a few lines: a pattern runs only on the lines that contain one
# of its literals (a plain substring search of the lower-cased text) or a match of its hint
# regex, and a multi-line pattern only when the text contains one. Only for ASCII text: there
# str.lower() agrees with the patterns' (?i) matching, where Unicode folding would not
# (U+017F LONG S matches "s" under (?i) but lowers to itself); other text runs every pattern
# on the whole text.


def _line(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end < 0 else end


Spans = list[tuple[int, int]]


def _back(text: str, start: int, lines: int) -> int:
    """The start of the line `lines` lines above the one starting at `start`."""
    for _ in range(lines):
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
    return start


def _merged(spans: Spans) -> Spans:
    out: Spans = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _lines_of(literal: str, text: str, lower: str) -> Spans:
    spans = []
    pos = lower.find(literal)
    while pos >= 0:
        span = _line(text, pos)
        spans.append(span)
        pos = lower.find(literal, span[1])
    return spans


def _lines_with(needs: Needs, text: str, lower: str, seen: dict[str, Spans]) -> Spans:
    """(start, end) of each line of `text` that holds one of `needs`, in order.

    `seen` caches each literal's lines for this version of the text (shapes share literals).
    """
    if isinstance(needs, re.Pattern):
        spans = []
        m = needs.search(text)
        while m is not None:
            spans.append(_line(text, m.start()))
            m = needs.search(text, spans[-1][1])
        return spans
    found: set[tuple[int, int]] = set()
    for literal in needs:
        if literal not in seen:
            seen[literal] = _lines_of(literal, text, lower)
        found.update(seen[literal])
    return sorted(found)


def _masker(hidden: set[str] | None) -> Callable[[re.Match[str]], str]:
    """A re.sub callback that replaces the match's secret group (v, v2, ...) with MASK."""

    def mask(m: re.Match[str]) -> str:
        for name, value in m.groupdict().items():
            if value is None or not (name == "v" or (name[0] == "v" and name[1:].isdigit())):
                continue
            if MASK in value:  # a more specific pattern already hid its secret part
                return m.group(0)
            if hidden is not None:
                hidden.add(value)
            start, end = m.span(name)
            at, whole = m.start(), m.group(0)
            return whole[: start - at] + MASK + whole[end - at :]
        return m.group(0)

    return mask


def _apply(
    shape: Shape,
    text: str,
    lower: str | None,
    mask: Callable[[re.Match[str]], str],
    seen: dict[str, Spans],
) -> str:
    if lower is None:
        return shape.pattern.sub(mask, text)
    if shape.multiline:
        if isinstance(shape.needs, re.Pattern):
            found = shape.needs.search(text) is not None
        else:
            found = any(n in lower for n in shape.needs)
        return shape.pattern.sub(mask, text) if found else text
    spans = _lines_with(shape.needs, text, lower, seen)
    if not spans:
        return text
    if shape.lines_before:
        spans = _merged([(_back(text, s, shape.lines_before), e) for s, e in spans])
    pieces, done = [], 0
    for start, end in spans:
        pieces += [text[done:start], shape.pattern.sub(mask, text[start:end])]
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


@cache
def _any_need() -> tuple[re.Pattern[str], tuple[re.Pattern[str], ...]]:
    """Every shape's literals as one regex, and the shapes' hint regexes (built on first use:
    start-up pays nothing)."""
    literals = {n for shape in PATTERNS if not isinstance(shape.needs, re.Pattern)
                for n in shape.needs}  # fmt: skip
    hints = tuple({s.needs for s in PATTERNS if isinstance(s.needs, re.Pattern)})
    alternation = "|".join(re.escape(n) for n in sorted(literals, key=len, reverse=True))
    return re.compile(alternation or "(?!)"), hints


def _redact(text: str, hidden: set[str] | None) -> str:
    if not text:
        return text
    lower = text.lower() if text.isascii() else None
    if lower is not None:
        # Most strings (a report's facts: thousands of short values) hold no shape's literal
        # and no hint: one search answers for every shape, each of which would leave the text
        # as it is (issue 18: redaction was a third of the bot's CPU at 20 commands/s).
        literals, hints = _any_need()
        if literals.search(lower) is None and not any(h.search(text) for h in hints):
            return text
    mask = _masker(hidden)
    seen: dict[str, Spans] = {}
    for shape in PATTERNS:
        out = _apply(shape, text, lower, mask, seen)
        if out != text:
            text, seen = out, {}
            lower = text.lower() if lower is not None else None
    return text


def redact(text: str) -> str:
    """Return `text` with every secret we recognise replaced by [REDACTED]."""
    return _redact(text, None)


class Redactor:
    """Redacts texts and nested data, counting the distinct secret values it hid."""

    def __init__(self) -> None:
        self.hidden: set[str] = set()

    @property
    def count(self) -> int:
        """How many distinct values were hidden so far."""
        return len(self.hidden)

    def text(self, text: str) -> str:
        """`text` redacted."""
        return _redact(text, self.hidden)

    def data(self, value: Any) -> Any:
        """`value` with every string in it (dict keys too, lists, tuples) redacted.

        A string under a key that names a secret (`{"token": "..."}`) is hidden whole.
        """
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.data(k): self._item(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.data(v) for v in value)
        return value

    def _item(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and isinstance(value, str) and value and MASK not in value:
            if SECRET_NAME.fullmatch(key) and value.lower() not in _SETTINGS:
                self.hidden.add(value)
                return MASK
        return self.data(value)


def redact_data(value: Any) -> Any:
    """`value` with every string in it redacted (JSON-like data: dicts, lists, strings)."""
    return Redactor().data(value)
