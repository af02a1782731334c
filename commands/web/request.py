"""`http URL [--resolve HOST:PORT:IP]... [--from HOST] [--method GET|HEAD]`: parse and validate.

Nothing here touches the network. The URL is refused unless it is plain http(s) with a valid
host; credentials in it are kept for the request but never shown (see `HttpRequest.shown`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from commands import validate
from commands.targets import normalise, numeric_host
from ssh_probes.errors import InputError
from ssh_probes.redact import MASK, redact

USAGE = "usage: http URL [--resolve HOST:PORT:IP] [--from HOST] [--method GET|HEAD]"
MAX_URL = 2048
METHODS = ("GET", "HEAD")
DEFAULT_PORTS = {"http": 80, "https": 443}

# A scheme prefix that is not a port: "file:", "gopher://", but not "localhost:8080".
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(?!\d)")
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")
# Beyond ASCII: C1 controls, invisible format characters (bidi overrides, zero-width) and
# Unicode spaces and line separators; never part of a URL a person meant to give.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})


@dataclass(frozen=True)
class HttpOptions:
    """Limits for one check; every phase is bounded. Numbers come from settings, not users."""

    dns_timeout_s: float = 5.0
    connect_timeout_s: float = 5.0  # TCP connect, and the TLS handshake
    read_timeout_s: float = 10.0  # waiting for the response head, and between body chunks
    total_timeout_s: float = 20.0  # the whole check, redirects included
    slow_threshold_s: float = 1.0  # http.slow when a hop's total is over this
    max_redirects: int = 5
    max_body_bytes: int = 5_000_000  # read (and time) at most this much of a body
    ca_file: str | None = None  # also trust this CA bundle (private CAs): TRIAGEBOT_CA_FILE
    tls_expiry_warning_days: float = 14.0  # tls.expiring under this many days left
    tls_expiry_critical_days: float = 3.0  # critical under this many
    remote_ca_file: str | None = None  # curl --cacert on the --from host


@dataclass(frozen=True)
class Pin:
    """`--resolve HOST:PORT:IP`: connect to IP for HOST:PORT, keeping Host and SNI."""

    host: str
    port: int
    ip: str

    @property
    def curl(self) -> str:
        """The same pin as curl's --resolve argument (IPv6 in brackets)."""
        ip = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{self.host}:{self.port}:{ip}"


@dataclass(frozen=True)
class HttpRequest:
    """A validated URL (with any credentials), pins, an optional source host and a method."""

    url: str
    host: str
    port: int
    scheme: str
    pins: tuple[Pin, ...] = ()
    from_host: str | None = None
    method: str = "GET"

    @property
    def shown(self) -> str:
        """The URL with credentials and secret-looking query values redacted."""
        return shown_url(self.url)

    @property
    def has_credentials(self) -> bool:
        """True when the URL carries user info (which must never reach a process list)."""
        return "@" in urlsplit(self.url).netloc

    def pin_for(self, host: str, port: int) -> Pin | None:
        """The pin for HOST:PORT, if the user gave one."""
        return next((p for p in self.pins if p.host == host and p.port == port), None)


def _show(text: str) -> str:
    """Quote user text for an error line: redacted, escaped, shortened."""
    return validate.show(redact(text))


