"""Secret redaction, applied before anything is stored, posted or logged.

It lives in the lowest layer so probes (process arguments), commands (URLs) and the bot
(storage, Slack, logs) all use the same rules.
"""

from __future__ import annotations

import re

MASK = "[REDACTED]"

# Each entry: a pattern, its replacement, and literals one of which every match must contain.
# Order matters: whole blocks first, then key=value forms, then bare token shapes.
# Runs before a keyword are bounded ({0,64}, not *): unbounded, a long run of such characters
# ("a.a.a...", "-----", "--password--password...") backtracks quadratically or worse, and this
# runs on up to a megabyte of probe output on the event loop.
# Each regex scan of a large probe output costs milliseconds, and most outputs hold none of
# these shapes: a pattern whose literals are all absent from the lower-cased text (a plain
# substring search) is skipped. Only for ASCII text: there str.lower() agrees with the
# patterns' (?i) matching, where Unicode folding would not (U+017F LONG S matches "s" under
# (?i) but lowers to itself).
_KEYWORDS = ("passw", "pwd", "secret", "token", "apikey", "api_key", "api-key", "accesskey",
             "access_key", "access-key")  # fmt: skip
_TOKEN_PREFIXES = ("xox", "xapp-", "akia", "asia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
                   "github_pat_", "glpat-", "dckr_pat_", "eyj")  # fmt: skip

_PATTERNS: list[tuple[re.Pattern[str], str, tuple[str, ...]]] = [
    (
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?"
            r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
            re.S,
        ),
        f"-----BEGIN PRIVATE KEY-----{MASK}-----END PRIVATE KEY-----",
        ("-----begin ",),
    ),
    # Authorization / Cookie headers: keep the scheme word, drop the credential.
    (
        re.compile(r"(?i)\b(authorization|proxy-authorization)(\s*[:=]\s*)(\w+\s+)?[^\s'\"]+"),
        rf"\1\2\3{MASK}",
        ("authorization",),
    ),
    (re.compile(r"(?i)\b(cookie|set-cookie)(\s*:\s*)[^\r\n]+"), rf"\1\2{MASK}", ("cookie",)),
    # user:password@ in URLs.
    (
        re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,31}://)([^/\s:@]*):([^/\s@]+)@"),
        rf"\1\2:{MASK}@",
        ("://",),
    ),
    # curl -u user:pass, --user user:pass; `docker login -p X`; redis --requirepass X.
    (
        re.compile(r"(\s(?:-u|--user)[\s=]+['\"]?)([^\s:'\"/]+):(?!//)([^\s'\"]+)"),
        rf"\1\2:{MASK}",
        ("-u",),
    ),
    (re.compile(r"(?i)(\blogin\b[^\n]*?\s-p\s+)[^\s'\"]+"), rf"\1{MASK}", ("login",)),
    (re.compile(r"(?i)(--?requirepass[\s=]+)[^\s'\"]+"), rf"\1{MASK}", ("requirepass",)),
    # --password=x, --password x, password=x, PGPASSWORD=x, api_key: x, token=x ...
    (
        re.compile(
            r"(?i)(--?(?!-)[a-z0-9_-]{0,64}(?:password|passwd|secret|token|api[_-]?key)[a-z0-9_-]{0,64})"
            r"(=|\s+)"
            r"(['\"]?)(?!-)[^\s'\"&]+\3"
        ),
        rf"\1\2\3{MASK}\3",
        _KEYWORDS,
    ),
    (
        re.compile(
            r"(?i)\b([a-z0-9_.-]{0,64}"
            r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)[a-z0-9_]{0,64})"
            r"(['\"]?\s*[=:]\s*)(['\"]?)[^\s'\"&,;]+\3"
        ),
        rf"\1\2\3{MASK}\3",
        _KEYWORDS,
    ),
    # Bare token shapes, one alternation (one pass over the text instead of eight).
    (
        re.compile(
            r"\b(?:xox[abposr]-[A-Za-z0-9-]{8,}"
            r"|xapp-[A-Za-z0-9-]{8,}"
            r"|(?:AKIA|ASIA)[A-Z0-9]{16}\b"
            r"|gh[pousr]_[A-Za-z0-9]{30,}\b"
            r"|github_pat_[A-Za-z0-9_]{40,}\b"
            r"|glpat-[A-Za-z0-9_-]{20,}\b"
            r"|dckr_pat_[A-Za-z0-9_-]{10,}"
            r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b)"
        ),
        MASK,
        _TOKEN_PREFIXES,
    ),
]


def redact(text: str) -> str:
    """Return `text` with every secret we recognise replaced by [REDACTED]."""
    if not text:
        return text
    lower = text.lower() if text.isascii() else None
    for pattern, replacement, needs in _PATTERNS:
        if lower is None or any(n in lower for n in needs):
            text = pattern.sub(replacement, text)
    return text
