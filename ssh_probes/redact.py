"""Secret redaction, applied before anything is stored, posted or logged.

It lives in the lowest layer so probes (process arguments), commands (URLs) and the bot
(storage, Slack, logs) all use the same rules.
"""

from __future__ import annotations

import re

MASK = "[REDACTED]"

# Order matters: whole blocks first, then key=value forms, then bare token shapes.
# Runs before a keyword are bounded ({0,64}, not *): unbounded, a long run of such characters
# ("a.a.a...", "-----", "--password--password...") backtracks quadratically or worse, and this
# runs on up to a megabyte of probe output on the event loop.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?"
            r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
            re.S,
        ),
        f"-----BEGIN PRIVATE KEY-----{MASK}-----END PRIVATE KEY-----",
    ),
    # Authorization / Cookie headers: keep the scheme word, drop the credential.
    (
        re.compile(r"(?i)\b(authorization|proxy-authorization)(\s*[:=]\s*)(\w+\s+)?[^\s'\"]+"),
        rf"\1\2\3{MASK}",
    ),
    (re.compile(r"(?i)\b(cookie|set-cookie)(\s*:\s*)[^\r\n]+"), rf"\1\2{MASK}"),
    # user:password@ in URLs.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,31}://)([^/\s:@]*):([^/\s@]+)@"), rf"\1\2:{MASK}@"),
    # curl -u user:pass, --user user:pass; `docker login -p X`; redis --requirepass X.
    (re.compile(r"(\s(?:-u|--user)[\s=]+['\"]?)([^\s:'\"/]+):(?!//)([^\s'\"]+)"), rf"\1\2:{MASK}"),
    (re.compile(r"(?i)(\blogin\b[^\n]*?\s-p\s+)[^\s'\"]+"), rf"\1{MASK}"),
    (re.compile(r"(?i)(--?requirepass[\s=]+)[^\s'\"]+"), rf"\1{MASK}"),
    # --password=x, --password x, password=x, PGPASSWORD=x, api_key: x, token=x ...
    (
        re.compile(
            r"(?i)(--?(?!-)[a-z0-9_-]{0,64}(?:password|passwd|secret|token|api[_-]?key)[a-z0-9_-]{0,64})"
            r"(=|\s+)"
            r"(['\"]?)(?!-)[^\s'\"&]+\3"
        ),
        rf"\1\2\3{MASK}\3",
    ),
    (
        re.compile(
            r"(?i)\b([a-z0-9_.-]{0,64}"
            r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)[a-z0-9_]{0,64})"
            r"(['\"]?\s*[=:]\s*)(['\"]?)[^\s'\"&,;]+\3"
        ),
        rf"\1\2\3{MASK}\3",
    ),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}"), MASK),
    (re.compile(r"\bxapp-[A-Za-z0-9-]{8,}"), MASK),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), MASK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), MASK),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}\b"), MASK),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"), MASK),
    (re.compile(r"\bdckr_pat_[A-Za-z0-9_-]{10,}"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), MASK),
]


# The key=value patterns still cost ~64 steps at each start on long runs of name characters;
# a linear search for their keywords first skips them on the (most) text that has none.
_KEYWORD = re.compile(r"(?i)passw|pwd|secret|token|api[_-]?key|access[_-]?key")
_KEYED = frozenset(p for p, _ in _PATTERNS if "password" in p.pattern)


def redact(text: str) -> str:
    """Return `text` with every secret we recognise replaced by [REDACTED]."""
    if not text:
        return text
    keyed = _KEYWORD.search(text) is not None
    for pattern, replacement in _PATTERNS:
        if keyed or pattern not in _KEYED:
            text = pattern.sub(replacement, text)
    return text