def shown_url(url: str) -> str:
    """`url` without its password (or a bare token as user) and with secrets redacted."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        userinfo, _, hostport = parts.netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        masked = f"{user}:{MASK}" if sep else MASK
        parts = parts._replace(netloc=f"{masked}@{hostport}")
    return redact(urlunsplit(parts))


def unwrap_slack(text: str) -> str:
    """Slack sends links as `<https://x|label>` or `<https://x>`: keep the URL."""
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1].split("|", 1)[0]
    return text


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise InputError(f"invalid URL {_show(url)}: {exc}") from None
    return parts


def url(text: str) -> tuple[str, str, int, str]:
    """Validate a URL; returns (normalised url, ASCII host, port, scheme)."""
    text = unwrap_slack(text.strip())
    if not text or len(text) > MAX_URL:
        raise InputError(f"invalid URL {_show(text)}: empty or longer than {MAX_URL} characters")
    if _UNSAFE.search(text) or any(
        unicodedata.category(c) in _UNSAFE_CATEGORIES for c in text if not c.isascii()
    ):
        raise InputError(f"invalid URL {_show(text)}: spaces, control characters or '\\'")
    if text.startswith("-"):
        raise InputError(f"invalid URL {_show(text)}: looks like an option; {USAGE}")
    scheme_match = _SCHEME.match(text)
    if scheme_match is None:
        text = "http://" + text  # like curl: a bare host[:port]/path means http
    elif scheme_match.group(1).lower() not in DEFAULT_PORTS or "://" not in text:
        raise InputError(f"unsupported URL {_show(text)}: only http:// and https:// URLs")
    parts = _split(text)
    scheme = parts.scheme.lower()
    raw_host = parts.hostname or ""
    if not raw_host:
        raise InputError(f"invalid URL {_show(text)}: no host")
    ip = validate.ip_address(raw_host)
    if ip is None and numeric_host(raw_host):
        # `2852039166`, `0x7f.1`, `127.1`: what getaddrinfo and curl would connect to, so the
        # target rules see (and the report shows) the address itself.
        spelled = normalise(raw_host)
        if spelled is None:
            raise InputError(f"invalid URL {_show(text)}: {_show(raw_host)} is not an address")
        ip = str(spelled)
    try:
        host = ip if ip is not None else validate.domain(raw_host)
    except InputError:
        raise InputError(
            f"invalid URL {_show(text)}: the host must be a DNS name or an IP address"
        ) from None
    port = validate.port(parts.port) if parts.port is not None else DEFAULT_PORTS[scheme]
    userinfo = parts.netloc.rpartition("@")[0]
    shown_host = f"[{host}]" if ":" in host else host
    netloc = (userinfo + "@" if userinfo else "") + shown_host
    if parts.port is not None:
        netloc += f":{port}"
    normal = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return normal, host, port, scheme


def pin(text: str) -> Pin:
    """Parse `HOST:PORT:IP` (IPv6 in brackets or bare, as curl accepts)."""
    host, sep1, rest = text.partition(":")
    port_text, sep2, ip_text = rest.partition(":")
    if not (sep1 and sep2) or not port_text.isdigit():
        raise InputError(f"invalid --resolve {_show(text)}: expected HOST:PORT:IP")
    spelled = normalise(ip_text)
    ip = str(spelled) if spelled is not None else None
    if ip is None:
        raise InputError(f"invalid --resolve {_show(text)}: {_show(ip_text)} is not an IP address")
    try:
        name = validate.domain(host)
    except InputError:
        why = f"{_show(host)} is not a host name"
        raise InputError(f"invalid --resolve {_show(text)}: {why}") from None
    return Pin(name, validate.port(int(port_text)), ip)


def parse(words: Sequence[str]) -> HttpRequest:
    """Parse the words after `http`."""
    target: str | None = None
    pins: list[Pin] = []
    from_host: str | None = None
    method = "GET"
    queue = list(words)
    while queue:
        word = queue.pop(0)
        name, eq, inline = word.partition("=")
        if name in ("--resolve", "--from", "--method"):
            if not eq and (not queue or queue[0].startswith("-")):
                raise InputError(f"{name} needs a value; {USAGE}")
            value = inline if eq else queue.pop(0)
            if name == "--resolve":
                pins.append(pin(value))
            elif name == "--from":
                from_host = validate.host_name(value)
            elif value.upper() in METHODS:
                method = value.upper()
            else:
                raise InputError(f"invalid --method {_show(value)}: GET or HEAD")
        elif word.startswith("-"):
            raise InputError(f"unknown option {_show(word)}; {USAGE}")
        elif target is not None:
            raise InputError(f"one URL at a time; {USAGE}")
        else:
            target = word
    if target is None:
        raise InputError(USAGE)
    normal, host, port, scheme = url(target)
    if pins and not any(p.host == host and p.port == port for p in pins):
        raise InputError(
            f"--resolve {pins[0].host}:{pins[0].port} does not match the URL's {host}:{port}"
        )
    return HttpRequest(normal, host, port, scheme, tuple(pins), from_host, method)
