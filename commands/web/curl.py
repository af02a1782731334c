"""`http --from HOST`: the same check run on a registered host with curl, and its output parsed.

The argv is fixed except for values that are data: the URL is ONE argv element after `--`
(never a shell string), pins go to `--resolve` as curl expects them. A URL with credentials
is passed in a config on stdin instead (`-K -`), so the password never shows in `ps` there.
"""

from __future__ import annotations

import math
import re

from commands.web.failures import TLS_KINDS
from commands.web.fetch import USER_AGENT
from commands.web.request import HttpOptions, HttpRequest, shown_url
from ssh_probes.model import CommandResult, Facts
from ssh_probes.redact import redact

MARK = "triagebot-curl"
FIELDS = (
    "time_namelookup",
    "time_connect",
    "time_appconnect",
    "time_starttransfer",
    "time_total",
    "http_code",
    "remote_ip",
    "ssl_verify_result",
    "num_redirects",
    "url_effective",
    "redirect_url",
)
# curl expands %{...} and the two characters \n itself; one key=value per line.
WRITE_OUT = MARK + r"\n" + "".join(f"{f}=%{{{f}}}" + r"\n" for f in FIELDS)

# curl exit status -> outcome (28 and 60 are refined from the timings and the verify result).
EXIT_CODES = {
    6: "dns.nxdomain",
    7: "tcp.refused",
    28: "timeout",
    35: "tls.error",
    47: "http.too_many_redirects",
    51: "tls.error",
    52: "http.connection_closed",
    56: "http.connection_closed",
    58: "tls.error",
    60: "tls.error",
}
_TLS_TEXT = (
    ("expired", "expired"),
    ("self-signed", "self-signed"),
    ("self signed", "self-signed"),
    ("local issuer", "unknown CA"),
    ("subject name", "name mismatch"),
    ("does not match", "name mismatch"),
)
_UNREACHABLE = re.compile(r"(?i)no route to host|network is unreachable")


def argv(
    req: HttpRequest, opts: HttpOptions, *, follow: bool = True
) -> tuple[list[str], str | None]:
    """curl's argv and its stdin (a config holding the URL when it carries credentials).

    follow=False: one hop, no redirects (the caller checks each Location and runs curl again).
    """
    args = [
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "--noproxy",
        "*",
        "--proto",
        "=http,https",
        "--proto-redir",
        "=http,https",
        *(["-L", "--max-redirs", str(opts.max_redirects)] if follow else []),
        "--connect-timeout",
        f"{opts.connect_timeout_s:g}",
        "--max-time",
        f"{opts.total_timeout_s:g}",
        # No bytes for the read timeout (whole seconds for curl): what httpx calls a read timeout.
        "--speed-limit",
        "1",
        "--speed-time",
        str(max(1, math.ceil(opts.read_timeout_s))),
        "-A",
        USER_AGENT,
        "-w",
        WRITE_OUT,
    ]
    if req.method == "HEAD":
        args.append("-I")
    for pin in req.pins:
        args += ["--resolve", pin.curl]
    if opts.remote_ca_file:
        args += ["--cacert", opts.remote_ca_file]
    if req.has_credentials:
        quoted = req.url.replace("\\", "\\\\").replace('"', '\\"')
        return [*args, "-K", "-"], f'url = "{quoted}"\n'
    return [*args, "--", req.url], None


def _values(stdout: str) -> dict[str, str]:
    lines = stdout.splitlines()
    if MARK not in lines:
        return {}
    values = {}
    for line in lines[lines.index(MARK) + 1 :]:
        key, sep, value = line.partition("=")
        if sep and key in FIELDS:
            values[key] = value
    return values


def _seconds(values: dict[str, str], key: str) -> float:
    try:
        return float(values.get(key, "0").replace(",", "."))
    except ValueError:
        return 0.0


def timings(values: dict[str, str]) -> dict[str, float | None]:
    """curl's cumulative times -> the same per-phase milliseconds as the bot's view."""
    dns, conn, tls, first, total = (
        _seconds(values, f"time_{k}")
        for k in ("namelookup", "connect", "appconnect", "starttransfer", "total")
    )

    def ms(a: float, b: float, reached: float) -> float | None:
        return round((b - a) * 1000, 1) if reached > 0 else None

    ready = tls or conn
    return {
        "dns_ms": ms(0, dns, dns),
        "connect_ms": ms(dns, conn, conn),
        "tls_ms": ms(conn, tls, tls),
        "ttfb_ms": ms(ready, first, first),
        "transfer_ms": ms(first, total, first),
        "total_ms": ms(0, total, total),
    }


def _tls_kind(values: dict[str, str], stderr: str) -> str:
    code = values.get("ssl_verify_result", "0")
    if code.isdigit() and int(code) in TLS_KINDS:
        return TLS_KINDS[int(code)]
    lowered = stderr.lower()
    return next((kind for text, kind in _TLS_TEXT if text in lowered), "protocol")


def parse(result: CommandResult) -> Facts:
    """curl's exit status, -w values and error line -> facts shaped like the bot's view."""
    if result.exit_status in (126, 127):
        return {"available": False, "why": "curl is not installed", "hint": "install curl"}
    if result.timed_out or result.exit_status is None:
        raise ValueError(f"curl did not finish: {redact(result.stderr.strip()) or 'killed'}")
    values = _values(result.stdout)
    if not values:
        raise ValueError(f"unreadable curl output: {redact(result.stdout[:200])!r}")
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    error = redact(next((x for x in lines if x.startswith("curl: (")), lines[0] if lines else ""))
    code = result.exit_status
    facts: Facts = {
        "exit_status": code,
        "timings": timings(values),
        "ip": values.get("remote_ip") or None,
        "redirects": int(values.get("num_redirects", "0") or 0),
        "url_effective": shown_url(values.get("url_effective", "")),
    }
    if values.get("redirect_url"):
        facts["redirect_url"] = values["redirect_url"]
    status = int(values.get("http_code", "0") or 0)
    if code == 0:
        return {**facts, "outcome": "response", "status": status}
    outcome = EXIT_CODES.get(code, "curl.error")
    if outcome == "tcp.refused" and _UNREACHABLE.search(error):
        outcome = "tcp.timeout"
    elif outcome == "timeout":
        # curl leaves time_connect at 0 until TLS is done too, so its message decides.
        text = error.lower()
        if "resolv" in text:
            outcome = "dns.timeout"
        elif "ssl" in text or _seconds(values, "time_connect") > 0:
            outcome = "http.timeout"
        else:
            outcome = "tcp.timeout" if "connect" in text else "http.timeout"
    facts.update(outcome=outcome, detail=error or f"curl exit status {code}")
    if outcome == "tls.error":
        facts["tls_kind"] = _tls_kind(values, error)
    if status:
        facts["status"] = status
    return facts
