"""The shapes of secrets that ssh_probes.redact hides: one table of patterns.

Each pattern marks the secret itself with a named group `v` (or `v2`, `v3`, ... when several
quoting styles alternate); redaction replaces only that span, so the name, the quotes and the
rest of the line stay (JSON stays JSON). Each entry also names literals one of which every
match contains, or a cheap hint regex every match contains, so a pattern is skipped on text
that cannot match (see redact.py).

Order matters: whole blocks first, then headers and URLs, then command-line contexts, then
name=value forms, then bare token shapes.
Runs before a keyword are bounded ({0,64}, not *): unbounded, a long run of such characters
("a.a.a...", "-----", "--password--password...") backtracks quadratically or worse, and this
runs on up to a megabyte of probe output on the event loop.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

Needs = tuple[str, ...] | re.Pattern[str]


class Shape(NamedTuple):
    """One secret shape: its pattern, what every match contains, whether it spans lines."""

    pattern: re.Pattern[str]
    needs: Needs
    # Most shapes never cross a newline, so they run only on the lines that hold one of
    # their literals (and `lines_before` lines above them: a .netrc entry); a multi-line
    # shape (a PEM block) runs on the whole text.
    multiline: bool = False
    lines_before: int = 0


# A value after `name=` / `name: `: double-quoted (JSON escapes), single-quoted, quoted with
# escaped quotes (JSON inside a JSON string), or bare. A bare value ends at whitespace, a
# quote, a backslash before a quote, or at `&` `,` `;` that start the next `name=` (a query
# string, a cookie) or end the text; inside a value they are part of it (`p&ss`).
_BARE = r"""(?:[^\s'"\\&,;]|\\(?!")|[&,;](?=[^\s&,;'"\\])(?![\w.\[\]-]{0,64}=)){1,1024}"""
# Flags and booleans are settings, not secrets (`PasswordAuthentication=no`).
_NOT_A_SETTING = r"""(?!["']?(?:yes|no|true|false|on|off|null|none)["']?(?![^\s&,;)\]}]))"""
VALUE = _NOT_A_SETTING + (
    r'(?:"(?P<v>(?:[^"\\\n]|\\.){1,1024})"'
    r"|'(?P<v2>[^'\n]{1,1024})'"
    r'|\\"(?P<v3>(?:[^"\\\n]|\\\\\\"|\\(?!")){1,1024})\\"'
    rf"|(?P<v4>{_BARE}))"
)
# Between a name and its value: `=`, `: `, `":"`, `\": \"` (quotes come with VALUE).
_SEP = r"""(?:\\?["'])?[ \t]{0,8}[=:][ \t]{0,8}"""
# Between a flag and its value: `=`, spaces, or `", "` in a JSON argv (docker inspect's Cmd).
_FLAG_SEP = r"""(?:=|[ \t]+|["'],[ \t]{0,8}(?=["']))"""
# Words that make a name secret wherever they occur in it (`PGPASSWORD`, `client_secret`).
_CONTAINS = r"password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|pwd"
# Literals are as short as still necessary and shared between shapes: each distinct one is
# searched once per text (redact.py), and a shape runs only on the lines holding one.
_CONTAINS_LITERALS = ("pass", "secret", "token", "key", "pw")
# Last segments that make a name secret (`DB_PASS`, `APP_KEY`, `SENTRY_DSN`, `X-Amz-Signature`);
# `key`, `auth`, `salt` and `cookie` only after a prefix (`sort key=`, `auth=none` are not).
_LAST_ALONE = r"pass|pw|dsn|credentials?|sig|signature|private[_-]?key|sessionid"
_LAST_PREFIXED = r"key|auth|salt|cookie|jwt|hmac"
_LAST_LITERALS = ("pass", "pw", "dsn", "credential", "sig", "key", "auth", "salt", "cookie",
                  "sessionid", "jwt", "hmac")  # fmt: skip
# ...unless the value is the path of a key or credentials file (`ssl.key=certs/x.key`).
_NOT_A_FILE = (
    r"""(?!["']?[\w./~-]{0,256}\.(?:key|pem|crt|cer|p12|pfx|jks|json|asc|gpg)(?![\w.-]))"""
)
_SEGMENT = r"[a-z0-9]{1,32}[_.-]"
_TOKEN_PREFIXES = ("xox", "xapp-", "akia", "asia", "gh", "glpat-", "_pat_", "eyj", "_live_",
                   "_test_", "whsec_", "sk-", "aiza", "npm_", "pypi-", "hvs.", "sg.")  # fmt: skip

_TABLE: list[tuple[Any, ...]] = [
    # PEM private keys of every kind (RSA, EC, OPENSSH, ENCRYPTED, PGP ... BLOCK): the body,
    # up to the matching END line or the end of a truncated text.
    (
        re.compile(
            r"-----BEGIN (?P<label>(?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?)-----"
            r"(?P<v>.*?)(?:(?=-----END (?P=label)-----)|\Z)",
            re.S,
        ),
        ("private key",),
        True,
    ),
    # Authorization headers, bare or quoted (JSON, Python reprs): keep the scheme word.
    (
        re.compile(
            r"(?i)\b(?:proxy-)?authorization" + _SEP + r"""(?:\\?["'])?"""
            r"(?:(?:bearer|basic|token|bot|digest|negotiate|ntlm|oauth|apikey|key|jwt"
            r"|sso-key|aws4-hmac-sha256|gitlab-ci-token)[ \t]+)?"
            r"""(?P<v>[^\s'"\\,]{1,4096})"""
        ),
        ("auth",),
    ),
    # Cookie headers: to the end of the line, or of the quoted value.
    (
        re.compile(r"""(?i)\b(?:set-)?cookie""" + _SEP + r"""(?:\\?["'])?(?P<v>[^\r\n"'\\]+)"""),
        ("cookie",),
    ),
    # user:password@ in URLs. The password may hold `/` and `@` (`app:Ab/cd+ef==@db`,
    # `u:p@ssw0rd@host`): it ends at the last `@` followed by a host and the end of the
    # authority; one that starts like a port (`host:8080/a@b`) is a path, not a password.
    (
        re.compile(
            r"(?i)\b[a-z][a-z0-9+.-]{0,31}://[^/\s:@'\"]{0,256}:(?!\d{1,5}(?:[/?#\s'\"]|$))"
            r"""(?P<v>[^\s'"]{1,256}?)@(?=(?:\[[0-9a-f:.]+\]|[\w.%-]{1,253})"""
            r"""(?::\d{1,5})?(?:[/?#\s'",;)\]]|$))"""
        ),
        ("://",),
    ),
    # A token as the whole user part (Sentry DSNs, `https://ghp_...@github.com`).
    (
        re.compile(
            r"(?i)\b[a-z][a-z0-9+.-]{0,31}://(?P<v>(?=[a-z0-9_-]{0,256}\d)[a-z0-9_-]{16,256})@"
        ),
        ("://",),
    ),
    # Webhook URLs whose path is the secret.
    (
        re.compile(
            r"(?i)\bhooks\.slack\.com/(?:services|workflows|triggers)/(?P<v>[\w/-]{8,256})"
            r"|\bdiscord(?:app)?\.com/api/webhooks/\d{1,32}/(?P<v2>[\w-]{8,256})"
            # The request line of a webhook post, without the host (curl -v).
            r"|/services/T[A-Z0-9]{1,16}/B[A-Z0-9]{1,16}/(?P<v3>[A-Za-z0-9]{8,64})"
        ),
        ("hooks", "/services/t"),
    ),
    # curl -u user:pass, --user user:pass.
    (
        re.compile(r"""(?<!\S)(?:-u|--user)[ \t=]+['"]?[^\s:'"/]+:(?!//)(?P<v>[^\s'"]+)"""),
        ("-u",),
    ),
    # Passwords given as command-line options that carry no keyword: `docker login -p X`,
    # `mysql -pX`, `redis-cli -a X`, `sshpass -p X`, `openssl ... -passin pass:X`.
    (
        re.compile(r"""(?i)\blogin\b[^\n]{0,256}?[ \t]-p[ \t]+(?P<v>[^\s'"]+)"""),
        ("login",),
    ),
    (
        re.compile(
            r"(?i)\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mariadb|mariadb-dump)"
            r"""\b[^\n|;&]{0,256}?[ \t]-p(?P<v>[^\s'"]+)"""
        ),
        ("mysql", "mariadb"),
    ),
    (
        re.compile(r"""(?i)\bredis-cli\b[^\n|;&]{0,256}?[ \t](?:-a|--pass)[ \t]+(?P<v>[^\s'"]+)"""),
        ("redis-cli",),
    ),
    (
        re.compile(r"""(?i)\bsshpass\b[^\n|;&]{0,256}?[ \t]-p[ \t]*(?P<v>[^\s'"]+)"""),
        ("pass",),
    ),
    (re.compile(r"""(?i)(?<!\S)-pass(?:in|out)?[ \t]+pass:(?P<v>[^\s'"]+)"""), ("pass",)),
    (re.compile(r"(?i)--?requirepass" + _FLAG_SEP + r"""["']?(?P<v>[^\s'"]+)"""), ("pass",)),
    # .netrc: `machine h login u password p`, on one line or several.
    (
        re.compile(
            r"(?i)\b(?:machine|login|account)[ \t]+\S{1,256}(?:[ \t]+|[ \t]*\n[ \t]*)"
            r"""password[ \t]+(?P<v>[^\s'"]+)"""
            r"|(?m:^[ \t]*password[ \t]+(?P<v2>\S+)[ \t]*$)"
        ),
        ("password",),
        False,
        1,
    ),
    # .pgpass: `host:port:database:user:password`, a line or a word of its own.
    (
        re.compile(
            # Not a MAC or IPv6 address: hex groups only.
            r"(?i)(?![0-9a-f]{1,4}(?::[0-9a-f]{0,4}){4,7}(?![^\s'\"]))"
            r"""(?<![^\s'"])[\w.*\[\]-]{1,253}:(?:\d{1,5}|\*):[^:\s'"]{1,63}:[^:\s'"]{1,63}:"""
            r"""(?P<v>[^\s'"]{1,256})(?=[\s'"]|$)"""
        ),
        re.compile(r":(?:\d{1,5}|\*):[^:\s'\"]{1,63}:[^:\s'\"]{1,63}:"),
    ),
    # --password=x, --password x, --db-pass x ...
    (
        re.compile(
            r"(?i)--?(?!-)[a-z0-9_-]{0,64}(?:" + _CONTAINS + r"|(?<![a-z])pass(?:word)?)"
            r"[a-z0-9_-]{0,64}" + _FLAG_SEP + r"(?!-)" + VALUE
        ),
        _CONTAINS_LITERALS,
    ),
    # --encryption-key=x, --sentry-dsn=x (with `=` only: `--sort-key name` is no secret).
    (
        re.compile(
            rf"(?i)--?(?:[a-z0-9]{{1,32}}-){{0,8}}(?:{_LAST_ALONE}|{_LAST_PREFIXED})="
            + _NOT_A_FILE
            + VALUE
        ),
        _LAST_LITERALS,
    ),
    # password=x, PGPASSWORD=x, "api_key": "x", client_secret: x ...
    (
        re.compile(
            r"(?i)(?<![\w.-])[a-z0-9_.-]{0,64}(?:" + _CONTAINS + r")[a-z0-9_]{0,64}" + _SEP + VALUE
        ),
        _CONTAINS_LITERALS,
    ),
    # DB_PASS=x, APP_KEY=x, SENTRY_DSN=x, X-Amz-Signature=x, &sig=x ...
    (
        re.compile(
            rf"(?i)(?<![\w.-])(?:(?:{_SEGMENT}){{0,8}}(?:{_LAST_ALONE})"
            rf"|(?:{_SEGMENT}){{1,8}}(?:{_LAST_PREFIXED}))" + _SEP + _NOT_A_FILE + VALUE
        ),
        _LAST_LITERALS,
    ),
    # Bare token shapes, one alternation (one pass over the text instead of many).
    (
        re.compile(
            r"\b(?P<v>xox[a-z]{1,2}[-.][A-Za-z0-9.-]{8,}"
            r"|xapp-[A-Za-z0-9-]{8,}"
            r"|(?:AKIA|ASIA)[A-Z0-9]{16}\b"
            r"|gh[pousr]_[A-Za-z0-9]{30,}\b"
            r"|github_pat_[A-Za-z0-9_]{40,}\b"
            r"|glpat-[A-Za-z0-9_-]{20,}\b"
            r"|dckr_pat_[A-Za-z0-9_-]{10,}"
            r"|[sr]k_(?:live|test)_[A-Za-z0-9]{10,}"
            r"|whsec_[A-Za-z0-9+/=]{20,}"
            r"|sk-(?:proj-|svcacct-|admin-|ant-[a-z]{3,5}\d{2}-)?[A-Za-z0-9_-]{20,}"
            r"|AIza[0-9A-Za-z_-]{30,}"
            r"|npm_[A-Za-z0-9]{36}"
            r"|pypi-AgE[A-Za-z0-9_-]{50,}"
            r"|hvs\.[A-Za-z0-9_-]{20,}"
            r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"
            r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b)"
        ),
        _TOKEN_PREFIXES,
    ),
    # htpasswd / crypt hashes (Traefik basicauth labels, .htpasswd lines): crackable offline.
    (
        re.compile(r"(?<![\w$])(?P<v>\$(?:apr1|2[aby]|[156]|y)\$[./A-Za-z0-9$]{8,})"),
        re.compile(r"\$(?:apr1|2[aby]|[156]|y)\$"),
    ),
]
PATTERNS = [Shape(*entry) for entry in _TABLE]

# A whole name (a JSON key in facts or evidence) whose value is a secret.
SECRET_NAME = re.compile(
    rf"(?i)[a-z0-9_.-]{{0,64}}(?:{_CONTAINS})[a-z0-9_]{{0,64}}"
    rf"|(?:{_SEGMENT}){{0,8}}(?:{_LAST_ALONE})|(?:{_SEGMENT}){{1,8}}(?:{_LAST_PREFIXED})"
    r"|(?:proxy-)?authorization|(?:set-)?cookie"
)
