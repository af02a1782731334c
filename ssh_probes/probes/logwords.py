"""The words that make a log line an error, and the sshd scanner noise that is not one.

ERROR_ERE and NOT_ERROR_ERE are POSIX extended regular expressions that Python's `re` reads
the same way (no `\\b`, no classes like `[[:alpha:]]`, which busybox/musl grep or Python lack),
so the grep a finding suggests (`grep -i -E ERROR_ERE FILE | grep -v -i -E NOT_ERROR_ERE`)
finds exactly the lines the detector counted. Both are case-insensitive.
"""

from __future__ import annotations

import re
import shlex

_EDGE_L = "(^|[^a-z0-9_])"
_EDGE_R = "([^a-z0-9_]|$)"
_QUIET = "(info|debug|trace|notice|warn|warning)"

# A level word on its own, an exception or error class name (`IllegalStateException`,
# `TypeError:`), or a Python traceback.
ERROR_ERE = (
    f"{_EDGE_L}(error|fatal|critical|crit|severe|emerg|alert|panic){_EDGE_R}"
    f"|exception{_EDGE_R}"
    "|error:"
    "|traceback [(]most recent call last[)]"
)
# A line that says its own level and it is a quiet one: `level=info msg="... error=nil"`,
# `"level":"debug"`, `[info]`, or a timestamp followed by INFO / WARN.
NOT_ERROR_ERE = (
    f'level"?[=:] *"?{_QUIET}{_EDGE_R}'
    f"|\\[{_QUIET}\\]"
    f"|^[0-9tz:.,/+ -]*[] [](info|debug|trace|notice|warn|warning) "
)

_ERROR = re.compile(ERROR_ERE, re.I)
_NOT_ERROR = re.compile(NOT_ERROR_ERE, re.I)

# Internet background noise on any host with port 22 open: scanners that connect and drop,
# guess users and passwords. Grouped apart, never an incident by themselves.
_SSHD_ONLY = re.compile(
    r"kex_exchange_identification|banner exchange|Did not receive identification string"
    r"|\[preauth\]|Bad protocol version identification|ssh_dispatch_run_fatal",
    re.I,
)
_SSHD_NOISE = re.compile(
    r"Connection reset by peer|Connection closed by|Invalid user|Failed password|Failed publickey"
    r"|Failed none|authentication failure|maximum authentication attempts exceeded"
    r"|Unable to negotiate|Timeout before authentication|Disconnected from|Received disconnect"
    r"|Connection timed out during banner|not allowed because|invalid format|Broken pipe",
    re.I,
)
_SSHD_SOURCE = re.compile(r"(^|[^a-z])sshd?([^a-z]|$)|auth\.log|/secure(\.\d+)?$", re.I)


def is_error(text: str) -> bool:
    """True when an entry names an error and its first line does not say a quieter level."""
    first = text.split("\n", 1)[0]
    return bool(_ERROR.search(text)) and not _NOT_ERROR.search(first)


def is_sshd_noise(source: str, text: str) -> bool:
    """True for scanner noise logged by sshd (a real sshd failure, e.g. bind, is not noise)."""
    if _SSHD_ONLY.search(text):
        return True
    return bool(_SSHD_SOURCE.search(source) or "sshd[" in text) and bool(_SSHD_NOISE.search(text))


def grep_command(path_or_stdin: str | None = None) -> str:
    """`grep -i -E '...' -- FILE | grep -v -i -E '...'`: the lines is_error selects."""
    where = f" -- {shlex.quote(path_or_stdin)}" if path_or_stdin else ""
    return (
        f"grep -n -i -E {shlex.quote(ERROR_ERE)}{where} "
        f"| grep -v -i -E {shlex.quote(NOT_ERROR_ERE)}"
    )
